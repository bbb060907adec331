"""The license editor's quantity fields take ASCII digits only (issue 14, item 6): '²' and '①' pass
str.isdigit() but not int(), which made the screen answer 500; now they get the field's message."""

from __future__ import annotations

import pytest

from tests.support.license_server import LiveLicenseServer

IP_PORT = "01-00010-001"


@pytest.fixture
def pbx_licenses(unlocked, csrf, tmp_path, clock):
    server = LiveLicenseServer(tmp_path / "server", clock=clock).start()
    try:
        token = server.add_technician("Acme Telecom", "Ann")
        unlocked.post("/settings/server", data={"server_url": server.url, "token": token, "csrf_token": csrf})
        assert "Sync complete" in unlocked.post("/sync/run", data={"csrf_token": csrf}).data.decode()
        account = unlocked.post("/accounts/new", data={"name": "Acme Hotel", "contact_email": "it@acme.example",
                                                       "language": "en", "csrf_token": csrf}).headers["Location"]
        [key] = server.issue_keys("100", 1)  # enough credit for R14, so the control is taken
        assert unlocked.post(account + "/key", data={"key": key, "csrf_token": csrf}).status_code == 302
        pbx = unlocked.post(account + "/pbx/new", data={"name": "Lobby", "serial": "SN-1", "platform": "vmware",
                                                        "firmware": "13r2", "mode": "rental", "csrf_token": csrf})
        yield pbx.headers["Location"] + "/licenses"
    finally:
        server.stop()


@pytest.mark.parametrize("typed", ["²", "①", "٣", "𝟗", "¹⁰"])
def test_a_quantity_in_unicode_digits_is_refused_with_the_fields_message(unlocked, csrf, pbx_licenses, typed):
    answer = unlocked.post(pbx_licenses, data={f"qty-{IP_PORT}": typed, "csrf_token": csrf})
    assert answer.status_code == 200, answer.status_code
    assert "Type a whole number (0 removes the item)." in answer.data.decode()


def test_five_thousand_digits_are_refused_as_too_many_before_any_arithmetic(unlocked, csrf, pbx_licenses):
    answer = unlocked.post(pbx_licenses, data={f"qty-{IP_PORT}": "9" * 5000, "csrf_token": csrf})
    assert answer.status_code == 200, answer.status_code
    assert "At most 100,000 of one item on a PBX: check the quantity." in answer.data.decode()


def test_a_quantity_in_ascii_digits_is_queued(unlocked, csrf, pbx_licenses):
    """The control: the same form with 2 is taken."""
    answer = unlocked.post(pbx_licenses, data={f"qty-{IP_PORT}": "2", "csrf_token": csrf})
    assert answer.status_code == 302
