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


def test_the_price_list_screen_reads_only_the_accounts_a_reload_may_have_re_rated_by_now_R23_R24(
        store, signer, demo_prices, prices, clock):
    """Its R23 list reads and runs forward to now only the candidates one query over the replica's columns finds
    whose automatic reload second has passed (held at another list, reload_at ≤ now): the day a new list arrives
    every account is held at an older one, and the screen must not read them all. What it lists equals asking every
    candidate the account page's question (Book.rated_version)."""
    seed(store, signer, clock.now(), pricelist=pricelist_payload(demo_prices, version="2027-01",
                                                                 published_at=clock.now() - 60))
    held = {"amount_milli": 10_000, "deposited_at": clock.now() - 60}

    def account(name: str, balance_milli: int, days: int = 0, version: str = "2026-11") -> str:
        made = dict(account_payload(as_of=clock.now(), licenses={IP_PORT: 10}, prices=prices, name=name,
                                    balance_milli=balance_milli, price_version=version), account_id=new_id(),
                    auto_reload_days=days, deposits=[dict(held, key_id=new_id().replace("-", "")[:20])] if days else [])
        seed(store, signer, clock.now(), account=made)
        return made["account_id"]

    due = account("Reloads in 17 days", 7_500, days=28)  # 1.5 months of 5 iSC: 28 days left after about 17
    later = account("Reloads in 2 years", 125_000, days=28)
    steady = account("No reload", 7_500)
    current = [account(f"At 2027-01 ({n})", 7_500, version="2027-01") for n in range(3)]
    with store.unit_of_work() as uow:
        reload_at = {row[0]: row[3] for row in uow.replica.price_versions_other_than("2027-01")}
    assert reload_at[due] is not None and reload_at[steady] is None
    clock.set(reload_at[due] + 60)

    projection.PARSED.clear()
    listed = [(ref.account_id, notice.account_version)
              for ref, notice in services.pricelist_notices(store.unit_of_work(), clock)]
    assert listed == [(steady, "2026-11"), (later, "2026-11")]  # by name
    assert due in projection.PARSED  # run forward: its reload re-rated it at 2027-01 (R24)
    assert not any(each in projection.PARSED for each in [later, steady, *current])  # never read

    with store.unit_of_work() as uow:  # the account page's question asked of every account gives the same list
        book = uow.accounts.book(clock.now(), [due, later, steady, *current])
        asked = {each: book.rated_version(each) for each in [due, later, steady, *current]}
    assert sorted(each for each, version in asked.items() if version != "2027-01") == sorted(id_ for id_, _ in listed)
