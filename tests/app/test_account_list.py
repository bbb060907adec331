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


def test_each_row_shows_the_figures_of_the_accounts_whole_state_R16_R18_R24(store, signer, demo_prices, clock):
    """A row is computed without building the PBXs it never shows (docs/benchmarks.md §16): it must carry the very
    figures, names and queued credit the account's whole state gives (the account page's), for every shape of
    account: running, run out since its snapshot (R18), idle, reloading automatically from keys held (R24: one
    redeemed since the snapshot, one still ahead), edited offline, credited offline, created offline."""
    prices = monthly(demo_prices)
    now = clock.now()
    seed(store, signer, now, pricelist=pricelist_payload(demo_prices))
    twenty_days = prices[IP_PORT] * 2 * 20 // 30  # milli: about 20 days of two IP ports
    shapes = {
        "Running": {"licenses": {IP_PORT: 2}},
        "Run out": {"licenses": {IP_PORT: 2}, "balance_milli": prices[IP_PORT] * 2 * 3 // 30},
        "Idle": {"licenses": {}},
        "Reloading": {"licenses": {IP_PORT: 2}, "balance_milli": twenty_days},
        "Edited": {"licenses": {IP_PORT: 2}},
        "Credited": {"licenses": {IP_PORT: 2}},
    }
    ids = {}
    for name, fields in shapes.items():
        account = dict(account_payload(as_of=now, prices=prices, name=name, **fields), account_id=new_id())
        if name == "Reloading":
            account.update(auto_reload_days=14, deposits=[
                {"key_id": f"{n:020x}", "amount_milli": twenty_days, "deposited_at": now - 60 + n} for n in (1, 2)])
        seed(store, signer, now, account=account)
        ids[name] = account["account_id"]
    services.update_account(store.unit_of_work(), clock, ids["Edited"], name="Edited Again")
    services.load_key(store.unit_of_work(), clock, ids["Credited"], signer.issue_key(5_000, now))
    services.create_account(store.unit_of_work(), clock, "Offline Inn", "it@offline.example")
    clock.advance(10 * 86_400)  # past the first reload's second (runtime under 14 days), before the second's

    rows = services.list_accounts(store.unit_of_work(), clock)
    assert len(rows) == 7 and {row.status for row in rows} == {"active", "suspended", "idle", "pending"}
    for row in rows:
        whole = services.account_detail(store.unit_of_work(), clock, row.account_id)
        assert (row.name, row.contact_email, row.pending_credit_milli, row.is_confirmed) == (
            whole.name, whole.contact_email, whole.pending_credit_milli, whole.is_confirmed)
        if row.is_confirmed:
            figures = whole.confirmed
            assert (row.balance_ticks, row.remaining_seconds, row.ends_at, row.monthly_milli, row.status) == (
                figures.balance_ticks, figures.remaining_seconds, figures.ends_at, figures.monthly_milli,
                figures.status)
    by_name = {row.name: row for row in rows}
    reloading = services.account_detail(store.unit_of_work(), clock, ids["Reloading"]).confirmed
    assert len(reloading.reloads) == 1  # one key redeemed since the snapshot, the other still held (R24)
    # about 10 days of credit left of the snapshot's 20, plus the key of 20 days redeemed at its second (R24)
    assert by_name["Reloading"].balance_ticks > 25 * 86_400 * 12 * prices[IP_PORT] * 2
    assert by_name["Edited Again"].is_confirmed and by_name["Credited"].pending_credit_milli == 5_000
    assert by_name["Run out"].status == "suspended" and by_name["Run out"].remaining_seconds is None


def test_the_count_leaves_out_exactly_the_deleted_accounts_unless_asked(five_accounts, signer, demo_prices, clock):
    """The total beside a cut page (issue 11: deleted accounts hidden unless asked) is counted as every account
    minus the deleted ones (migration 0009, docs/benchmarks.md §16): it must match what is listed, searched or not."""
    for name in ("Echo Annex", "Zulu Closed"):
        gone = dict(account_payload(as_of=clock.now(), status="deleted", balance_milli=0, name=name),
                    account_id=new_id(), contact_email="gone@closed.example")
        seed(five_accounts, signer, clock.now(), account=gone)
    for include_deleted, needle, total in ((False, "", 5), (True, "", 7), (False, "echo", 1), (True, "echo", 2)):
        page = services.list_accounts(five_accounts.unit_of_work(), clock, needle, limit=2,
                                      include_deleted=include_deleted)
        every = services.list_accounts(five_accounts.unit_of_work(), clock, needle, include_deleted=include_deleted)
        assert page.total == every.total == len(every) == total
        assert ("deleted" in {a.status for a in every}) == include_deleted
