"""The laptop's clock set back or forward changes nothing that is charged; it is noticed and shown (SPEC: times
that decide money are the server's; issue 8). Each laptop has its own movable clock, apart from the server's."""

from __future__ import annotations

import pytest

from app import clock as clock_mod, services, transport as transport_mod
from app.errors import SyncError
from app.clock import MovableClock
from rental.money import SECONDS_PER_DAY

from .conftest import FAST_KDF, PASSPHRASE

IP_PORT = "01-00010-001"  # 0.500 iSC a month
DAY, WEEK = SECONDS_PER_DAY, 7 * SECONDS_PER_DAY


@pytest.fixture
def server_clock():
    # far from the real date, so the server's HTTP Date header (the real time) is visibly another clock
    return MovableClock(2_500_000_000)


@pytest.fixture
def laptop(tmp_path, server, token):
    """laptop(skew) is a technician's laptop whose clock reads the server's time + skew seconds."""
    made = []

    def make(skew: int, name: str = "a"):
        store = services.initialise(tmp_path / f"laptop-{name}", PASSPHRASE, server.url, token, demo=True,
                                    kdf=FAST_KDF)
        made.append(store)
        return store, MovableClock(server.clock.now() + skew)

    yield make
    for store in made:
        store.close()


def server_account(server, token, account_id):
    with server.client(token) as client:
        return server.keyring.verify_envelope(client.get(f"/accounts/{account_id}").json(), "account")


def a_customer_running_on_credit(store, clock, server, *, key_isc="30", qty=10):
    """An account with a key and licenses, synced: 30 iSC at 5 iSC a month run out in about six months."""
    assert services.sync_now(store, clock).ok  # the price list
    account = services.create_account(store.unit_of_work(), clock, "Acme Dental", "office@acme-dental.example")
    pbx = services.register_pbx(store.unit_of_work(), clock, account.account_id, name="Lobby", serial="SN-1",
                                platform="vmware", firmware="13r2")
    [key] = server.issue_keys(key_isc, 1)
    services.load_key(store.unit_of_work(), clock, account.account_id, key)
    assert services.sync_now(store, clock).ok
    services.set_licenses(store.unit_of_work(), clock, account.account_id, pbx.pbx_id, {IP_PORT: qty})
    report = services.sync_now(store, clock)
    assert report.ok and report.applied == 1, report
    return account.account_id


def advance(seconds, *clocks):
    for c in clocks:
        c.advance(seconds)


# --------------------------------------------------------------------------- a skewed laptop syncs


@pytest.mark.parametrize("skew", [-DAY, WEEK], ids=["set back a day", "set forward a week"])
def test_a_skewed_laptop_shows_the_servers_balance_and_suspends_at_the_servers_second(server, laptop, token, skew):
    store, laptop_clock = laptop(skew)
    account_id = a_customer_running_on_credit(store, laptop_clock, server)
    view = services.account_detail(store.unit_of_work(), laptop_clock, account_id)
    signed = server_account(server, token, account_id)
    assert view.confirmed.at == server.clock.now()  # projected at the server's second, not the laptop's
    assert (view.confirmed.balance_ticks, view.confirmed.ends_at) == (signed["balance_ticks"], signed["depletes_at"])
    ends_at = signed["depletes_at"]

    advance(ends_at - 1 - server.clock.now(), server.clock, laptop_clock)  # offline, both clocks run on
    before = services.account_detail(store.unit_of_work(), laptop_clock, account_id).confirmed
    assert (before.status, before.balance_ticks) == ("active", server_account(server, token, account_id)["balance_ticks"])
    advance(1, server.clock, laptop_clock)
    at_end = services.account_detail(store.unit_of_work(), laptop_clock, account_id).confirmed
    assert (at_end.status, at_end.balance_ticks) == ("suspended", server_account(server, token, account_id)["balance_ticks"])
    assert server_account(server, token, account_id)["status"] == "suspended"


@pytest.mark.parametrize("skew", [-DAY, WEEK], ids=["set back a day", "set forward a week"])
def test_a_skewed_laptop_says_so_on_the_sync_screen_and_the_account(server, laptop, skew):
    store, laptop_clock = laptop(skew)
    account_id = a_customer_running_on_credit(store, laptop_clock, server)
    status = services.sync_status(store.unit_of_work(), laptop_clock)
    assert status.clock_offset_s == -skew and status.clock_notice.offset_s == -skew
    assert status.clock_notice.source == "signed" and status.clock_notice.went_back_s == 0
    assert ("behind" if skew < 0 else "ahead of") in status.clock_notice.message
    assert services.account_detail(store.unit_of_work(), laptop_clock, account_id).clock_notice == status.clock_notice
    [summary] = services.list_accounts(store.unit_of_work(), laptop_clock)
    assert summary.clock_notice == status.clock_notice


def test_a_laptop_within_two_minutes_of_the_server_shows_no_notice(server, laptop):
    store, laptop_clock = laptop(-90)
    a_customer_running_on_credit(store, laptop_clock, server)
    status = services.sync_status(store.unit_of_work(), laptop_clock)
    assert status.clock_offset_s == 90 and status.clock_notice is None


