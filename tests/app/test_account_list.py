"""The accounts list: searched, ordered and cut to a page in SQL, only the page projected (issue 7, R16, R18)."""

from __future__ import annotations

import pytest

from app import services

from .builders import account_payload, monthly, new_id, pricelist_payload, seed

IP_PORT = "01-00010-001"


@pytest.fixture
def five_accounts(store, signer, demo_prices, clock):
    prices = monthly(demo_prices)
    seed(store, signer, clock.now(), pricelist=pricelist_payload(demo_prices))
    for name in ("Echo Bakery", "Alpha Dental", "Delta Ölwerk", "Charlie Cars", "Bravo Bistro"):
        account = dict(account_payload(as_of=clock.now(), licenses={IP_PORT: 2}, prices=prices, name=name),
                       account_id=new_id(), contact_email=f"office@{name.split()[0].lower()}.example")
        seed(store, signer, clock.now(), account=account)
    return store


def test_the_list_is_ordered_by_name_and_cut_to_the_page_with_the_total_kept(five_accounts, clock):
    page = services.list_accounts(five_accounts.unit_of_work(), clock, limit=2)
    assert [a.name for a in page] == ["Alpha Dental", "Bravo Bistro"]
    assert page.total == 5 and page.truncated


def test_the_search_matches_name_e_mail_and_id_case_and_accents_folded(five_accounts, clock):
    assert [a.name for a in services.list_accounts(five_accounts.unit_of_work(), clock, "ölWERK")] == ["Delta Ölwerk"]
    assert [a.name for a in services.list_accounts(five_accounts.unit_of_work(), clock, "@charlie.")] == ["Charlie Cars"]
    some = services.list_accounts(five_accounts.unit_of_work(), clock, "Echo")[0]
    by_id = services.list_accounts(five_accounts.unit_of_work(), clock, some.account_id[:13].upper())
    assert [a.account_id for a in by_id] == [some.account_id] and not by_id.truncated


def test_an_account_created_offline_is_counted_and_placed_by_name_among_the_verified(five_accounts, clock):
    services.create_account(five_accounts.unit_of_work(), clock, "Able Annex", "annex@able.example")
    page = services.list_accounts(five_accounts.unit_of_work(), clock, limit=3)
    assert [a.name for a in page] == ["Able Annex", "Alpha Dental", "Bravo Bistro"]
    assert page.total == 6 and page[0].status == "pending" and page[0].pending_ops == 1
    assert services.list_accounts(five_accounts.unit_of_work(), clock, "annex@").total == 1


def test_the_page_shows_figures_projected_to_now_exactly_as_the_account_page(five_accounts, clock):
    clock.advance(7 * 86_400)
    for summary in services.list_accounts(five_accounts.unit_of_work(), clock):
        current = services.account_detail(five_accounts.unit_of_work(), clock, summary.account_id).confirmed
        assert (summary.balance_ticks, summary.ends_at, summary.status) == (
            current.balance_ticks, current.ends_at, current.status)


def test_the_queue_lists_every_op_of_the_laptop_in_order(store, clock):
    """The sync screen's queue (issue 7: it must not parse all 10,000 accounts to show three ops)."""
    first = services.create_account(store.unit_of_work(), clock, "Zebra Hotel", "it@zebra.example")
    second = services.create_account(store.unit_of_work(), clock, "Alpha Clinic", "it@alpha.example")
    ops = services.queued_ops(store.unit_of_work(), clock)
    assert [op.account_id for op in ops] == [first.account_id, second.account_id]
    assert [op.kind for op in ops] == ["create_account", "create_account"]
    assert all(op.state == "pending" for op in ops)
