"""The laptop's clock set forward or back changes nothing that is charged; the app notices and says so.

The server's clock decides money (SPEC, arithmetic). The laptop's clock is moved a month
ahead, then a year back, while the technician works and syncs; the server's balance stays
exactly credit − rate × (server seconds rented), and the app shows a clock notice.
"""

from __future__ import annotations

import pytest

from app import services
from app.clock import MovableClock
from rental.money import TICKS_PER_MILLI
from tests.support.license_server import LiveLicenseServer

from .app_worker import FAST_KDF
from .figures import record
from .ledger import audit_database

DAY = 86_400
LOAD_MILLI = 300_000
ITEMS = {"01-00010-001": 4}  # 4 × 500 milli-iSC a month
RATE = 12 * 500 * 4  # ticks per second (SPEC, arithmetic)


@pytest.mark.parametrize("laptop_off_by", [30 * DAY, -365 * DAY, 3 * 3600], ids=["a-month-ahead", "a-year-behind",
                                                                               "three-hours-ahead"])
def test_a_wrong_laptop_clock_changes_nothing_charged_and_is_shown(tmp_path, laptop_off_by):
    with LiveLicenseServer(tmp_path / "server") as server:
        token = server.add_technician("Acme Telecom", "Ann")
        [key] = server.issue_keys(LOAD_MILLI, 1)
        store = services.initialise(tmp_path / "laptop", "correct horse battery", server_url=server.url,
                                    token=token, demo=True, kdf=FAST_KDF)
        laptop = MovableClock(server.clock.now)  # right, to begin with
        try:
            account = services.create_account(store.unit_of_work(), laptop, "Acme Dental", "o@acme.example").account_id
            pbx = services.register_pbx(store.unit_of_work(), laptop, account, name="Lobby", serial="SN1",
                                        platform="vmware", firmware="14r1").pbx_id
            services.load_key(store.unit_of_work(), laptop, account, key)
            assert services.sync_now(store, laptop).ok
            services.set_licenses(store.unit_of_work(), laptop, account, pbx, ITEMS, confirm=True)
            assert services.sync_now(store, laptop).ok
            rented_from = server.clock.now
            assert services.sync_status(store.unit_of_work()).clock_notice is None

            # Two days pass on the server; the laptop's clock is wrong by laptop_off_by.
            server.clock.advance(2 * DAY)
            laptop.set(server.clock.now + laptop_off_by)
            services.update_account(store.unit_of_work(), laptop, account, name="Acme Dental & Co")
            report = services.sync_now(store, laptop)
            assert report.ok, report.error
            status = services.sync_status(store.unit_of_work())
            view = services.account_detail(store.unit_of_work(), laptop, account)
            with server.client(token) as client:
                served = server.keyring.verify_envelope(client.get(f"/accounts/{account}").json(), "account")
        finally:
            store.close()
        audit = audit_database(__import__("sqlalchemy").create_engine(server.database_url))
    # What is charged follows the server's seconds alone.
    expected = LOAD_MILLI * TICKS_PER_MILLI - RATE * (server.clock.now - rented_from)
    assert served["balance_ticks"] == expected
    audit.assert_clean()
    # The app noticed, said so in words, and still shows the server's figures, not the laptop's.
    assert report.clock_offset_s == pytest.approx(-laptop_off_by, abs=5)
    assert status.clock_notice is not None and abs(status.clock_notice.offset_s + laptop_off_by) <= 5
    assert "clock" in status.clock_notice.message.lower()
    assert view.clock_notice is not None
    assert view.confirmed.balance_ticks == expected
    record(f"laptop_clock_{laptop_off_by}", laptop_off_by_s=laptop_off_by, charged_ticks=RATE * 2 * DAY,
           charge_changed_by_laptop_clock=0, notice_shown=True)


def test_a_laptop_clock_moved_back_after_use_is_noticed_without_a_sync(tmp_path):
    """Set back after showing figures: the app says the clock went back, and never un-charges what it showed."""
    with LiveLicenseServer(tmp_path / "server") as server:
        token = server.add_technician("Acme Telecom", "Ann")
        [key] = server.issue_keys(LOAD_MILLI, 1)
        store = services.initialise(tmp_path / "laptop", "correct horse battery", server_url=server.url,
                                    token=token, demo=True, kdf=FAST_KDF)
        laptop = MovableClock(server.clock.now)
        try:
            account = services.create_account(store.unit_of_work(), laptop, "Acme Dental", "o@acme.example").account_id
            pbx = services.register_pbx(store.unit_of_work(), laptop, account, name="Lobby", serial="SN1",
                                        platform="vmware", firmware="14r1").pbx_id
            services.load_key(store.unit_of_work(), laptop, account, key)
            assert services.sync_now(store, laptop).ok
            services.set_licenses(store.unit_of_work(), laptop, account, pbx, ITEMS, confirm=True)
            assert services.sync_now(store, laptop).ok
            laptop.advance(DAY)
            shown = services.account_detail(store.unit_of_work(), laptop, account).confirmed.balance_ticks
            services.update_account(store.unit_of_work(), laptop, account, name="Acme Dental SA")  # a write: noted
            laptop.advance(-10 * DAY)  # someone sets the clock back
            later = services.account_detail(store.unit_of_work(), laptop, account)
        finally:
            store.close()
    assert later.clock_notice is not None and later.clock_notice.went_back_s >= 9 * DAY
    assert "went back" in later.clock_notice.message
    assert later.confirmed.balance_ticks <= shown, "moving the laptop's clock back gave credit back"
