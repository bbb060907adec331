"""Issue 21 item 1, DESIGN §6: the statement is computed, not remembered. A quiet running account's statement after
a sync equals the server's ledger (written + open lines) at that second, to the tick; the amounts shown add up to
the total shown, each rounded down to the milli (largest remainder, never more than the exact sum); offline it keeps
counting up to now. Against a real license server on 127.0.0.1, one injected clock for server and laptop."""

from __future__ import annotations

from app import services
from app.sync import CURSOR_SETTING
from rental import billing
from rental.money import SECONDS_PER_DAY, TICKS_PER_MILLI

from .test_sync import IP_PORT, UC, laptop, prepare_customer, server_clock, sync_now  # noqa: F401  (fixtures)

DAY = SECONDS_PER_DAY


def default_period(now: int) -> tuple[int, int]:
    """The statement screen's default period: the 30 days up to the end of today (app.web.accounts._period)."""
    end = (now // DAY + 1) * DAY
    return end - 30 * DAY, end


def servers_statement(server, token, account_id: str, start: int, end: int):
    """The server's ledger at this second, written and open lines, summed by the core's own statement."""
    with server.client(token) as client:
        lines = client.get(f"/accounts/{account_id}/ledger", params={"limit": 1000}).json()["lines"]
    entries = [billing.Entry(kind=l["kind"], at=l["at"], ticks=l["ticks"], pbx_id=l["pbx_id"], ref=l["ref"],
                             qty=l["qty"], start=l["start"], end=l["end"], seconds=l["seconds"], rate=l["rate"],
                             price_version=l["price_version"], key_id=l["key_id"], auto=l["auto"]) for l in lines]
    return billing.statement(entries, start, end, by_quantity=True), any(l["open"] for l in lines)


def assert_ties(store, clock, server, token, account_id: str) -> "services.StatementView":
    start, end = default_period(clock.now())
    view = services.statement(store.unit_of_work(), account_id, start, end, clock)
    (rows, totals), has_open = servers_statement(server, token, account_id, start, end)
    assert has_open  # the server still owes a written line: the open charge is what this test is about
    assert view.as_of == clock.now()
    assert [(r.pbx_id, r.ref, r.qty, r.rates, r.seconds, r.ticks) for r in view.rows] == [
        (r.pbx_id, r.ref, r.qty, r.rates, r.seconds, r.ticks) for r in rows]  # to the tick, line by line
    assert (view.charged_ticks, view.credited_ticks) == (totals[billing.CHARGE], totals[billing.CREDIT])
    # shown to the milli, rounded down; the lines shown add up to the total shown (largest remainder)
    assert sum(r.milli for r in view.rows) == view.charged_ticks // TICKS_PER_MILLI
    assert all(r.ticks // TICKS_PER_MILLI <= r.milli <= -(-r.ticks // TICKS_PER_MILLI) for r in view.rows)
    return view


def test_a_quiet_accounts_statement_after_32_days_and_a_quiet_sync_is_the_servers_ledger(server, laptop, clock,
                                                                                          token):
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server)
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10, UC: 2})
    assert sync_now(store, clock).ok  # the ledger is pulled here (the ops named the account)
    clock.advance(32 * DAY + 3_601)
    assert sync_now(store, clock).ok  # nothing changed: no ledger pulled (issue 26), the snapshot held stays
    view = assert_ties(store, clock, server, token, account_id)
    # the whole period up to now, not frozen at the ledger's pull 32 days ago (it read 0.000 iSC)
    assert view.charged_ticks > 0 and {r.seconds for r in view.rows} == {clock.now() - view.start}
    clock.advance(DAY)  # offline a day later: still counting up to now, as the server's ledger does
    later = assert_ties(store, clock, server, token, account_id)
    assert later.charged_ticks > 0 and {r.seconds for r in later.rows} == {clock.now() - later.start}


def test_a_newer_snapshot_of_the_same_revision_carries_the_open_charge_it_passed(server, laptop, clock, token):
    """A full listing (no cursor: another token, a first sync) replaces the held snapshot by one of the same
    revision, later, without pulling the ledger again: the charge between the ledger's pull and the new snapshot
    is carried as open lines, so nothing is lost between them and nothing counted twice."""
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server)
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10, UC: 2})
    assert sync_now(store, clock).ok
    revision = services.account_detail(store.unit_of_work(), clock, account_id).revision
    clock.advance(20 * DAY + 77)
    with store.unit_of_work(write=True) as uow:  # the next listing is a full one
        uow.settings.put(CURSOR_SETTING, None)
        uow.commit()
    assert sync_now(store, clock).ok
    with store.unit_of_work() as uow:
        held = uow.replica.get_account(account_id)
        assert (held.revision, held.as_of) == (revision, clock.now())  # same revision, newer snapshot
    assert_ties(store, clock, server, token, account_id)
    clock.advance(12 * DAY)
    assert sync_now(store, clock).ok
    assert_ties(store, clock, server, token, account_id)


def test_an_automatic_reload_between_syncs_is_on_the_statement_as_the_server_has_it(server, laptop, clock, token):
    """R24: a key held is redeemed at its second while nothing syncs; the statement credits it and charges on."""
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server, key_isc="8")
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10, UC: 2})
    [held] = server.issue_keys("30", 1)
    services.deposit_key(store.unit_of_work(), clock, account_id, held)
    services.set_auto_reload(store.unit_of_work(), clock, account_id, 14)
    assert sync_now(store, clock).ok
    clock.advance(32 * DAY + 11)
    assert sync_now(store, clock).ok
    view = assert_ties(store, clock, server, token, account_id)
    assert [c.is_automatic for c in view.credits] == [True] and view.held == ()  # redeemed, no longer held
    clock.advance(DAY)
    assert_ties(store, clock, server, token, account_id)


def test_a_removed_pbx_keeps_its_name_on_the_statement_not_its_id(server, laptop, clock, token):
    """R25: the period's lines of a PBX removed since (R19) name it as the history does ("PBX Lobby removed"): the
    signed account no longer lists it, and a technician cannot tell which PBX a bare id was."""
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server)
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10})
    assert sync_now(store, clock).ok
    clock.advance(DAY)
    services.remove_pbx(store.unit_of_work(), clock, account_id, pbx_id)
    assert sync_now(store, clock).ok
    services.pull_details(store.unit_of_work, clock, account_id)  # as the statement screen does when opened online
    start, end = default_period(clock.now())
    view = services.statement(store.unit_of_work(), account_id, start, end, clock)
    assert [(r.pbx_id, r.pbx_name, r.seconds) for r in view.rows] == [(pbx_id, "Lobby", DAY)]
