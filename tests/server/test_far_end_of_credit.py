"""An end of credit past the calendar's last day (R16): 100,000 iSC on one 0.500 iSC-a-month IP port last 16,666
years. The customer's page (R27), its statement and the mail that the installation runs again (R18) say that end in
words, in the customer's language, instead of a server error (Python's calendar ends with the year 9999)."""

from __future__ import annotations

import re

import pytest

from rental.units import LAST_DATED_SECOND

from .helpers import IP_PORT
from .smtp_sink import sink, text_of  # noqa: F401 (fixtures)
from .test_customer_page import PUBLIC, current_token, text

FAR = {"en": "a day in the year 9999 or later", "fr": "un jour de l’an 9999 ou plus tard"}


@pytest.fixture
def settings(sink):  # noqa: F811 (the sink's fixture, with the public address the customer's link needs)
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": sink.port, "MAIL_FROM": "RentDesk <credit@rentdesk.example>",
            "PUBLIC_URL": PUBLIC + "/"}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_customer_page_says_an_end_past_the_year_9999_in_words(api, ctx, app, language):
    account_id = api.running_account("100000", items={IP_PORT: 1}, language=language)
    assert api.account(account_id)["depletes_at"] > LAST_DATED_SECOND
    web = app.test_client()
    page = web.get(f"/customer/{current_token(ctx, account_id)}")
    assert page.status_code == 200
    ends = re.search(r'data-testid="ends">([^<]*)<', page.get_data(as_text=True)).group(1)
    assert FAR[language] in text(ends)
    assert web.get(f"/customer/{current_token(ctx, account_id)}/statement.csv").status_code == 200


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_resume_mail_says_an_end_past_the_year_9999_in_words(api, clock, sink, language):  # noqa: F811
    account_id = api.running_account("10", items={IP_PORT: 1}, language=language)
    clock.set(api.account(account_id)["depletes_at"])
    assert api.sweep().suspended == 1
    sink.take()
    api.load(account_id, "100000")
    assert api.account(account_id)["depletes_at"] > LAST_DATED_SECOND
    report = api.sweep()
    assert report.mails_sent == 1
    [resumed] = sink.take()
    assert FAR[language] in text_of(resumed)
