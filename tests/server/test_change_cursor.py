"""GET /accounts?since= (issue 26, DESIGN §5): a partner-wide change cursor. Only what changed since the cursor is
listed — other technicians' changes, the sweep's, deletions (as their deleted snapshot) and accounts whose answer
moved with time (R18 stop, R24 reload) —; another partner's accounts never; a cursor the server cannot answer from
is answered in full. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from license_server import admin

from .helpers import DAY, Api
from .test_reload import deposit, key_of, reload_on

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def listing(api: Api, since: str | None = None) -> dict:
    status, body = api.call("GET", "/accounts" + (f"?since={since}" if since is not None else ""))
    assert status == 200, body
    body["payloads"] = {p["account_id"]: p for p in (api.keyring.verify_envelope(e, "account")
                                                      for e in body["accounts"])}
    return body


@pytest.fixture
def colleague(app, ctx, clock, keyring) -> Api:
    """A second technician of the same partner (another laptop)."""
    return Api.for_flask(app.test_client(), admin.add_technician(ctx, "Acme Telecom", "Cleo"), ctx, clock, keyring)


def test_a_quiet_listing_since_the_cursor_is_empty_and_not_full(api):
    accounts = [api.new_account(name=f"Shop {n}") for n in range(3)]
    first = listing(api)
    assert first["full"] is True and set(first["payloads"]) == set(accounts)
    again = listing(api, first["cursor"])
    assert again["full"] is False and again["accounts"] == []
    assert listing(api, again["cursor"])["accounts"] == []


def test_a_change_by_another_technician_of_the_partner_is_listed_alone(api, colleague):
    quiet, changed = api.new_account(name="Quiet"), api.new_account(name="Changed")
    cursor = listing(api)["cursor"]
    colleague.applied(colleague.op("update_account", changed, name="Renamed"))
    delta = listing(api, cursor)
    assert delta["full"] is False and list(delta["payloads"]) == [changed]
    assert delta["payloads"][changed]["name"] == "Renamed" and quiet not in delta["payloads"]
    created = colleague.new_account(name="New shop")  # a new account is a change too
    assert list(listing(api, delta["cursor"])["payloads"]) == [created]


def test_another_partners_accounts_are_never_listed(api, rival):
    mine = api.new_account()
    cursor = listing(api)["cursor"]
    theirs = rival.new_account(name="Rival shop")
    rival.applied(rival.op("update_account", theirs, name="Rival shop 2"))
    assert listing(api, cursor)["accounts"] == []
    assert set(listing(api)["payloads"]) == {mine}
    # a cursor the rival was given opens nothing of theirs: the answer is always of the caller's partner
    rival_cursor = listing(rival)["cursor"]
    api.applied(api.op("update_account", mine, name="Mine, renamed"))
    rival.applied(rival.op("update_account", theirs, name="Rival shop 3"))
    assert set(listing(api, rival_cursor)["payloads"]) == {mine}
    assert set(listing(api, "0" * 16 + ".0.0.0000000000000000")["payloads"]) == {mine}


def test_a_deleted_account_is_listed_as_its_deleted_snapshot(api):
    account_id = api.new_account()
    cursor = listing(api)["cursor"]
    api.applied(api.op("delete_account", account_id, confirm_forfeit_milli=0))
    delta = listing(api, cursor)
    assert delta["full"] is False and delta["payloads"][account_id]["status"] == "deleted"


def test_the_sweeps_stop_is_listed_and_so_is_a_stop_whose_second_passed_before_any_sweep(api, clock):
    """R18: past depletes_at the answer is suspended even before the sweep writes it: listed from that second."""
    running = api.running_account("10")
    other = api.new_account(name="Idle")
    depletes_at = api.account(running)["depletes_at"]
    cursor = listing(api)["cursor"]
    clock.set(depletes_at - 1)
    assert listing(api, cursor)["accounts"] == []  # nothing moved yet
    clock.set(depletes_at + 5)  # no sweep yet: the answer changed without a write
    delta = listing(api, cursor)
    assert list(delta["payloads"]) == [running] and delta["payloads"][running]["status"] == "suspended"
    after_time = delta["cursor"]
    assert listing(api, after_time)["accounts"] == []  # its answer does not move again
    clock.advance(DAY)
    assert api.sweep().suspended == 1  # the sweep writes the stop down (a bulk update: the trigger numbers it)
    swept = listing(api, after_time)
    assert list(swept["payloads"]) == [running] and other not in swept["payloads"]
    assert swept["payloads"][running]["revision"] == delta["payloads"][running]["revision"] + 1


def test_a_reload_whose_second_came_is_listed_until_the_sweep_writes_it(api, ctx, clock):
    """R24: the held key is redeemed in the answer at its second; listed from then, and written by the sweep."""
    account_id = api.running_account("10")
    assert deposit(api, account_id, key_of(ctx, 5_000))["status"] == "applied"
    assert reload_on(api, account_id, 28)["status"] == "applied"
    reload_at = api.account(account_id)["reload_at"]
    cursor = listing(api)["cursor"]
    clock.set(reload_at - 1)
    assert listing(api, cursor)["accounts"] == []
    clock.set(reload_at)
    delta = listing(api, cursor)
    assert delta["payloads"][account_id]["deposits"] == []
    clock.advance(60)
    assert api.sweep().reloads == 1
    written = listing(api, delta["cursor"])
    assert written["payloads"][account_id]["revision"] == delta["payloads"][account_id]["revision"] + 1
    assert listing(api, written["cursor"])["accounts"] == []  # written down: quiet again


@pytest.mark.parametrize("cursor", ["", "garbage", "0.0.0.0", "abc.1.2", "f" * 200, "-.0.0.0000000000000000"])
def test_a_cursor_the_server_does_not_know_gets_the_full_list(api, cursor):
    account_id = api.new_account()
    answer = listing(api, cursor)
    assert answer["full"] is True and list(answer["payloads"]) == [account_id]


def test_a_cursor_from_another_server_or_a_restored_older_database_gets_the_full_list(api, clock):
    account_id = api.new_account()
    epoch, seq, at, basis = listing(api)["cursor"].split(".")
    other_server = f"{'0' * 16 if epoch != '0' * 16 else '1' * 16}.{seq}.{at}.{basis}"
    assert listing(api, other_server)["full"] is True
    ahead = f"{epoch}.{int(seq) + 5}.{at}.{basis}"  # a cursor of a later state than this (restored) database
    answer = listing(api, ahead)
    assert answer["full"] is True and list(answer["payloads"]) == [account_id]
    later = f"{epoch}.{seq}.{int(at) + DAY}.{basis}"  # a cursor from this server's future
    assert listing(api, later)["full"] is True
    assert listing(api, f"{epoch}.{seq}.{at}.{basis}")["full"] is False  # the genuine one is not


def test_a_new_price_list_answers_the_old_cursor_in_full(api, ctx, clock):
    """Every answer depends on the current list (R18's least load): a cursor of the previous list is not enough."""
    api.new_account()
    cursor = listing(api)["cursor"]
    prices = admin.demo_pricelist()
    prices["version"] = "2027-01"
    clock.advance(60)
    admin.publish_prices(ctx, prices)
    assert listing(api, cursor)["full"] is True


def test_a_change_committed_after_the_cursor_was_read_is_never_skipped(api, ctx):
    """A writer that began before the cursor was read and commits after it: its change is listed next time (the
    counter is read before the accounts; PostgreSQL numbers at commit, SQLite serializes writers)."""
    account_id = api.new_account()
    with ctx.engine.connect() as writer:
        transaction = writer.begin()
        writer.execute(text("UPDATE accounts SET revision = revision + 1, name = 'Written late' WHERE id = :id"),
                       {"id": account_id})
        during = listing(api)  # read while the change is not committed
        assert during["payloads"][account_id]["name"] != "Written late"
        transaction.commit()
    delta = listing(api, during["cursor"])
    assert delta["payloads"][account_id]["name"] == "Written late"
