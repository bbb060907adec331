"""The license editor's summary ("Before you queue") follows what it depends on while the editor stays open: it is
worked out again, with the quantities as typed, at the second it changes by time alone (the credit runs out, R18; R14
starts refusing the draft) and after a sync that changed its account (a colleague's key load); what it showed
travels with the form, and a save that queues something else than what it showed says so (English and French, from
reason codes). Against a live license server on 127.0.0.1, the clock injected and moved, never slept on."""

from __future__ import annotations

import html
import re
import uuid

from app.web.state import EXTENSION

from .conftest import htmx
from .live import IP_PORT, running_account, server, server_account, text  # noqa: F401  (server: a fixture)

SHOWN = ("shown_at", "shown_status", "shown_monthly", "shown_ends", "shown_verdict")


def _summary_fields(page: bytes) -> dict[str, str]:
    """The hidden fields in which the summary says what it showed."""
    found = dict(re.findall(r'name="(shown_[a-z]+)" value="([^"]*)"', page.decode()))
    assert set(found) == set(SHOWN), found
    return {name: html.unescape(value) for name, value in found.items()}


def _summary_due(page: bytes) -> str | None:
    """Where the summary asks whether its own second came (its due timer), or None when it has none."""
    found = re.search(r'hx-get="(/sync/due\?[^"]+)"', page.decode())
    return html.unescape(found[1]) if found else None


def _preview(client, licenses: str, qty: int) -> bytes:
    """The summary as the editor asks for it (typing, a sync, its own second): with the quantity as typed."""
    from app.web.security import csrf_token

    answer = client.post(licenses + "/preview?part=summary", headers=htmx(),
                         data={f"qty-{IP_PORT}": str(qty), "csrf_token": csrf_token(client.application)})
    assert answer.status_code == 200
    return answer.data


def _save(client, csrf, licenses: str, qty: int, shown: dict[str, str], **extra):
    return client.post(licenses, data={f"qty-{IP_PORT}": str(qty), "csrf_token": csrf, **shown, **extra})


def _flashes(client, account: str) -> str:
    return text(client.get(account).data)


def _queued(client) -> int:
    return len(re.findall(r"/sync/ops/[0-9a-f-]{36}/|data-op-id=", client.get("/sync/").data.decode()))


def _load_elsewhere(server, account_id: str, credit: str) -> None:
    """A colleague's laptop of the partner loads a key on the account (its own token and client id, on the API)."""
    [key] = server.issue_keys(credit, 1)
    token = server.add_technician("Acme Telecom", "Bob")
    op = {"op_id": str(uuid.uuid4()), "kind": "redeem_key", "account_id": account_id, "key": key}
    with server.client(token) as http:
        body = http.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [op]}).json()
    assert server.keyring.verify_envelope(body["results"][0], "op-result")["status"] == "applied"


def test_the_summary_has_its_own_second_the_credit_runs_out_and_is_worked_out_again_then_R18(
        unlocked, csrf, server, clock):
    account, licenses = running_account(unlocked, csrf, server, credit="10")  # 5 iSC a month: two months
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    server.stop()  # offline from here: only the clock tells the summary
    typed = _preview(unlocked, licenses, 8)  # a reduction: R14 never refuses it
    assert "No rule problem" in text(typed)
    aside = re.search(r'<aside[^>]*id="editor-summary"[^>]*>', typed.decode())[0]
    # worked out again on a sync's event and at its own second, posting the editor's form (the draft as typed); its
    # timer inherits no hx-sync, so its poll never replaces a save on the form
    assert 'hx-trigger="rentdesk:synced from:body, rentdesk:refresh, rentdesk:due"' in aside
    assert "/preview?part=summary" in aside and "hx-post" in aside and "hx-sync" in aside.split("hx-disinherit")[1]
    assert _summary_fields(typed)["shown_status"] == "active"
    due = _summary_due(typed)
    assert due == f"/sync/due?due={depletes_at}"

    clock.set(depletes_at - 1)
    assert unlocked.get(due, headers=htmx()).status_code == 204
    clock.set(depletes_at)  # R18: the account stops at this second
    fired = unlocked.get(due, headers=htmx())
    assert fired.status_code == 286 and fired.headers["HX-Trigger"] == "rentdesk:due"  # 286: polling stops

    again = _preview(unlocked, licenses, 8)  # what the summary asks on that event, the draft as typed
    assert _summary_fields(again)["shown_status"] == "suspended"
    assert "R18" in text(again) and "ends now: no credit" in text(again)
    assert 'value="8"' not in again.decode()  # the summary alone: the catalog's typed fields are not redrawn