# --------------------------------------------------------------------------- the clock changed after the sync


def test_a_clock_set_back_after_the_sync_never_uncharges_and_is_noticed(server, laptop, token):
    store, laptop_clock = laptop(0)
    account_id = a_customer_running_on_credit(store, laptop_clock, server)
    synced = server_account(server, token, account_id)
    advance(2 * DAY, server.clock, laptop_clock)
    assert services.sync_now(store, laptop_clock).ok
    confirmed = server_account(server, token, account_id)
    laptop_clock.advance(-3 * DAY)  # a day before the last verified snapshot
    view = services.account_detail(store.unit_of_work(), laptop_clock, account_id)
    assert view.confirmed.at == confirmed["as_of"]  # held at the newest verified time, never earlier
    assert view.confirmed.balance_ticks == confirmed["balance_ticks"] < synced["balance_ticks"]
    notice = services.sync_status(store.unit_of_work(), laptop_clock).clock_notice
    assert notice.went_back_s == 3 * DAY and "went back by 3 days" in notice.message


def test_figures_once_shown_offline_are_never_uncharged_by_a_clock_set_back(server, laptop):
    store, laptop_clock = laptop(0)
    account_id = a_customer_running_on_credit(store, laptop_clock, server)
    laptop_clock.advance(5 * DAY)  # offline: the app shows five more days charged
    shown = services.account_detail(store.unit_of_work(), laptop_clock, account_id).confirmed
    laptop_clock.advance(-2 * DAY)
    later = services.account_detail(store.unit_of_work(), laptop_clock, account_id)
    assert (later.confirmed.at, later.confirmed.balance_ticks) == (shown.at, shown.balance_ticks)
    assert later.clock_notice.went_back_s == 2 * DAY
    laptop_clock.advance(3 * DAY)  # the laptop's clock catches up: time runs on from there
    assert services.account_detail(store.unit_of_work(), laptop_clock, account_id).confirmed.at == shown.at + DAY


def test_the_technician_can_still_work_on_a_laptop_whose_clock_went_back(server, laptop):
    store, laptop_clock = laptop(0)
    account_id = a_customer_running_on_credit(store, laptop_clock, server)
    laptop_clock.advance(-WEEK)
    pbx_id = services.account_detail(store.unit_of_work(), laptop_clock, account_id).pbxs[0].pbx_id
    services.set_licenses(store.unit_of_work(), laptop_clock, account_id, pbx_id, {IP_PORT: 12})
    [server_key] = server.issue_keys("5", 1)
    services.load_key(store.unit_of_work(), laptop_clock, account_id, server_key)
    report = services.sync_now(store, laptop_clock)
    assert report.ok and report.applied == 2 and report.clock_offset_s == WEEK


def test_a_sync_after_the_clock_went_back_learns_the_new_offset_and_clears_the_went_back_notice(server, laptop):
    store, laptop_clock = laptop(0)
    a_customer_running_on_credit(store, laptop_clock, server)
    laptop_clock.advance(-DAY)
    assert services.sync_status(store.unit_of_work(), laptop_clock).clock_notice.went_back_s == DAY
    assert services.sync_now(store, laptop_clock).ok
    notice = services.sync_status(store.unit_of_work(), laptop_clock).clock_notice
    assert (notice.offset_s, notice.went_back_s) == (DAY, 0)


# --------------------------------------------------------------------------- the unsigned Date header


class SaysWhoOnce(transport_mod.HttpTransport):
    """A server that answers GET /whoami once (the partner is learned), then not (an older or failing route)."""

    answered = 0

    def whoami(self):
        SaysWhoOnce.answered += 1
        if SaysWhoOnce.answered > 1:
            raise SyncError("sync-unreachable")
        return super().whoami()


def test_with_nothing_signed_the_date_header_is_shown_but_never_moves_money(server, laptop, token):
    store, laptop_clock = laptop(0)
    api = SaysWhoOnce(server.url, token)
    try:  # the partner has no account yet and /whoami answers only the partner's question: nothing signed dates now
        report = services.sync_now(store, laptop_clock, transport=api)
    finally:
        api.close()
    assert report.ok and SaysWhoOnce.answered == 2
    status = services.sync_status(store.unit_of_work(), laptop_clock)
    assert status.clock_notice.source == "date"  # the server's Date is the real time, decades before its CLOCK
    assert status.clock_notice.offset_s < -10 * 365 * DAY and "Date" in status.clock_notice.message
    with store.unit_of_work() as uow:
        assert clock_mod.server_now(uow, laptop_clock.now()) == laptop_clock.now()


def test_a_quiet_sync_learns_the_offset_from_the_signed_whoami(server, laptop):
    store, laptop_clock = laptop(-DAY)
    report = services.sync_now(store, laptop_clock)  # no account: no snapshot dates it, the signed /whoami does
    assert report.ok
    status = services.sync_status(store.unit_of_work(), laptop_clock)
    assert (status.clock_offset_s, status.clock_notice.source) == (DAY, "signed")


