"""The other mails to customers: the installation stopped and resumed (R18), retained credit about to expire (R19).

Each is received by a real SMTP server (aiosmtpd), in English and French, at the second it falls
due and only once; the server's clock is moved, never slept on.
"""

from __future__ import annotations

import pytest

from license_server import models
from rental.money import format_milli
from tests.support.postgres import free_port

from .helpers import DAY, IP_PORT
from .smtp_sink import html_of, settings, sink, text_of  # noqa: F401 (fixtures)

RETENTION = 2 * 31_557_600  # R19's default: 24 months after the last charge


def _ends(api, account_id) -> int:
    return api.account(account_id)["depletes_at"]


def _stopped_account(api, clock, sink, **kwargs) -> tuple[str, int]:
    """A running account whose credit ran out, swept, with every mail so far taken from the sink."""
    account_id = api.running_account("10", **kwargs)
    end = _ends(api, account_id)
    clock.set(end)
    assert api.sweep().suspended == 1
    sink.take()
    return account_id, end


def test_the_customer_is_mailed_once_at_the_second_the_installation_stops(api, clock, sink):
    account_id = api.running_account("10", email="emile@example.com")
    end = _ends(api, account_id)
    clock.set(end - 1)
    api.sweep()
    assert [m["Subject"] for m in sink.take()] == ["The iSC credit of Boulangerie Émile runs out on "
                                                   "March 2, 2026"]  # the last reminder, late: never a stop
    clock.set(end)
    report = api.sweep()
    assert (report.suspended, report.mails_sent, report.reminders_sent) == (1, 1, 0)
    [message] = sink.take()
    assert message["To"] == "emile@example.com"
    assert message["Subject"] == "Boulangerie Émile: the telephone system has stopped, the iSC credit is used up"
    body = text_of(message)
    assert ('The iSC credit of the account "Boulangerie Émile" was used up on March 2, 2026 at 22:00 '
            '(Central European Standard Time). Since then all rented licenses of the account are deactivated') in body
    assert "Consumption of the configuration: 5.000 iSC per month" in body
    needs = api.account(account_id)["resume_needs_milli"]  # R18: the least load that resumes it, as the app shows
    assert needs > 0
    assert (f"starts again as soon as iSC are loaded (at least {format_milli(needs)}). Ask Acme Telecom for iSC."
            in body)
    assert "Acme Telecom is your partner for iSC" in body
    assert "<p>Hello,</p>" in html_of(message)
    clock.advance(DAY)
    assert api.sweep().mails_sent == 0
    assert sink.take() == []


def test_loading_credit_resumes_and_the_customer_is_mailed_that_it_runs_again(api, clock, sink):
    account_id, end = _stopped_account(api, clock, sink)
    clock.advance(3600)
    api.load(account_id, "100")
    assert api.account(account_id)["status"] == "active"
    assert api.sweep().mails_sent == 1
    [message] = sink.take()
    assert message["Subject"] == "Boulangerie Émile: the telephone system runs again"
    body = text_of(message)
    assert "have been active again since March 2, 2026 at 23:00 (Central European Standard Time)" in body
    assert "Balance now: 100.000 iSC" in body
    assert "The credit lasts until " in body
    assert api.sweep().mails_sent == 0


def test_a_french_customer_is_told_in_french_that_it_stopped_and_resumed(api, clock, sink):
    account_id = api.running_account("10", language="fr", name="Hôtel du Lac")
    clock.set(_ends(api, account_id))
    api.sweep()
    [stopped] = sink.take()
    assert stopped["Subject"] == ("Hôtel du Lac : l’installation téléphonique est arrêtée, "
                                  "le crédit iSC est épuisé")
    assert stopped["Content-Language"] == "fr"
    body = text_of(stopped)
    assert "a été épuisé le 2 mars 2026 à 22:00 (heure normale d’Europe centrale)" in body
    assert "Consommation de la configuration : 5,000 iSC par mois" in body
    needs = api.account(account_id)["resume_needs_milli"]
    assert (f"redémarre dès que des iSC sont chargés (au moins {format_milli(needs, 'fr')}). "
            "Demandez des iSC à Acme Telecom.") in body
    clock.advance(60)
    api.load(account_id, "100")
    api.sweep()
    [resumed] = sink.take()
    assert resumed["Subject"] == "Hôtel du Lac : l’installation téléphonique fonctionne de nouveau"
    assert "sont de nouveau actives depuis le 2 mars 2026 à 22:01 (heure normale" in text_of(resumed)
    assert "Solde actuel : 100,000 iSC" in text_of(resumed)