def test_a_save_after_the_credit_ran_out_under_the_open_editor_says_the_change_waits_for_credit_R18(
        unlocked, csrf, server, clock, app):
    account, licenses = running_account(unlocked, csrf, server, credit="10")
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    server.stop()
    read = _summary_fields(_preview(unlocked, licenses, 8))  # what the technician read, account running
    clock.set(depletes_at + 60)  # the credit ran out while the editor was open; they queue what they read

    saved = _save(unlocked, csrf, licenses, 8, read)
    assert saved.status_code == 302  # a reduction is queued all the same (R15), decided again
    said = _flashes(unlocked, account)
    assert "The figures you read were worked out for" in said
    assert "The credit ran out since: the installation is stopped, so this change waits for credit" in said

    app.extensions[EXTENSION].language = "fr"
    _save(unlocked, csrf, licenses, 7, read)
    said = _flashes(unlocked, account)
    assert "Les chiffres que vous avez lus étaient calculés pour le" in said
    assert "Le crédit s’est épuisé depuis" in said


def test_a_save_on_unchanged_figures_says_nothing_more(unlocked, csrf, server, clock):
    account, licenses = running_account(unlocked, csrf, server)
    read = _summary_fields(_preview(unlocked, licenses, 12))
    clock.advance(600)  # ten minutes of reading: the day the credit ends and the rest are still as shown
    assert _save(unlocked, csrf, licenses, 12, read).status_code == 302
    said = _flashes(unlocked, account)
    assert "Licenses queued for Lobby" in said and "The figures you read were worked out for" not in said


def test_the_summary_is_worked_out_again_when_r14_starts_refusing_the_draft_by_time_alone_R14(
        unlocked, csrf, server, clock):
    """100 iSC running 10 IP ports (5 iSC a month); a draft of 190 ports (95 iSC a month) needs 93.6 iSC for 30
    days: it may be queued today, and R14 refuses it once the running ports have spent the spare credit."""
    account, licenses = running_account(unlocked, csrf, server)
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    server.stop()
    typed = _preview(unlocked, licenses, 190)
    assert "No rule problem" in text(typed)
    due = _summary_due(typed)
    at = int(due.rsplit("=", 1)[1])
    assert clock.now() < at < depletes_at  # R14's second, long before the stop's

    clock.set(at - 1)
    assert unlocked.get(due, headers=htmx()).status_code == 204
    assert "No rule problem" in text(_preview(unlocked, licenses, 190))  # still true the second before
    read = _summary_fields(_preview(unlocked, licenses, 190))
    clock.set(at)
    assert unlocked.get(due, headers=htmx()).status_code == 286
    refused = _preview(unlocked, licenses, 190)
    assert "R14" in text(refused) and "min-credit" in _summary_fields(refused)["shown_verdict"]

    answer = _save(unlocked, csrf, licenses, 190, read)  # queued on the figures read a second before
    assert answer.status_code == 200  # refused, each problem next to its item
    shown = text(answer.data)
    assert "A rule now refuses this change (R14)" in shown and "Nothing was queued." in shown


def test_a_colleagues_key_load_synced_under_the_open_editor_moves_its_end_of_credit_and_the_save_says_so_in_french(
        unlocked, csrf, server, clock, app):
    account, licenses = running_account(unlocked, csrf, server, credit="10")
    account_id = account.rsplit("/", 1)[-1]
    read = _summary_fields(_preview(unlocked, licenses, 12))
    _load_elsewhere(server, account_id, "50")  # a colleague's laptop loads 50 iSC…
    unlocked.post("/sync/run", data={"csrf_token": csrf})  # …and this laptop learns it while the editor is open

    again = _summary_fields(_preview(unlocked, licenses, 12))  # the summary after the sync's event
    assert int(again["shown_ends"]) > int(read["shown_ends"]) + 150 * 86_400
    app.extensions[EXTENSION].language = "fr"
    assert _save(unlocked, csrf, licenses, 12, read).status_code == 302
    said = _flashes(unlocked, account)
    assert "Les chiffres que vous avez lus étaient calculés pour le" in said
    assert "Le crédit prend désormais fin le" in said