def test_a_signed_time_replaces_an_offset_read_from_the_date_header(server, laptop):
    store, laptop_clock = laptop(-DAY)
    assert services.sync_now(store, laptop_clock).ok
    services.create_account(store.unit_of_work(), laptop_clock, "Acme Dental", "office@acme-dental.example")
    assert services.sync_now(store, laptop_clock).ok
    status = services.sync_status(store.unit_of_work(), laptop_clock)
    assert (status.clock_offset_s, status.clock_notice.source) == (DAY, "signed")


# --------------------------------------------------------------------------- the arithmetic, on its own


def test_the_offset_takes_the_laptop_time_halfway_through_the_request():
    assert clock_mod.estimate_offset(1_000_100, 1_000_000, 1_000_010) == 95


def test_the_projection_time_is_the_laptop_time_plus_a_signed_offset_but_never_before_the_floor():
    signed = clock_mod.Skew(offset_s=3_600, source="signed")
    assert clock_mod.corrected(1_000_000, signed) == 1_003_600
    assert clock_mod.corrected(1_000_000, signed, floor=1_010_000) == 1_010_000
    assert clock_mod.corrected(1_000_000, clock_mod.Skew(offset_s=3_600, source="date")) == 1_000_000


def test_the_projection_time_never_goes_before_the_latest_laptop_time_already_used():
    seen = clock_mod.Skew(offset_s=3_600, source="signed", highest_laptop_seen=1_050_000)
    assert clock_mod.corrected(1_000_000, seen) == 1_053_600
    assert clock_mod.corrected(1_060_000, seen) == 1_063_600


def test_small_offsets_and_small_steps_back_are_not_worth_a_notice():
    assert clock_mod.notice(1_000_000, clock_mod.Skew(offset_s=120, source="signed")) is None
    assert clock_mod.notice(1_000_000, clock_mod.Skew(highest_laptop_seen=1_000_120)) is None
    assert clock_mod.notice(1_000_000, clock_mod.Skew(highest_laptop_seen=1_000_121)).went_back_s == 121


def test_an_http_date_reads_as_whole_utc_seconds_and_garbage_as_none():
    assert clock_mod.http_date("Wed, 21 Oct 2026 07:28:00 GMT") == 1_792_567_680
    assert clock_mod.http_date("yesterday") is None and clock_mod.http_date(None) is None


def test_durations_read_in_words():
    assert [clock_mod.span(s) for s in (45, 180, 3_660, DAY + 7_200, WEEK)] == [
        "45 seconds", "3 minutes", "1 hour 1 minute", "1 day 2 hours", "7 days"]


def test_the_clock_note_made_at_setup_lets_two_first_writes_race_without_failing(tmp_path):
    """Right after a first run the background sync and the technician's first change both note the laptop's
    clock: when neither found a note, the later insert failed the whole change (UNIQUE constraint). The note is
    made at setup, so both only update it; and the two writers now run one after the other (BEGIN IMMEDIATE,
    app/store.py), the second reading what the first wrote, so neither note is lost either."""
    import threading

    store = services.initialise(tmp_path / "home", PASSPHRASE, None, None, demo=True, kdf=FAST_KDF)
    try:
        noted = threading.Event()
        go = threading.Event()

        def change():  # the technician's change notes the clock, and commits once the sync is under way
            with store.unit_of_work(write=True) as uow:
                clock_mod.noted(uow, 2_000_000_000)
                noted.set()
                assert go.wait(20)
                uow.commit()

        def sync():  # the background sync notes it meanwhile
            with store.unit_of_work(write=True) as uow:
                clock_mod.noted(uow, 2_000_000_005)
                uow.commit()

        failures = []

        def run(call):
            try:
                call()
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        first = threading.Thread(target=run, args=(change,), name="change")
        first.start()
        assert noted.wait(20)
        second = threading.Thread(target=run, args=(sync,), name="sync")
        second.start()
        assert store.writers.wait_for_waiters(1, 20)  # the sync's unit waits for the change's turn
        go.set()
        first.join(20)
        second.join(20)
        assert failures == []  # failed with "UNIQUE constraint failed: setting.key" when setup made no note
        with store.unit_of_work() as uow:
            assert clock_mod.load_skew(uow).highest_laptop_seen == 2_000_000_005  # the later note, on the first
    finally:
        store.close()


def test_a_store_made_before_the_clock_note_gets_it_at_unlock(tmp_path):
    home = tmp_path / "home"
    store = services.initialise(home, PASSPHRASE, None, None, demo=True, kdf=FAST_KDF)
    with store.unit_of_work(write=True) as uow:  # as an older version left it: no note until something noted the clock
        uow.settings.delete(clock_mod.SETTING)
        uow.commit()
    store.close()
    store = services.unlock(home, PASSPHRASE, demo=True)
    try:
        with store.unit_of_work() as uow:
            assert uow.settings.get(clock_mod.SETTING) == clock_mod.Skew().to_json()
    finally:
        store.close()
