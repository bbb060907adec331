"""What the screens keep between requests (issue 27) is only the reading of a stored text, keyed by the text itself:
a newer snapshot or price list is shown at once, and what is shown equals a fresh computation (DESIGN §6)."""

from __future__ import annotations

import dataclasses

import pytest

from app import projection, services
from rental.money import TICKS_PER_MILLI

from .builders import ACCOUNT_ID, account_payload, monthly, new_id, pricelist_payload, seed

IP_PORT = "01-00010-001"


@pytest.fixture
def prices(store, signer, demo_prices, clock):
    seed(store, signer, clock.now(), pricelist=pricelist_payload(demo_prices))
    return monthly(demo_prices)


def summary(store, clock):
    [found] = [a for a in services.list_accounts(store.unit_of_work(), clock) if a.account_id == ACCOUNT_ID]
    return found


def test_a_newer_snapshot_is_shown_on_the_list_and_the_account_page_not_the_one_read_before(
        store, signer, prices, clock):
    seed(store, signer, clock.now(), account=account_payload(as_of=clock.now(), licenses={IP_PORT: 2}, prices=prices))
    before = summary(store, clock)
    assert before.balance_ticks == 100_000 * TICKS_PER_MILLI and before.name == "Acme Dental"
    newer = account_payload(as_of=clock.now(), licenses={IP_PORT: 5}, prices=prices, revision=4,
                            balance_milli=250_000, name="Acme Dental Group")
    seed(store, signer, clock.now(), account=newer)
    after = summary(store, clock)
    assert after.balance_ticks == 250_000 * TICKS_PER_MILLI and after.name == "Acme Dental Group"
    assert after.monthly_milli == 5 * prices[IP_PORT]
    detail = services.account_detail(store.unit_of_work(), clock, ACCOUNT_ID)
    assert [(line.ref, line.qty) for line in detail.pbxs[0].licenses] == [(IP_PORT, 5)]
    assert detail.revision == 4 and detail.confirmed.balance_ticks == 250_000 * TICKS_PER_MILLI


def test_a_later_snapshot_of_the_same_revision_replaces_the_figures(store, signer, prices, clock):
    seed(store, signer, clock.now(), account=account_payload(as_of=clock.now(), licenses={IP_PORT: 2}, prices=prices))
    assert summary(store, clock).balance_ticks == 100_000 * TICKS_PER_MILLI
    clock.advance(3_600)
    later = account_payload(as_of=clock.now(), licenses={IP_PORT: 2}, prices=prices, balance_milli=90_000)
    seed(store, signer, clock.now(), account=later)  # the same revision (3), answered an hour later
    assert summary(store, clock).balance_ticks == 90_000 * TICKS_PER_MILLI


def test_what_the_screens_show_equals_a_fresh_reading_of_every_snapshot(store, signer, prices, clock):
    for n in range(6):
        payload = dict(account_payload(as_of=clock.now(), licenses={IP_PORT: 1 + n}, prices=prices,
                                       balance_milli=10_000 * (n + 1), name=f"Customer {n}"), account_id=new_id())
        seed(store, signer, clock.now(), account=payload)
    first = services.list_accounts(store.unit_of_work(), clock)
    clock.advance(2 * 86_400)  # the figures are projected to now at every call, read or not before
    cached = services.list_accounts(store.unit_of_work(), clock)
    projection.PARSED.clear()
    fresh = services.list_accounts(store.unit_of_work(), clock)
    assert [dataclasses.asdict(a) for a in cached] == [dataclasses.asdict(a) for a in fresh]
    assert [a.balance_ticks for a in cached] != [a.balance_ticks for a in first]


