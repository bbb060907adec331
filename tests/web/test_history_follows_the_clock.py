"""The account's history (R25) says, offline, what the signed snapshot makes by now, as the server's own answer at
that second does: the stop at the second the credit ran out (R18) and each automatic reload at its second (R24),
by the license server, computed with rental/ (rental.ops.reload_until, with_stops) — never only what was pulled at
the last sync while the title, the meter and the statement beside it say suspended or reloaded. Against a live
license server, the clock moved (never slept on), English and French."""

from __future__ import annotations

from app.web.state import EXTENSION

from .conftest import htmx
from .live import reloading_account, running_account, server, server_account, text  # noqa: F401  (server: a fixture)


def _history(client, account: str) -> str:
    return text(client.get(account + "/history", headers=htmx()).data)


def test_the_history_says_the_account_stopped_at_the_second_its_credit_ran_out_offline_R18_R25(
        unlocked, csrf, server, clock, app):
    account, _ = running_account(unlocked, csrf, server, credit="10")  # 5 iSC a month: two months
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    server.stop()  # offline: nobody syncs, nothing is pulled
    clock.set(depletes_at - 1)
    assert "Suspended" not in _history(unlocked, account)
    clock.set(depletes_at + 3_600)
    shown = _history(unlocked, account)
    assert "Suspended: the credit was used up, the installations stopped" in shown
    assert shown.index("Suspended") < shown.index("Licenses of PBX Lobby changed")  # newest first
    assert shown.count("Suspended") == 1
    app.extensions[EXTENSION].language = "fr"
    assert "Suspendu" in _history(unlocked, account)


def test_the_history_lists_an_automatic_reload_made_offline_at_its_second_R24_R25(unlocked, csrf, server, clock):
    account, reload_at = reloading_account(unlocked, csrf, server)
    server.stop()
    clock.set(reload_at - 1)
    assert "Automatic reload" not in _history(unlocked, account)
    clock.set(reload_at)
    shown = _history(unlocked, account)
    assert "Automatic reload: +10.000 iSC from a held key" in shown and "Suspended" not in shown
    assert shown.count("Automatic reload") == 1


def test_a_sync_after_the_stop_shows_it_once_as_the_server_recorded_it(unlocked, csrf, server, clock):
    account, _ = running_account(unlocked, csrf, server, credit="10")
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    clock.set(depletes_at + 3_600)
    server.sweep()  # the server writes the stop
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    assert _history(unlocked, account).count("Suspended") == 1


def test_the_full_history_page_open_when_the_credit_runs_out_is_drawn_again_at_that_second_R18_R25(
        unlocked, csrf, server, clock):
    from .test_open_pages_follow_the_clock import _hears, _watch

    account, _ = running_account(unlocked, csrf, server, credit="10")
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    server.stop()
    watch = _watch(unlocked.get(account + "/history?all=1").data)
    clock.set(depletes_at - 1)
    assert not _hears(unlocked, watch)
    clock.set(depletes_at)
    assert _hears(unlocked, watch)
    assert "Suspended" in text(unlocked.get(account + "/history?all=1", headers=htmx()).data)
