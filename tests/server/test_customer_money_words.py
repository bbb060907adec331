"""Every money sentence of the customer's page against the state it describes, English and French (issue 22, R27):
"credit used up" only beside a balance that shows 0.000, "kept until" never beside 0.000, a stopped account's credit
said as what it is; days in plural forms."""

from __future__ import annotations

import re

import pytest

from .helpers import IP_PORT
from .test_customer_page import current_token, settings, text, web  # noqa: F401 (fixtures)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def running(api, clock, language):
    return api.running_account("100", {IP_PORT: 10}, language=language)


def stopped_used_up(api, clock, language):
    account_id = api.running_account("10", {IP_PORT: 10}, language=language)
    clock.set(api.account(account_id)["depletes_at"] + 3_600)
    return account_id


def stopped_after_a_small_key(api, clock, language):
    account_id = api.running_account("60", {IP_PORT: 100}, language=language)  # 50 iSC a month, 1.643 a day
    clock.set(api.account(account_id)["depletes_at"] + 3_600)
    assert api.load(account_id, "0.5")["status"] == "applied"  # credited, too small to restart (R18)
    return account_id


def idle_with_credit(api, clock, language):
    account_id = api.running_account("100", {IP_PORT: 10}, language=language)
    assert api.set_licenses(account_id, {})["status"] == "applied"
    return account_id


def idle_under_a_milli(api, clock, language):
    account_id = stopped_used_up(api, clock, language)
    assert api.set_licenses(account_id, {})["status"] == "applied"  # what is left: under 0.001 iSC
    return account_id


CASES = [
    (running, "en", ["running"], ["used up", "kept until", "expire on"]),
    (running, "fr", ["en service", "le crédit s’épuise le"], ["épuisé", "conservé", "expirent"]),
    (stopped_used_up, "en", ["stopped: credit used up", "since the credit was used up", "Balance 0.000 iSC"],
     ["kept until", "expire on", "not enough credit"]),
    (stopped_used_up, "fr", ["arrêté : crédit épuisé", "depuis l’épuisement du crédit", "0,000 iSC"],
     ["conservé", "expirent", "insuffisant"]),
    (stopped_after_a_small_key, "en", ["Balance 0.500 iSC", "stopped: not enough credit",
                                       "until enough credit is loaded", "Left as they are, the 0.500 iSC expire on"],
     ["used up", "kept until"]),
    (stopped_after_a_small_key, "fr", ["0,500 iSC", "arrêté : crédit insuffisant",
                                       "jusqu’au chargement d’un crédit suffisant",
                                       "Laissés ainsi, les 0,500 iSC expirent le"], ["épuis", "conservé"]),
    (idle_with_credit, "en", ["nothing rented", "Nothing is rented: the credit left is kept until"],
     ["used up", "expire on"]),
    (idle_with_credit, "fr", ["Rien n’est loué : le crédit restant est conservé jusqu’au"], ["épuis", "expirent"]),
    (idle_under_a_milli, "en", ["Balance 0.000 iSC", "nothing rented"], ["kept until", "used up", "expire on"]),
    (idle_under_a_milli, "fr", ["0,000 iSC"], ["conservé", "épuis", "expirent"]),
]


@pytest.mark.parametrize("make, language, present, absent", CASES,
                         ids=[f"{case[0].__name__}-{case[1]}" for case in CASES])
def test_every_money_sentence_of_the_customers_page_agrees_with_its_state(api, ctx, web, clock,  # noqa: F811
                                                                          make, language, present, absent):
    account_id = make(api, clock, language)
    html = web.get(f"/customer/{current_token(ctx, account_id)}").get_data(as_text=True)
    # the credit's card: the history below rightly keeps "used up" for the second it happened
    page = text(re.search(r'<section class="card credit".*?</section>', html, re.S).group(0))
    for sentence in present:
        assert sentence in page, (sentence, page)
    for sentence in absent:
        at = page.find(sentence)
        assert at < 0, (sentence, page[max(0, at - 120):at + 60])
    assert "(s)" not in page


def test_the_customers_page_counts_days_with_plural_forms(ctx):
    from license_server.customer import Words
    from rental.reasons import Reason

    for language, one, three in (("en", "for 1 day.", "for 3 days."), ("fr", "pendant 1 jour.", "pendant 3 jours.")):
        words = Words(language, "Europe/Paris")
        assert one in words.reason(Reason.of("still-suspended", missing_milli=100, days=1))
        assert three in words.reason(Reason.of("still-suspended", missing_milli=100, days=3))