def test_a_newer_price_list_is_the_one_the_screens_use(store, signer, demo_prices, prices, clock):
    seed(store, signer, clock.now(), account=account_payload(as_of=clock.now(), licenses={IP_PORT: 2}, prices=prices))
    assert services.current_pricelist(store.unit_of_work()).version == "2026-11"
    renamed = pricelist_payload(demo_prices, version="2027-01", published_at=1_795_000_000)
    renamed["items"] = [dict(item, name="IP port (renamed)") if item["ref"] == IP_PORT else item
                        for item in renamed["items"]]
    seed(store, signer, clock.now(), pricelist=renamed)
    assert services.current_pricelist(store.unit_of_work()).get(IP_PORT).name == "IP port (renamed)"
    detail = services.account_detail(store.unit_of_work(), clock, ACCOUNT_ID)
    assert detail.pbxs[0].licenses[0].name == "IP port (renamed)"
    notice = services.pricelist_notice(store.unit_of_work(), ACCOUNT_ID)
    assert (notice.account_version, notice.current_version) == ("2026-11", "2027-01")


def test_a_key_another_accounts_snapshot_holds_is_refused_without_reading_every_account_R24(
        store, signer, prices, clock):
    """Queueing a key reads only the accounts that may hold it: the one whose signed snapshot names it is one."""
    key = signer.issue_key(5_000, clock.now())
    key_id = store.keyring.read_key(key).key_id_hex
    holder = dict(account_payload(as_of=clock.now(), licenses={IP_PORT: 2}, prices=prices, name="Holder"),
                  account_id=new_id(), auto_reload_days=14,
                  deposits=[{"key_id": key_id, "amount_milli": 5_000, "deposited_at": clock.now() - 60}])
    seed(store, signer, clock.now(), account=holder)
    seed(store, signer, clock.now(), account=account_payload(as_of=clock.now(), licenses={IP_PORT: 2}, prices=prices))
    for queue in (services.load_key, services.deposit_key):
        with pytest.raises(services.RuleViolation) as caught:
            queue(store.unit_of_work(), clock, ACCOUNT_ID, key)
        assert [p.code for p in caught.value.problems] == ["key-used"]
    assert services.queued_ops(store.unit_of_work(), clock) == []


def test_a_key_queued_for_one_account_is_refused_for_another_naming_the_first_R11(store, signer, prices, clock):
    seed(store, signer, clock.now(), account=account_payload(as_of=clock.now(), licenses={IP_PORT: 2}, prices=prices))
    other = dict(account_payload(as_of=clock.now(), prices=prices, name="Bravo Bistro"), account_id=new_id())
    seed(store, signer, clock.now(), account=other)
    key = signer.issue_key(5_000, clock.now())
    services.deposit_key(store.unit_of_work(), clock, other["account_id"], key)
    with pytest.raises(services.RuleViolation) as caught:
        services.load_key(store.unit_of_work(), clock, ACCOUNT_ID, key)
    assert caught.value.problems[0].params["account"] == "Bravo Bistro"
    assert [op.kind for op in services.queued_ops(store.unit_of_work(), clock)] == ["deposit_key"]


def test_the_price_list_screen_reads_only_the_accounts_held_at_an_older_list_R23(
        store, signer, demo_prices, prices, clock):
    """Its R23 list runs forward to now only the candidates one query over the replica's columns finds (held at
    another list than the current one): the accounts at the current list are never read, so the screen costs the
    same with 10 or 10,000 of them."""
    seed(store, signer, clock.now(), pricelist=pricelist_payload(demo_prices, version="2027-01",
                                                                 published_at=clock.now() - 60))
    current = [new_id() for _ in range(3)]
    for account_id in current:
        seed(store, signer, clock.now(), account=dict(account_payload(
            as_of=clock.now(), licenses={IP_PORT: 2}, prices=prices, price_version="2027-01"), account_id=account_id))
    seed(store, signer, clock.now(), account=account_payload(as_of=clock.now(), licenses={IP_PORT: 2}, prices=prices))
    projection.PARSED.clear()
    [(older, notice)] = services.pricelist_notices(store.unit_of_work(), clock)
    assert (older.account_id, notice.account_version, notice.current_version) == (ACCOUNT_ID, "2026-11", "2027-01")
    assert ACCOUNT_ID in projection.PARSED and not any(account_id in projection.PARSED for account_id in current)
