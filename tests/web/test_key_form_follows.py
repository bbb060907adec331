"""The account page's key form answers as a key is typed (its amount, whether it restarts a stopped installation, the
end of credit with it: R11, R18, R16). That answer is worked out again after a sync or at the second the account
stops (the page's watch), and what it said travels with the form: a load whose outcome crossed since is said with
the save, in English and French, from reason codes. Against a live license server, the clock moved."""

from __future__ import annotations

import html
import re

from app.web.security import csrf_token
from app.web.state import EXTENSION

from .conftest import htmx
from .live import running_account, server, server_account, text  # noqa: F401  (server: a fixture)


def _answer(client, account: str, key: str) -> bytes:
    """The key form's answer, as the form asks for it (typing, a sync's event, the page's second)."""
    answer = client.post(account + "/key/preview", headers=htmx(),
                         data={"key": key, "csrf_token": csrf_token(client.application)})
    assert answer.status_code == 200
    return answer.data


def _said(page: bytes) -> dict[str, str]:
    """The hidden fields in which the answer says what it showed."""
    return {name: html.unescape(value) for name, value in
            re.findall(r'name="(key_shown[a-z_]*)" value="([^"]*)"', page.decode())}


def test_the_key_forms_answer_listens_to_the_pages_watch(unlocked, csrf, server):
    account, _ = running_account(unlocked, csrf, server)
    form = re.search(r'<div id="key-preview"[^>]*>', unlocked.get(account).data.decode())[0]
    assert "rentdesk:synced from:body" in form and "/key/preview" in form and "data-refresh" in form


def test_a_key_loaded_after_the_credit_ran_out_under_the_open_form_says_it_now_restarts_the_installation_R18(
        unlocked, csrf, server, clock, app):
    account, _ = running_account(unlocked, csrf, server, credit="10")  # two months at 5 iSC a month
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    [key, other] = server.issue_keys("10", 2)
    read = _said(_answer(unlocked, account, key))
    assert read["key_shown"] == "runs" and read["key_shown_ends"]
    assert "The credit then lasts until" in text(_answer(unlocked, account, key))
    clock.set(depletes_at + 3_600)  # R18: stopped while the form was open
    assert "This key restarts the stopped installation" in text(_answer(unlocked, account, key))

    assert unlocked.post(account + "/key", data={"key": key, "csrf_token": csrf, **read}).status_code == 302
    said = text(unlocked.get(account).data)
    assert "The figures you read were worked out for" in said
    assert "The credit ran out since: this key restarts the stopped installation." in said

    app.extensions[EXTENSION].language = "fr"
    unlocked.post(account + "/key", data={"key": other, "csrf_token": csrf, **read})
    said = text(unlocked.get(account).data)
    assert "Les chiffres que vous avez lus étaient calculés pour le" in said
    assert "Avec cette clé, le crédit dure désormais" in said


def test_a_key_loaded_on_what_its_answer_said_says_nothing_more(unlocked, csrf, server):
    account, _ = running_account(unlocked, csrf, server)
    [key] = server.issue_keys("10", 1)
    read = _said(_answer(unlocked, account, key))
    assert unlocked.post(account + "/key", data={"key": key, "csrf_token": csrf, **read}).status_code == 302
    said = text(unlocked.get(account).data)
    assert "Activation key queued" in said and "The figures you read were worked out for" not in said


def test_a_key_forms_record_edited_by_hand_is_a_clear_error_and_queues_nothing(unlocked, csrf, server):
    account, _ = running_account(unlocked, csrf, server)
    [key] = server.issue_keys("10", 1)
    read = _said(_answer(unlocked, account, key))
    for field, bad in (("key_shown", "free"), ("key_shown_at", ""), ("key_shown_ends", "-1")):
        answer = unlocked.post(account + "/key", data={"key": key, "csrf_token": csrf, **read, field: bad})
        assert answer.status_code == 200
        assert f"is not readable (field {field}): nothing was queued" in text(answer.data)
    assert "0 changes sent" in text(unlocked.post("/sync/run", data={"csrf_token": csrf}).data)


def test_a_delete_pages_record_of_the_amount_it_showed_edited_by_hand_is_a_clear_error_and_queues_nothing_R13(
        unlocked, csrf, server):
    """The delete page carries the balance it showed and its second (the consent, R13): a value there that is no
    whole number is said, and nothing is queued (the audit of the forms that show money while open)."""
    account, _ = running_account(unlocked, csrf, server)
    page = unlocked.get(account + "/delete").data.decode()
    typed = html.unescape(re.search(r'data-confirm-text="([^"]+)"', page)[1])
    shown = {"shown_milli": re.search(r'name="shown_milli" value="(\d+)"', page)[1],
             "shown_at": re.search(r'name="shown_at" value="(\d+)"', page)[1]}
    for field, bad in (("shown_milli", "99999999999999999999999"), ("shown_at", "soon")):
        answer = unlocked.post(account + "/delete", data={"confirm_amount": typed, "csrf_token": csrf,
                                                          **shown, field: bad})
        assert answer.status_code == 200
        assert "record of the amount it showed is not readable: nothing was queued" in text(answer.data)
    assert "0 changes sent" in text(unlocked.post("/sync/run", data={"csrf_token": csrf}).data)


