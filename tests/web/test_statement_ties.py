"""The statement (R25) ties to the server's ledger to the tick: per line, the charges of the period; the keys
credited (by hand and by automatic reload, R24) and the keys held; the CSV has all of it."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

import pytest

from rental.money import TICKS_PER_MILLI
from tests.support.license_server import LiveLicenseServer

from .conftest import htmx  # noqa: F401  (the fixture chain of tests/web)
from .test_clock_and_answers import sync
from .test_guide_rules_screens import MONTH, DAY, IP_PORT, running_customer


@pytest.fixture
def server(tmp_path, clock):
    server = LiveLicenseServer(tmp_path / "server", clock=clock).start()
    yield server
    server.stop()


def ledger(server, token, account_id: str) -> list[dict]:
    with server.client(token) as http:
        return http.get(f"/accounts/{account_id}/ledger", params={"limit": 1000}).json()["lines"]


def test_the_statement_and_its_csv_tie_to_the_ledger_to_the_tick(unlocked, csrf, server, clock):
    account, pbx_url, token = running_customer(unlocked, csrf, server, isc="100")
    account_id = account.rstrip("/").rsplit("/", 1)[-1]
    start = clock.now()
    for qty, wait in ((12, 3 * DAY + 17), (14, 9 * DAY + 5), (7, 2 * DAY)):
        clock.advance(wait)
        assert unlocked.post(pbx_url + "/licenses", data={f"qty-{IP_PORT}": str(qty), "csrf_token": csrf}).status_code == 302
        sync(unlocked, csrf)
    [held] = server.issue_keys("25", 1)
    assert unlocked.post(account + "/deposit", data={"deposit_key": held, "csrf_token": csrf}).status_code == 302
    sync(unlocked, csrf)
    lines = [line for line in ledger(server, token, account_id) if not line.get("open")]
    end = clock.now() + 1
    charged = sum(line["ticks"] for line in lines if line["kind"] == "charge" and line["end"] <= end)
    credited = sum(line["ticks"] for line in lines if line["kind"] == "credit" and start - MONTH <= line["at"] < end)
    assert charged > 0 and credited == 100_000 * TICKS_PER_MILLI

    from app import services
    from app.web import core  # the app's own statement, from the ledger lines it pulled at sync
    with unlocked.application.app_context():
        view = services.statement(core.uow(), account_id, start - MONTH, end)
    assert sum(row.ticks for row in view.rows) == view.charged_ticks == charged  # to the tick
    assert view.credited_ticks == credited and [c.ticks for c in view.credits] == [credited]
    assert [(k.amount_milli,) for k in view.held] == [(25_000,)]
    assert {row.qty for row in view.rows} == {10, 12, 14}  # one row per quantity charged

    def day(t: int) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")

    answer = unlocked.get(account + "/statement.csv", query_string={"start": day(start - MONTH), "end": day(end)})
    rows = list(csv.reader(io.StringIO(answer.data.decode())))
    cells = [cell for row in rows for cell in row]
    assert "held for automatic reload" in cells and "loaded by hand" in cells
    charged_row = next(row for row in rows if row and row[0] == "Charged")
    assert charged_row[-1] == f"{charged // TICKS_PER_MILLI // 1000}.{charged // TICKS_PER_MILLI % 1000:03d}"
    assert re.fullmatch(r"\d+\.\d{3}", charged_row[-1])
    # the lines shown add up to the total shown (SPEC: largest remainder), on the screen and in the CSV
    assert sum(row.milli for row in view.rows) == charged // TICKS_PER_MILLI
    header = rows.index(next(row for row in rows if row and row[0] == "PBX"))
    line_cells = [row[-1] for row in rows[header + 1:] if row and row[3].isdigit()]
    assert len(line_cells) == len(view.rows)
    assert sum(int(cell.replace(".", "")) for cell in line_cells) == int(charged_row[-1].replace(".", ""))


def test_an_account_made_on_another_laptop_gets_its_statement_and_history_when_opened_online(unlocked, csrf, server,
                                                                                            clock):
    """Issue 26: a sync pulls no ledger of an account that it only learned of (a big partner's first sync would
    fetch thousands); opening its statement or history while online fetches them, and they are kept."""
    import uuid

    from app import services
    from app.web import core

    _account, _pbx, token = running_customer(unlocked, csrf, server, isc="100")
    other = str(uuid.uuid4())
    with server.client(token) as http:  # another laptop of the partner makes an account and loads a key
        [key] = server.issue_keys("5", 1)
        answer = http.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [
            {"op_id": str(uuid.uuid4()), "kind": "create_account", "account_id": other, "name": "Made elsewhere",
             "contact_email": "elsewhere@example.com", "cloud_contract": False},
            {"op_id": str(uuid.uuid4()), "kind": "redeem_key", "account_id": other, "key": key}]})
        assert answer.status_code == 200
    clock.advance(DAY)
    sync(unlocked, csrf)
    with unlocked.application.app_context():
        with core.uow() as uow:
            assert uow.replica.get_account(other) is not None and not uow.replica.ledger_is_current(other)
    page = unlocked.get(f"/accounts/{other}/statement")
    assert page.status_code == 200
    with unlocked.application.app_context():
        with core.uow() as uow:
            assert uow.replica.ledger_is_current(other)  # fetched when opened, kept for offline use
            assert uow.history.newest_id(other) is not None
        view = services.statement(core.uow(), other, clock.now() - 2 * DAY, clock.now())
    assert view.credited_ticks == 5_000 * TICKS_PER_MILLI


def test_a_quiet_accounts_statement_page_after_32_days_shows_the_servers_ledger_charged_to_the_milli(
        unlocked, csrf, server, clock):
    """Issue 21, DESIGN §6: with nothing changed for 32 days and a quiet sync (no ledger pulled), the statement
    screen's default period charges what the server's ledger (written + open lines) charges at that second,
    shown rounded down to the milli, its lines adding up to it; it read 0.000 iSC before (frozen at the pull)."""
    from rental import billing
    from rental.money import format_ticks

    account, _pbx_url, token = running_customer(unlocked, csrf, server, isc="100")
    account_id = account.rstrip("/").rsplit("/", 1)[-1]
    clock.advance(32 * DAY + 4_321)
    sync(unlocked, csrf)
    now = clock.now()
    end = (now // DAY + 1) * DAY  # the screen's default period: the 30 days up to the end of today
    lines = ledger(server, token, account_id)
    assert any(line["open"] for line in lines)  # the server has not written it yet: open lines only
    entries = [billing.Entry(kind=l["kind"], at=l["at"], ticks=l["ticks"], pbx_id=l["pbx_id"], ref=l["ref"],
                             qty=l["qty"], start=l["start"], end=l["end"], seconds=l["seconds"], rate=l["rate"],
                             key_id=l["key_id"], auto=l["auto"]) for l in lines]
    _rows, totals = billing.statement(entries, end - 30 * DAY, end)
    assert totals[billing.CHARGE] == 12 * 500 * 10 * (now - (end - 30 * DAY)) > 0
    page = unlocked.get(account + "/statement").data.decode()
    charged = re.search(r"<dt>Charged</dt><dd[^>]*>([^<]+)</dd>", page).group(1)
    assert charged == format_ticks(totals[billing.CHARGE], "en")
    amounts = re.findall(r'<td class="num">([\d,]+\.\d{3}) iSC</td>', page)
    assert sum(int(a.replace(",", "").replace(".", "")) for a in amounts) == totals[billing.CHARGE] // TICKS_PER_MILLI
