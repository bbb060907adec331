"""Money through the API, on SQLite and PostgreSQL alike: per-second charge, depletion, resume, re-rating, ledger.

Rules: R10, R13, R14, R18, R19, R23, R25. Months pass in microseconds through the injected CLOCK.
"""

from __future__ import annotations

import pytest

from license_server import admin, models
from rental.money import TICKS_PER_MILLI

from .helpers import DAY, IP_PORT, MONTH, UC, ticks

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

TEN_PORTS_RATE = 12 * 500 * 10  # ticks per second of 10 IP ports at 500 milli-iSC a month


def test_a_month_of_ten_ports_costs_exactly_their_monthly_price(api, clock):
    account_id = api.running_account("100")
    clock.advance(MONTH)
    account = api.account(account_id)
    assert account["balance_ticks"] == ticks(100_000 - 5_000)
    assert account["rate_ticks_per_s"] == TEN_PORTS_RATE
    assert account["monthly_milli"] == 5_000
    assert account["status"] == "active"


def test_credit_runs_out_at_the_first_second_it_cannot_pay_and_the_remainder_stays(api, clock):
    account_id = api.running_account("100.001")  # 1 milli-iSC more than 20 months
    start = clock.now
    expected_end = start + (ticks(100_001)) // TEN_PORTS_RATE
    assert api.account(account_id)["depletes_at"] == expected_end
    clock.set(expected_end - 1)
    assert api.account(account_id)["status"] == "active"
    clock.set(expected_end + 5 * DAY)
    account = api.account(account_id)  # R18 before any sweep: the answer is as of now
    assert account["status"] == "suspended"
    assert account["rate_ticks_per_s"] == 0
    assert account["depletes_at"] is None
    assert account["balance_ticks"] == ticks(100_001) % TEN_PORTS_RATE
    assert account["pbxs"][0]["status"] == "suspended"


def test_the_sweep_stores_exactly_what_the_answer_projected_and_raises_the_revision(api, clock):
    account_id = api.running_account("100")
    clock.advance(21 * MONTH)
    projected = api.account(account_id)
    report = api.sweep()
    assert report.suspended == 1
    swept = api.account(account_id)
    assert swept["revision"] == projected["revision"] + 1
    assert swept["balance_ticks"] == projected["balance_ticks"] == 0
    assert swept["status"] == "suspended"
    charges = [row for row in api.ledger_rows(account_id) if row["kind"] == "charge"]
    assert sum(row["ticks"] for row in charges) == ticks(100_000)
    assert api.sweep().suspended == 0  # nothing twice


def test_a_configuration_the_credit_does_not_cover_for_30_days_is_refused_with_the_missing_amount(api):
    account_id = api.new_account()
    api.load(account_id, "1")
    api.register(account_id)
    before = api.account(account_id)
    result = api.set_licenses(account_id, {UC: 2})  # 2.5 iSC a month: 30 days need ~2.464 iSC
    assert result["status"] == "rejected"
    assert result["rule"] == "R14"
    assert "Load at least 1.465 iSC more" in result["message"]
    assert api.account(account_id) == before