def test_a_stop_that_a_load_lifts_before_the_sweep_is_mailed_all_the_same_then_the_resume(api, clock, sink):
    account_id = api.running_account("10")
    end = _ends(api, account_id)
    clock.set(end + 600)  # no sweep ran: the load itself finds the credit used up ten minutes ago
    api.load(account_id, "100")
    assert api.sweep().mails_sent == 2
    stopped, resumed = sink.take()
    assert "has stopped" in stopped["Subject"] and "March 2, 2026 at 22:00 " in text_of(stopped)
    assert "runs again" in resumed["Subject"] and "since March 2, 2026 at 22:10 " in text_of(resumed)


def test_a_load_too_small_to_resume_and_the_end_of_the_rent_are_no_resume(api, clock, sink):
    account_id, end = _stopped_account(api, clock, sink)
    api.load(account_id, "0.1")  # less than R14's 30 days: still suspended
    assert api.account(account_id)["status"] == "suspended"
    assert api.sweep().mails_sent == 0
    assert api.set_licenses(account_id, {})["status"] == "applied"  # the rent ends: it does not run again
    assert api.sweep().mails_sent == 0
    assert sink.take() == []


def test_a_stop_waits_for_the_mail_server_and_then_goes_once(api, clock, sink, ctx):
    account_id = api.running_account("10")
    clock.set(_ends(api, account_id))
    ctx.settings.values["SMTP_PORT"] = free_port()  # nobody listens there
    report = api.sweep()
    assert (report.suspended, report.mails_sent, report.mails_due) == (1, 0, 1)
    ctx.settings.values["SMTP_PORT"] = sink.port
    assert api.sweep().mails_sent == 1
    assert api.sweep().mails_sent == 0
    assert len(sink.take()) == 1


def test_a_deleted_account_is_mailed_nothing_more(api, clock, sink):
    account_id = api.running_account("10")
    clock.set(_ends(api, account_id) + 60)  # it stopped; the sweep has not told the customer yet
    result = api.sync(api.op("delete_account", account_id, confirm_forfeit_milli=0)).result
    assert result["status"] == "applied", result
    assert api.sweep().mails_sent == 0
    assert sink.take() == []


def _retained_account(api, clock, **kwargs) -> tuple[str, int]:
    """An account whose rent ended with credit left: (account, the second its retention ends)."""
    account_id = api.running_account("100", **kwargs)
    clock.advance(10 * DAY)
    assert api.set_licenses(account_id, {})["status"] == "applied"
    return account_id, clock.now + RETENTION


def test_retained_credit_is_announced_30_days_before_it_expires_with_the_date_and_the_amount(api, clock, sink):
    account_id, expires_at = _retained_account(api, clock)
    clock.set(expires_at - 30 * DAY - 1)
    assert api.sweep().mails_sent == 0
    clock.set(expires_at - 30 * DAY)
    assert api.sweep().mails_sent == 1
    [message] = sink.take()
    # 100 iSC less 10 days of 5 iSC a month; 24 Julian months after the rent ended (10 days in, 01:00 in Paris)
    assert message["Subject"] == "Boulangerie Émile: 98.357 iSC of unused credit expire on January 11, 2028"
    body = text_of(message)
    assert ('The account "Boulangerie Émile" holds 98.357 iSC but has rented nothing since January 11, 2026. '
            "Unused credit is kept for a limited time after the last charge: these iSC expire on "
            "January 11, 2028 at 13:00 (Central European Standard Time), and are lost then.") in body
    assert "ask Acme Telecom." in body
    clock.advance(29 * DAY)
    assert api.sweep().mails_sent == 0
    clock.set(expires_at)
    report = api.sweep()
    assert (report.expired, report.mails_sent) == (1, 0)
    assert sink.take() == []


