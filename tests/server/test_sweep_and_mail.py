"""The sweep's reminders (R20): weekly from 7 weeks before the end and 1 day before, once per episode, en and fr.

Received by a real SMTP server (aiosmtpd) on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from tests.support.postgres import free_port

from .helpers import DAY, MONTH
from .smtp_sink import SmtpSink

WEEK = 7 * DAY


@pytest.fixture
def sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def settings(sink):
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": sink.port, "MAIL_FROM": "RentDesk <credit@rentdesk.example>"}


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
    assert first["Subject"] == "RentDesk: the credit of Boulangerie Émile runs out on 1 September 2027"
    body = first.get_content()
    assert "will be used up on 1 September 2027 at 18:00 (UTC), in 49 days" in body
    assert "Balance now: 8.049 iSC" in body  # 7 weeks of 5 iSC a month: 4,233,600 s × 60,000 ticks
    assert "Consumption: 5.000 iSC per month" in body
    assert "in 1 day" in received[-1].get_content()
    clock.set(end + 1)
    api.sweep()
    assert sink.take() == []


def test_french_accounts_get_french_reminders(api, clock, sink):
    account_id = api.running_account("1234.5", language="fr", name="Hôtel du Lac")
    end = _ends(api, account_id)
    clock.set(end - 7 * WEEK)
    api.sweep()
    [message] = sink.take()
    assert message["Subject"].startswith("RentDesk : le crédit de Hôtel du Lac sera épuisé le ")
    assert message["Content-Language"] == "fr"
    body = message.get_content()
    assert "Bonjour" in body and "Consommation : 5,000 iSC par mois" in body
    assert "Solde actuel : 8,049 iSC" in body


def test_a_late_sweep_sends_only_the_latest_reminder_due(api, clock, sink):
    account_id = api.running_account("100")
    end = _ends(api, account_id)
    clock.set(end - 3 * WEEK + 60)
    assert api.sweep().reminders_sent == 1
    assert "in 20 days" in sink.take()[0].get_content()
    clock.set(end - 3 * WEEK + 3 * DAY)
    assert api.sweep().reminders_sent == 0


def test_loading_credit_starts_a_new_episode_with_its_own_reminders(api, clock, sink):
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


def test_a_change_that_moves_the_end_keeps_the_episode(api, clock, sink):
    account_id = api.running_account("100")
    end = _ends(api, account_id)
    clock.set(end - 7 * WEEK)
    api.sweep()
    sink.take()
    api.set_licenses(account_id, {"01-00010-001": 9})  # the end moves a little later; same episode
    clock.set(_ends(api, account_id) - 7 * WEEK)
    assert api.sweep().reminders_sent == 0


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
    assert (report.suspended, report.reminders_sent) == (1, 0)
    assert sink.take() == []
