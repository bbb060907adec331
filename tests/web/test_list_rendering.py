"""The accounts list's shortcuts (issue 27) say exactly what the slower calls they replace say: links, badges, and
words in the request's language, even when the language is swapped in the middle of a request."""

from __future__ import annotations

from flask import render_template_string, url_for
from flask_babel import force_locale

from app.web.accounts import account_url
from app.web.i18n import fmt_date, fmt_duration, language
from app.web.labels import status_badge

#: ids as the server makes them, and ids a damaged or hostile snapshot might carry
ODD_IDS = ("6c1d0a4e-3f5b-4a8e-9d2c-0b7e1f2a3c4d", "acc 1/2?x=y#z", "Lumière&Co", "a%20b", "<script>", "ü+~@:;=")


def test_an_account_link_is_the_one_url_for_builds_for_any_id(app):
    with app.test_request_context("/accounts/"):
        for account_id in ODD_IDS:
            assert account_url(account_id) == url_for("accounts.show", account_id=account_id)


def test_a_status_badge_is_the_span_the_macro_always_drew(app):
    with app.test_request_context("/accounts/"):
        for status in ("active", "idle", "suspended", "deleted", "pending", "<unknown>"):
            drawn = render_template_string('{% from "macros.html" import status_badge %}{{ status_badge(s) }}', s=status)
            assert drawn == str(status_badge(status))
        assert str(status_badge("suspended")) == '<span class="badge danger">suspended</span>'
        assert str(status_badge("<unknown>")) == '<span class="badge neutral">&lt;unknown&gt;</span>'


def test_the_words_follow_a_language_swapped_in_the_middle_of_a_request(app):
    with app.test_request_context("/accounts/"):
        assert (language(), fmt_duration(3 * 86_400)) == ("en", "3 days")
        with force_locale("fr"):
            assert (language(), fmt_duration(3 * 86_400)) == ("fr", "3 jours")
            assert fmt_date(1_800_000_000) == "15 janv. 2027"
        assert (language(), fmt_duration(86_400 + 7_200)) == ("en", "1 day 2 hours")
        assert fmt_date(1_800_000_000) == "Jan 15, 2027"