def test_what_a_load_says_is_worked_out_at_the_second_it_is_queued_R18(unlocked, csrf, server, clock, app,
                                                                         monkeypatch):
    """The form's record is compared with the load in the transaction that queues it. A clock moving while the save
    runs (a second apart, or a sync landing in that very instant) cannot make the save say one outcome and queue
    the load at a second where another holds: here each read of the clock moves it an hour, and the stop falls
    between one read and the next, each in turn."""
    steady = clock.now
    for reads_before_the_stop in range(5):
        account, _ = running_account(unlocked, csrf, server, credit="10", name=f"Hôtel Azur {reads_before_the_stop}")
        account_id = account.rsplit("/", 1)[-1]
        depletes_at = server_account(server, account_id)["depletes_at"]
        [key] = server.issue_keys("10", 1)
        read = _said(_answer(unlocked, account, key))
        assert read["key_shown"] == "runs"
        clock.set(depletes_at - 1_800 - 3_600 * reads_before_the_stop)
        monkeypatch.setattr(clock, "now", lambda: clock.advance(3_600) - 3_600)  # each read an hour after the last
        assert unlocked.post(account + "/key", data={"key": key, "csrf_token": csrf, **read}).status_code == 302
        monkeypatch.setattr(clock, "now", steady)
        with app.extensions[EXTENSION].store.unit_of_work() as uow:
            [queued_at] = [op.created_at for op in uow.outbox.all_ops(account_id)
                           if op.kind == "redeem_key" and op.state == "pending"]
        said = text(unlocked.get(account).data)
        restarts = "this key restarts the stopped installation" in said
        assert restarts == (queued_at >= depletes_at), (reads_before_the_stop, queued_at - depletes_at, said)
        clock.set(depletes_at - 3_600 * 24 * 30)  # the next account's form is read while it runs


def test_a_stopped_accounts_banner_counts_the_key_loaded_offline_and_asks_only_for_what_is_still_missing_R18(
        unlocked, csrf, server, clock, app):
    """The R18 banner of a stopped account said "Load at least …" even once a key that restarts it was queued: it
    now says what the changes waiting for the sync do, and asks only for what they still leave missing."""
    account, _ = running_account(unlocked, csrf, server, credit="10")  # 5 iSC a month: a day costs 0.164 iSC
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    clock.set(depletes_at + 3_600)  # R18: stopped, offline
    meter = lambda: text(unlocked.get(account + "/meter").data)  # noqa: E731
    assert "Load at least 0.165 iSC: the configuration restarts at the next sync" in meter()

    [small, enough] = server.issue_keys("0.1", 1) + server.issue_keys("10", 1)
    assert unlocked.post(account + "/key", data={"key": small, "csrf_token": csrf}).status_code == 302
    assert "With the changes waiting for the next sync, load at least 0.065 iSC more" in meter()
    app.extensions[EXTENSION].language = "fr"
    assert "Avec les changements en attente de la prochaine synchronisation, chargez au moins 0,065 iSC de plus" \
        in meter()

    assert unlocked.post(account + "/key", data={"key": enough, "csrf_token": csrf}).status_code == 302
    said = meter()
    assert "les changements qui l’attendent redémarrent alors la configuration" in said and "Chargez" not in said
    app.extensions[EXTENSION].language = "en"
    said = meter()
    assert "stopped until the next sync: the changes waiting for it restart the configuration then" in said
    assert "Load at least" not in said and "Stopped: the credit is used up." in said  # the balance is still 0.000


def test_a_stopped_accounts_banner_asks_no_credit_when_the_changes_queued_rent_nothing_R18_R19(
        unlocked, csrf, server, clock):
    account, licenses = running_account(unlocked, csrf, server, credit="10")
    depletes_at = server_account(server, account.rsplit("/", 1)[-1])["depletes_at"]
    clock.set(depletes_at + 3_600)  # R18: stopped, offline
    form = {name: "0" for name in re.findall(r'name="(qty-[^"]+)"', unlocked.get(licenses).data.decode())}
    assert unlocked.post(licenses, data={**form, "csrf_token": csrf}).status_code == 302  # the rent ends (R19)
    said = text(unlocked.get(account + "/meter").data)
    assert "The changes waiting for the next sync leave nothing rented: no credit is needed for them." in said
    assert "Load at least" not in said