def test_a_summary_record_edited_by_hand_is_a_clear_error_and_queues_nothing(unlocked, csrf, server):
    account, licenses = running_account(unlocked, csrf, server)
    read = _summary_fields(_preview(unlocked, licenses, 12))
    for field, bad in (("shown_monthly", "-5"), ("shown_status", "running"), ("shown_verdict", "not-a-code"),
                       ("shown_at", "1e9"), ("shown_ends", "²")):
        answer = _save(unlocked, csrf, licenses, 12, {**read, field: bad})
        assert answer.status_code == 200
        shown = text(answer.data)
        assert f"is not readable (field {field}): nothing was queued" in shown
        assert 'value="12"' in answer.data.decode()  # what was typed stays
    assert "0 changes sent" in text(unlocked.post("/sync/run", data={"csrf_token": csrf}).data)


def test_the_r6_warning_leaves_the_summary_at_the_second_the_reduction_leaves_the_window_R6(
        unlocked, csrf, server, clock):
    """10 IP ports reduced to 8 (synced: the laptop remembers the reduction); raising them back within 7 days warns
    (R6). The summary's own second is the first one the reduction is out of the window: the warning leaves it then,
    and a save made on the warning read says that what R6 said no longer holds."""
    account, licenses = running_account(unlocked, csrf, server)
    assert _save(unlocked, csrf, licenses, 8, {}).status_code == 302
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    reduced_at = clock.now()
    server.stop()
    typed = _preview(unlocked, licenses, 10)
    assert "R6" in text(typed) and "toggle-warning" in _summary_fields(typed)["shown_verdict"]
    due = _summary_due(typed)
    window = 7 * 86_400
    assert due == f"/sync/due?due={reduced_at + window + 1}"
    read = _summary_fields(typed)

    clock.set(reduced_at + window)
    assert unlocked.get(due, headers=htmx()).status_code == 204
    assert "toggle-warning" in _summary_fields(_preview(unlocked, licenses, 10))["shown_verdict"]
    clock.set(reduced_at + window + 1)
    assert unlocked.get(due, headers=htmx()).status_code == 286
    assert _summary_fields(_preview(unlocked, licenses, 10))["shown_verdict"] == ""

    assert _save(unlocked, csrf, licenses, 10, read, confirm_warnings="yes").status_code == 302
    assert "What R6 said of this change no longer holds." in _flashes(unlocked, account)


def test_the_summarys_own_second_is_an_automatic_reload_falling_due_R24(unlocked, csrf, server, clock):
    """10 iSC running 5 iSC a month and a 10 iSC key held for reload at 28 days: the summary is worked out again at
    the second the server redeems the key (its balance then holds it)."""
    from .live import reloading_account

    account, reload_at = reloading_account(unlocked, csrf, server)
    page = unlocked.get(account).data.decode()
    [pbx] = {link for link in re.findall(r'href="(/accounts/[^"]+/pbx/[0-9a-f-]{36})"', page)}
    licenses = pbx + "/licenses"
    server.stop()  # a reduction (R14 never refuses it): the reload is the summary's next second
    typed = _preview(unlocked, licenses, 9)
    assert _summary_due(typed) == f"/sync/due?due={reload_at}"
    read = _summary_fields(typed)
    clock.set(reload_at)
    assert unlocked.get(_summary_due(typed), headers=htmx()).status_code == 286
    again = _preview(unlocked, licenses, 9)
    balance = re.compile(r"Balance (\d+\.\d{3}) iSC")
    # a month of running spent about 5 iSC of the 10 shown; the 10 iSC key redeemed at this second is in the balance
    assert float(balance.search(text(typed))[1]) == 10.0 and float(balance.search(text(again))[1]) > 14
    # a month read on: the draft runs from now, not from when it was read, so its end of credit came sooner
    assert int(_summary_fields(again)["shown_ends"]) < int(read["shown_ends"])
    assert _save(unlocked, csrf, licenses, 9, read).status_code == 302
    assert "The credit now ends on" in _flashes(unlocked, account)


def test_a_due_timer_asked_with_no_second_is_a_bad_request(unlocked):
    for bad in ("", "soon", "-5", "1e9", "1" * 13):
        assert unlocked.get(f"/sync/due?due={bad}").status_code == 400
        fired = unlocked.get(f"/sync/due?due={bad}", headers=htmx())  # htmx: an error partial, and no event
        assert "HX-Trigger" not in fired.headers