def test_the_retention_warning_is_in_french_for_a_french_customer(api, clock, sink):
    account_id, expires_at = _retained_account(api, clock, language="fr", name="Hôtel du Lac")
    clock.set(expires_at - 30 * DAY)
    api.sweep()
    [message] = sink.take()
    assert message["Subject"] == "Hôtel du Lac : 98,357 iSC de crédit inutilisé expirent le 11 janvier 2028"
    body = text_of(message)
    assert "détient 98,357 iSC mais ne loue plus rien depuis le 11 janvier 2026" in body
    assert "ces iSC expirent le 11 janvier 2028 à 13:00 (heure normale d’Europe centrale)" in body
    assert "adressez-vous à Acme Telecom." in body


def test_new_activity_moves_the_expiry_and_its_warning(api, clock, sink):
    account_id, expires_at = _retained_account(api, clock)
    clock.set(expires_at - 30 * DAY)
    api.sweep()
    assert len(sink.take()) == 1
    clock.advance(DAY)
    api.load(account_id, "1")  # a load is activity: retention starts again from it (R19)
    new_expiry = clock.now + RETENTION
    assert api.sweep().mails_sent == 0
    clock.set(new_expiry - 30 * DAY)
    assert api.sweep().mails_sent == 1
    assert sink.take()[0]["Subject"].endswith(": 99.357 iSC of unused credit expire on December 13, 2029")


def test_every_mail_is_recorded_once_with_what_it_was_about(api, clock, sink, ctx):
    account_id = api.running_account("10")
    end = _ends(api, account_id)
    clock.set(end - 7 * 86_400)
    api.sweep()
    clock.set(end)
    api.sweep()
    clock.advance(60)
    api.load(account_id, "100")
    api.sweep()
    M = models.customer_mails.c
    with ctx.engine.connect() as connection:
        rows = connection.execute(models.customer_mails.select().where(M.account_id == account_id)
                                  .order_by(M.id)).mappings().all()
    assert [(r["kind"], r["about"], r["sent_at"]) for r in rows] == [
        ("w1", end, end - 7 * 86_400), ("stopped", end, end), ("resumed", end + 60, end + 60)]
    assert len(sink.take()) == 3
    assert IP_PORT  # the account rents 10 IP ports (helpers.running_account)


def test_times_are_in_the_zone_the_server_is_set_to(api, clock, sink, ctx):
    ctx.settings.values["MAIL_TIMEZONE"] = "America/Montreal"
    account_id = api.running_account("10")
    clock.set(_ends(api, account_id))
    api.sweep()
    [stopped] = sink.take()
    assert "was used up on March 2, 2026 at 16:00 (Eastern Standard Time)." in text_of(stopped)


def test_a_zone_that_does_not_exist_is_refused_at_start():
    from license_server.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="MAIL_TIMEZONE must be a time zone name"):
        load_settings({"MAIL_TIMEZONE": "Europe/Atlantis"}, environ={})


def test_the_stop_and_resume_mails_of_an_op_are_the_history_lines_of_its_decision(api, clock, sink, ctx):
    """Events handled once (issue 20): an op that finds the credit used up and lifts it is mailed from the
    decision's own events (rental.ops.with_stops), the very lines the account's history records."""
    from license_server import notices

    account_id = api.running_account("10")
    end = _ends(api, account_id)
    clock.set(end + 600)  # no sweep ran: the load finds the stop ten minutes ago, and resumes
    api.load(account_id, "100")
    M, H = models.customer_mails.c, models.history.c
    with ctx.engine.connect() as connection:
        mails = connection.execute(models.customer_mails.select().where(M.account_id == account_id)
                                   .order_by(M.id)).mappings().all()
        lines = connection.execute(models.history.select().where(H.account_id == account_id)
                                   .order_by(H.id)).mappings().all()
    kinds = {"suspended": notices.STOPPED, "resumed": notices.RESUMED}
    told = [(kinds[line["kind"]], line["at"]) for line in lines if line["kind"] in kinds]
    assert told == [("stopped", end), ("resumed", end + 600)]
    assert [(mail["kind"], mail["about"]) for mail in mails] == told