def test_a_load_resumes_a_suspended_configuration_once_it_pays_one_day_and_says_what_is_missing(api, clock, ctx):
    # R18: the configuration resumes at the second iSC are loaded, as soon as the credit pays RESUME_MIN_DAYS of it
    account_id = api.running_account("10")  # 2 months of 10 ports
    clock.advance(3 * MONTH)
    stopped = api.account(account_id)
    assert stopped["status"] == "suspended"
    one_day = TEN_PORTS_RATE * ctx.policy.resume_min_days * DAY
    needed = -(-(one_day - stopped["balance_ticks"]) // TICKS_PER_MILLI)
    assert stopped["resume_needs_milli"] == needed
    small = api.load(account_id, "0.1")  # credited, but less than a day of rent
    assert small["status"] == "applied"
    assert [(w["rule"], w["code"], w["params"]["missing_milli"]) for w in small["warnings"]] == [
        ("R18", "still-suspended", needed - 100)]
    assert api.account(account_id)["status"] == "suspended"
    rest = needed - 100
    resumed = api.load(account_id, f"{rest // 1000}.{rest % 1000:03d}")  # exactly the amount the warning named
    assert resumed["warnings"] == []
    account = api.account(account_id)
    assert account["status"] == "active"
    assert account["resume_needs_milli"] is None
    assert account["rate_ticks_per_s"] == TEN_PORTS_RATE
    # one day and less than a milli-iSC's worth of seconds more
    assert 0 <= account["depletes_at"] - clock.now - DAY <= TICKS_PER_MILLI // TEN_PORTS_RATE


def test_a_suspended_account_may_reduce_without_credit_but_not_add(api, clock):
    # R19: the rent can be reduced at any time, even suspended; R14: more licenses need 30 days of credit
    account_id = api.running_account("10")
    clock.advance(3 * MONTH)
    assert api.account(account_id)["status"] == "suspended"
    reduced = api.set_licenses(account_id, {IP_PORT: 4})
    assert reduced["status"] == "applied", reduced
    account = api.account(account_id)
    assert account["status"] == "suspended"  # not covered for 30 days: stays suspended (R18)
    assert account["pbxs"][0]["licenses"][0]["qty"] == 4
    more = api.set_licenses(account_id, {IP_PORT: 12})
    assert (more["status"], more["rule"]) == ("rejected", "R14")
    api.load(account_id, "5")  # 4 ports cost 2 iSC a month: covered, resumes at this connection event
    assert api.account(account_id)["status"] == "active"


def test_removing_every_item_ends_the_rent_that_second(api, clock):
    account_id = api.running_account("100")
    clock.advance(MONTH)
    assert api.set_licenses(account_id, {})["status"] == "applied"  # R19: no minimum term
    ended = api.account(account_id)
    assert ended["status"] == "idle"
    assert ended["balance_ticks"] == ticks(95_000)
    clock.advance(12 * MONTH)
    assert api.account(account_id)["balance_ticks"] == ticks(95_000)


def test_left_over_credit_expires_after_the_retention_period_with_a_ledger_line(api, clock, ctx):
    account_id = api.running_account("100")
    clock.advance(MONTH)
    api.set_licenses(account_id, {})
    ended_at = clock.now
    clock.set(ended_at + ctx.policy.retention_s - 1)
    assert api.sweep().expired == 0
    clock.set(ended_at + ctx.policy.retention_s)
    assert api.sweep().expired == 1
    assert api.account(account_id)["balance_ticks"] == 0
    expiry = api.ledger_rows(account_id)[-1]
    assert (expiry["kind"], expiry["at"], expiry["ticks"]) == ("expiry", ended_at + ctx.policy.retention_s, ticks(95_000))


def test_credit_past_its_retention_is_expired_for_every_answer_and_op_before_the_sweep_writes_it_R19(api, clock, ctx):
    """R19: the left-over credit expires at the retention period's end, sweep or no sweep (the sweep runs every few
    minutes, or not at all while it is down): the answers show it gone, and a key loaded meanwhile keeps none of it
    alive. The op writes the very ledger line and history event the sweep would, at the same second."""
    account_id = api.running_account("100")
    clock.advance(MONTH)
    api.set_licenses(account_id, {})
    expires_at = clock.now + ctx.policy.retention_s
    clock.set(expires_at + DAY)  # no sweep
    answer = api.account(account_id)
    assert (answer["balance_ticks"], answer["retained_until"]) == (0, None)
    [open_line] = [line for line in api.ledger(account_id)["lines"] if line["open"]]
    assert (open_line["kind"], open_line["at"], open_line["ticks"]) == ("expiry", expires_at, ticks(95_000))
    api.load(account_id, "1")
    assert api.account(account_id)["balance_ticks"] == ticks(1_000)
    assert api.sweep().expired == 0
    assert api.account(account_id)["balance_ticks"] == ticks(1_000)
    written = [(row["kind"], row["at"], row["ticks"]) for row in api.ledger_rows(account_id)][-2:]
    assert written == [("expiry", expires_at, ticks(95_000)), ("credit", clock.now, ticks(1_000))]
    status, body = api.call("GET", f"/accounts/{account_id}/history")
    assert status == 200
    assert [(e["kind"], e["at"], e["params"]) for e in body["events"] if e["kind"] == "expired"] == [
        ("expired", expires_at, {"amount_milli": 95_000})]


def test_new_prices_apply_from_the_next_connection_event_only(api, clock, ctx):
    account_id = api.running_account("100")
    dearer = admin.demo_pricelist()
    dearer["version"] = "2027-01"
    for item in dearer["items"]:
        if item["ref"] == IP_PORT:
            item["monthly_milli"] = 600
    admin.publish_prices(ctx, dearer)
    clock.advance(MONTH)
    assert api.account(account_id)["rate_ticks_per_s"] == TEN_PORTS_RATE  # a read is no connection event (R23)
    api.applied(api.op("update_account", account_id, name="Boulangerie Émile & fils"))
    assert api.account(account_id)["rate_ticks_per_s"] == TEN_PORTS_RATE  # neither is an update
    assert api.register(account_id, "pbx-2")["status"] == "applied"  # this is
    account = api.account(account_id)
    assert account["rate_ticks_per_s"] == 12 * 600 * 10
    assert account["price_version"] == "2027-01"
    assert account["balance_ticks"] == ticks(95_000)  # the month before ran at the old price
    charge = [row for row in api.ledger_rows(account_id) if row["kind"] == "charge"][-1]
    assert (charge["price_version"], charge["rate"], charge["seconds"]) == ("2026-11", TEN_PORTS_RATE, MONTH)


def test_the_ledger_ties_to_the_balance_to_the_tick(api, clock):
    account_id = api.running_account("37.5", {IP_PORT: 3, UC: 2})
    for step in (1, DAY + 7, 3 * MONTH + 13):
        clock.advance(step)
        api.set_licenses(account_id, {IP_PORT: 3 + step % 2, UC: 2})
    clock.advance(11 * DAY + 3)
    lines = api.ledger(account_id, limit=1000)["lines"]
    signed = {"credit": 1, "charge": -1, "forfeit": -1, "expiry": -1}
    assert sum(signed[line["kind"]] * line["ticks"] for line in lines) == api.account(account_id)["balance_ticks"]
    for line in lines:
        if line["kind"] == "charge":
            assert line["ticks"] == line["rate"] * line["seconds"] == line["rate"] * (line["end"] - line["start"])
    assert any(line["open"] for line in lines)  # the charge since the last change, not yet written


def test_deleting_an_account_forfeits_up_to_the_amount_shown_though_the_balance_fell_meanwhile(api, clock):
    # R13, DESIGN §5: the consent is the balance shown; a running account's balance falls while it travels
    account_id = api.running_account("100")
    clock.advance(MONTH + 1)
    shown = api.account(account_id)["balance_ticks"] // TICKS_PER_MILLI
    too_low = api.sync(api.op("delete_account", account_id, confirm_forfeit_milli=shown - 1)).result
    assert (too_low["status"], too_low["rule"], too_low["code"]) == ("rejected", "R13", "forfeit-consent")
    assert too_low["params"] == {"balance_milli": shown, "confirmed_milli": shown - 1}
    assert api.account(account_id)["status"] == "active"
    clock.advance(6 * DAY)  # the technician took a while: 6 days of rent went by since the amount was shown
    held = api.account(account_id)["balance_ticks"] // TICKS_PER_MILLI
    assert held < shown
    deleted = api.sync(api.op("delete_account", account_id, confirm_forfeit_milli=shown))
    assert deleted.result["status"] == "applied"
    account = deleted.accounts[account_id]
    assert (account["status"], account["balance_ticks"], account["rate_ticks_per_s"]) == ("deleted", 0, 0)
    forfeit = api.ledger_rows(account_id)[-1]
    assert forfeit["kind"] == "forfeit" and forfeit["ticks"] // TICKS_PER_MILLI == held
    after = api.sync(api.op("redeem_key", account_id, key="ISC1-00000"))
    assert (after.result["status"], after.result["rule"]) == ("rejected", "deleted")


def test_a_running_accounts_consent_taken_hours_before_still_deletes_it(api, clock):
    """DESIGN §5: the consent is "up to the amount shown"; the balance falls every second while it travels."""
    account_id = api.running_account("100")
    clock.advance(DAY)
    shown = api.account(account_id)["balance_ticks"] // TICKS_PER_MILLI
    clock.advance(6 * 3600)  # the op waited for the next sync; 10 IP ports burnt about 41 milli-iSC meanwhile
    assert api.account(account_id)["balance_ticks"] // TICKS_PER_MILLI < shown
    deleted = api.sync(api.op("delete_account", account_id, confirm_forfeit_milli=shown))
    assert deleted.result["status"] == "applied" and deleted.accounts[account_id]["status"] == "deleted"
    forfeit = api.ledger_rows(account_id)[-1]
    assert forfeit["kind"] == "forfeit" and forfeit["ticks"] // TICKS_PER_MILLI < shown


def test_a_consent_given_before_credit_was_loaded_does_not_delete(api, clock):
    account_id = api.running_account("100")
    shown = api.account(account_id)["balance_ticks"] // TICKS_PER_MILLI
    api.load(account_id, "50")  # loaded after the technician saw the balance
    result = api.sync(api.op("delete_account", account_id, confirm_forfeit_milli=shown)).result
    assert (result["status"], result["rule"]) == ("rejected", "R13")
    assert api.account(account_id)["status"] == "active"


def test_the_database_refuses_a_negative_balance(api, ctx):
    account_id = api.new_account()
    with pytest.raises(Exception) as caught:
        with ctx.engine.begin() as connection:
            connection.execute(models.accounts.update().where(models.accounts.c.id == account_id)
                               .values(balance_ticks=-1))
    assert "balance_never_negative" in str(caught.value) or "CHECK" in str(caught.value).upper()
