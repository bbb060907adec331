"""The sweep's reminders (R20): weekly from 7 weeks before the current end and 1 day before, each once, en and fr.

Received by a real SMTP server (aiosmtpd) on 127.0.0.1; the server's clock is moved, never slept on.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from license_server import models
from tests.support.postgres import free_port

from .helpers import DAY, MONTH, new_id
from .smtp_sink import html_of, settings, sink, text_of  # noqa: F401 (fixtures)

WEEK = 7 * DAY


def _ends(api, account_id) -> int:
    return api.account(account_id)["depletes_at"]


def test_reminders_go_weekly_from_seven_weeks_before_the_end_and_one_day_before(api, clock, sink):
    account_id = api.running_account("100", email="emile@example.com")
    end = _ends(api, account_id)
    assert end == clock.now + 20 * MONTH
    clock.set(end - 7 * WEEK - 1)
    api.sweep()
    assert sink.take() == []
    received = []
    for at in [end - k * WEEK for k in range(7, 0, -1)] + [end - DAY]:
        clock.set(at)
        assert api.sweep().reminders_sent == 1
        api.sweep()  # a second pass at the same moment sends nothing more
        received += sink.take()
    assert len(received) == 8
    first = received[0]
    assert first["To"] == "emile@example.com"
    assert first["From"] == "RentDesk <credit@rentdesk.example>"
    assert first["Subject"] == "The iSC credit of Boulangerie Émile runs out on September 1, 2027"
    body = text_of(first)
    # 18:00 UTC is 20:00 in Paris (summer time): the customer's zone, Europe/Paris by default
    assert ('will be used up on September 1, 2027 at 20:00 (Central European Summer Time), in 49 days.'
            in body)
    assert "Balance now: 8.049 iSC" in body  # 7 weeks of 5 iSC a month: 4,233,600 s × 60,000 ticks
    assert "Consumption: 5.000 iSC per month" in body
    assert "buy iSC from Acme Telecom before that date" in body  # the partner the customer buys from
    assert "RentDesk app" not in body  # customers do not have it
    assert "<li>Balance now: 8.049 iSC</li>" in html_of(first)
    assert "in 1 day." in text_of(received[-1])
    clock.set(end + 1)
    api.sweep()
    [stopped] = sink.take()  # no more reminders: the mail that it stopped (R18, tests/server/test_customer_mails.py)
    assert "has stopped" in stopped["Subject"]


def test_french_accounts_get_french_reminders(api, clock, sink):
    account_id = api.running_account("1234.5", language="fr", name="Hôtel du Lac")
    end = _ends(api, account_id)
    clock.set(end - 7 * WEEK)
    api.sweep()
    [message] = sink.take()
    assert message["Subject"] == "Le crédit iSC de Hôtel du Lac sera épuisé le 30 juillet 2046"
    assert message["Content-Language"] == "fr"
    body = text_of(message)
    assert "Bonjour" in body and "Consommation : 5,000 iSC par mois" in body
    assert "Solde actuel : 8,049 iSC" in body
    assert "sera épuisé le 30 juillet 2046 à 02:27 (heure d’été d’Europe centrale), dans 49 jours." in body
    assert "achetez des iSC auprès de votre partenaire, Acme Telecom, avant cette date" in body
    assert "<p>Bonjour,</p>" in html_of(message)


def test_a_late_sweep_sends_only_the_latest_reminder_due(api, clock, sink):
    account_id = api.running_account("100")
    end = _ends(api, account_id)
    clock.set(end - 3 * WEEK + 60)
    assert api.sweep().reminders_sent == 1
    assert "in 20 days" in text_of(sink.take()[0])
    clock.set(end - 3 * WEEK + 3 * DAY)
    assert api.sweep().reminders_sent == 0


def test_loading_credit_moves_the_end_and_the_reminders_with_it(api, clock, sink):
    account_id = api.running_account("100")
    end = _ends(api, account_id)
    clock.set(end - 7 * WEEK)
    api.sweep()
    assert len(sink.take()) == 1
    api.load(account_id, "10")  # two more months
    new_end = _ends(api, account_id)
    assert new_end > end
    clock.set(new_end - 7 * WEEK)
    assert api.sweep().reminders_sent == 1
    assert len(sink.take()) == 1


def test_reducing_licenses_starts_the_weekly_reminders_again_from_the_new_end(api, clock, sink):
    account_id = api.running_account("100")
    end = _ends(api, account_id)
    clock.set(end - 3 * WEEK)
    assert api.sweep().reminders_sent == 1
    sink.take()
    clock.advance(DAY)
    api.set_licenses(account_id, {"01-00010-001": 5})  # half the rent: the end moves about 20 days later
    new_end = _ends(api, account_id)
    assert new_end - end > 2 * WEEK
    sent_at = []
    for at in [new_end - k * WEEK for k in range(7, 0, -1)] + [new_end - DAY]:
        if at <= clock.now:
            continue  # slots of the new end already past: not sent late
        clock.set(at - 1)
        assert api.sweep().reminders_sent == 0
        clock.set(at)
        assert api.sweep().reminders_sent == 1, at
        sent_at.append(at)
    assert len(sent_at) >= 4  # w2 and w1 of the old end would have been all, before
    assert len(sink.take()) == len(sent_at)


def test_no_two_reminders_within_six_days_except_the_one_a_day_before(api, clock, sink):
    account_id = api.running_account("100")
    end = _ends(api, account_id)
    clock.set(end - 2 * WEEK)
    assert api.sweep().reminders_sent == 1
    api.load(account_id, "0.3")  # the end moves about 2 days later: its w2 slot falls 2 days after the last mail
    new_end = _ends(api, account_id)
    assert 1 * DAY < new_end - end < 3 * DAY
    clock.set(new_end - 2 * WEEK)
    assert api.sweep().reminders_sent == 0  # only 2 days after the last one
    clock.set(end - 2 * WEEK + 6 * DAY - 1)
    assert api.sweep().reminders_sent == 0
    clock.set(end - 2 * WEEK + 6 * DAY)  # 6 days after the last one: the slot held back goes now
    assert api.sweep().reminders_sent == 1
    clock.set(new_end - WEEK)  # w1: only 3 days after
    assert api.sweep().reminders_sent == 0
    clock.set(new_end - DAY)  # d1: the one exception to the 6 days
    assert api.sweep().reminders_sent == 1
    [_, _, last] = sink.take()
    assert "in 1 day." in text_of(last)


def test_nothing_is_recorded_while_the_mail_server_is_down_so_the_next_sweep_retries(api, clock, sink, ctx):
    account_id = api.running_account("100")
    clock.set(_ends(api, account_id) - 7 * WEEK)
    ctx.settings.values["SMTP_PORT"] = free_port()  # nobody listens there
    report = api.sweep()
    assert (report.reminders_sent, report.reminders_due) == (0, 1)
    ctx.settings.values["SMTP_PORT"] = sink.port
    assert api.sweep().reminders_sent == 1
    assert len(sink.take()) == 1


def test_a_suspended_or_idle_account_gets_no_reminder(api, clock, sink):
    running = api.running_account("100")
    idle = api.new_account()
    api.load(idle, "5")
    clock.set(_ends(api, running) + DAY)
    report = api.sweep()
    assert (report.suspended, report.reminders_sent, report.mails_sent) == (1, 0, 1)
    [stopped] = sink.take()  # the suspended one is told it stopped (R18), nothing else
    assert "has stopped" in stopped["Subject"]
    assert api.sweep().mails_sent == 0


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_sweeps_set_based_suspension_writes_what_rental_billing_settle_decides_to_the_tick(api, clock, ctx):
    """The sweep suspends due accounts set-based (one statement on PostgreSQL, one per table on SQLite); it must
    charge and stop each exactly as rental.billing.settle does (R10, R18, R25): the same ledger lines, balance,
    second and status; and note the stop in the history and queue its mail at that second (R18, R25)."""
    from license_server import batch, store
    from rental import billing

    from .helpers import IP_PORT, UC

    account_id = api.running_account("7.777", items={IP_PORT: 7, UC: 3})  # an odd balance: a remainder of ticks
    clock.advance(DAY)  # an op between: the period the sweep charges starts later than the account's opening
    api.set_licenses(account_id, {IP_PORT: 7, UC: 4})
    with ctx.engine.connect() as connection:
        before = batch.record_state(store.load(connection, account_id)).billing
    end = before.depletes_at
    decided = billing.settle(before, end)
    written_before = len(api.ledger_rows(account_id))
    clock.set(end)
    assert api.sweep().suspended == 1
    with ctx.engine.connect() as connection:
        after = batch.record_state(store.load(connection, account_id)).billing
    assert (after.balance, after.as_of, after.suspended, after.last_activity_at) == (
        decided.account.balance, decided.account.as_of, decided.account.suspended, decided.account.last_activity_at)
    keys = ("kind", "at", "ticks", "pbx_id", "ref", "qty", "period_start", "period_end", "seconds", "rate",
            "price_version")
    swept = [{key: row[key] for key in keys} for row in api.ledger_rows(account_id)[written_before:]]
    assert swept == [{key: store.ledger_row(account_id, entry)[key] for key in keys} for entry in decided.entries]
    assert len(swept) == 2 and sum(row["ticks"] for row in swept) > 0
    H, M = models.history.c, models.customer_mails.c
    with ctx.engine.connect() as connection:
        noted = connection.execute(select(H.at, H.kind, H.technician, H.actor).where(
            H.account_id == account_id).order_by(H.id.desc()).limit(1)).one()
        mailed = connection.execute(select(M.kind, M.about).where(M.account_id == account_id)).all()
    assert tuple(noted) == (end, "suspended", None, None)
    assert [tuple(row) for row in mailed] == [("stopped", end)]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_sweeps_running_at_once_stop_each_due_account_once(api, clock, ctx, sink):
    """Several gunicorn workers sweep at the same second: each due account is charged, noted and mailed once (R18,
    R25), whichever sweeper locks it first; an account not yet due is left running."""
    from license_server.sweep import sweep

    due = [api.running_account("5", name=f"Shop {n}") for n in range(3)]
    running = api.running_account("50", name="Still running")
    ends = {account_id: api.account(account_id)["depletes_at"] for account_id in due}
    clock.set(max(ends.values()))
    barrier = threading.Barrier(4)
    reports = []

    def sweeper() -> None:
        barrier.wait()
        reports.append(sweep(ctx))

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 4 and sum(report.suspended for report in reports) == 3
    stopped = sink.take()  # R18: each customer told once, whichever sweeper sent it
    assert len(stopped) == 3 and all("has stopped" in message["Subject"] for message in stopped)
    H, M, C = models.history.c, models.customer_mails.c, models.ledger.c
    with ctx.engine.connect() as connection:
        stops = connection.execute(select(H.account_id).where(H.kind == "suspended")).scalars().all()
        mails = connection.execute(select(M.account_id).where(M.kind == "stopped")).scalars().all()
        finals = [connection.execute(select(C.ticks).where(C.account_id == account_id, C.kind == "charge",
                                                           C.period_end == end)).scalars().all()
                  for account_id, end in ends.items()]
    assert sorted(stops) == sorted(mails) == sorted(due)
    assert [len(lines) for lines in finals] == [1, 1, 1]  # each final charge once (one rented line each)
    assert [api.account(account_id)["status"] for account_id in due + [running]] == ["suspended"] * 3 + ["active"]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_without_a_mail_server_the_sweep_counts_each_account_waiting_once_and_sends_nothing(api, clock, ctx, sink):
    """No LICENSE_SERVER_SMTP_HOST: nothing is sent or recorded, and the report still says how many accounts wait
    for a mail, each once, so an operator sees it: one stopped long ago (its stop R18, and its credit expiring in
    10 days R19: two mails, one account) and one running whose reminder is due (R20)."""
    stopped = api.running_account("5.001", name="Stopped")  # a remainder of ticks stays: retained credit (R19)
    at = _ends(api, stopped) + ctx.policy.retention_s - 10 * DAY
    clock.set(at - 30 * DAY)
    reminded = api.running_account("10", name="Reminded")  # about 60 days: its first reminder is due at `at`
    clock.set(at)
    ctx.settings.values["SMTP_HOST"] = ""
    first = api.sweep()
    assert (first.suspended, first.mails_sent, first.mails_due, first.reminders_sent, first.reminders_due) == (
        1, 0, 2, 0, 1)
    again = api.sweep()
    assert (again.suspended, again.mails_sent, again.mails_due, again.reminders_due) == (0, 0, 2, 1)
    assert sink.take() == []
    assert api.account(reminded)["status"] == "active"


@pytest.mark.parametrize("line_break", ["\x85", "\u2028", "\u2029"])
def test_a_name_holding_a_unicode_line_break_is_refused_like_any_control_character(api, line_break):
    """A name goes into a mail's Subject: a line break there would stop the sweep's mails (below)."""
    before = api.snapshot()
    answer = api.sync(api.op("create_account", new_id(), name=f"Hôtel{line_break}Bcc: x@evil.example",
                             contact_email="it@hotel.example", cloud_contract=False))
    assert (answer.result["status"], answer.result["rule"], answer.result["code"]) == (
        "rejected", "bad-op", "field-control")
    assert "on one line" in answer.result["message"]
    assert api.snapshot() == before


@pytest.mark.parametrize("override", ["\u202e", "\u2067", "\u202b"])
def test_a_name_holding_a_bidi_override_is_refused_so_no_mail_or_page_reads_backwards(api, override):
    """A right-to-left override in a name turns round what follows it wherever the name is shown: in the reminder's
    Subject "The iSC credit of X<U+202E> runs out on ..." the date read backwards (CVE-2021-42574). Refused like
    any control character, for the account's name and a PBX's; nothing is stored."""
    before = api.snapshot()
    answer = api.sync(api.op("create_account", new_id(), name=f"Clinique{override}gnp.exe",
                             contact_email="it@clinique.example", cloud_contract=False))
    assert (answer.result["status"], answer.result["rule"], answer.result["code"]) == (
        "rejected", "bad-op", "field-control")
    assert answer.result["params"]["field"] == "create_account.name"
    assert api.snapshot() == before
    account_id = api.new_account()
    revision = api.account(account_id)["revision"]
    renamed = api.sync(api.op("update_account", account_id, name=f"Hôtel{override}"))
    assert (renamed.result["status"], renamed.result["code"]) == ("rejected", "field-control")
    pbx = api.sync(api.op("register_pbx", account_id, pbx_id="p1", name=f"Bloc{override}A", serial="S-1",
                          platform="vmware", firmware="13r1", mode="rental"))
    assert (pbx.result["status"], pbx.result["code"]) == ("rejected", "field-control")
    assert api.account(account_id)["revision"] == revision


def test_a_name_with_a_line_break_stored_by_an_older_version_stops_no_mail_of_the_sweep(api, clock, ctx, sink):
    """Accounts are mailed in the order of their ids: one whose name a mail header refuses must not end the sweep's
    mails for every account after it (another partner's too); its own goes out, the Subject on one line."""
    emails = {api.running_account("100", email=f"{who}@example.com"): f"{who}@example.com" for who in ("ann", "bob")}
    first, second = sorted(emails)  # the one mailed first gets the name
    with ctx.engine.begin() as connection:
        connection.execute(models.accounts.update().where(models.accounts.c.id == first).values(
            name="Hôtel\u2028Bcc: x@evil.example"))
    clock.set(_ends(api, second) - 7 * WEEK)
    assert api.sweep().reminders_sent == 2
    received = sink.take()
    subjects = {message["To"]: message["Subject"] for message in received}
    assert subjects[emails[second]].startswith("The iSC credit of Boulangerie Émile runs out")
    assert subjects[emails[first]].startswith("The iSC credit of Hôtel Bcc: x@evil.example runs out")
    assert all(message["Bcc"] is None for message in received)
