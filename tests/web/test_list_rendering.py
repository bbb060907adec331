"""The accounts list's shortcuts (issue 27) say exactly what the slower calls they replace say: links, badges, and
words in the request's language, even when the language is swapped in the middle of a request."""

from __future__ import annotations

import re

from flask import render_template, render_template_string, url_for
from flask_babel import force_locale

from app.services import AccountList
from app.views import AccountSummary
from app.web.accounts import account_url, list_rows
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


#: a row of the list as the filters, globals and gettext draw it (the template before docs/benchmarks.md §16)
ROW_BY_FILTERS = """{% for a in accounts %}{% set u = urgency(a.status, a.remaining_seconds, a.warn_s) %}<tr>
<td class="name-cell"><a href="{{ account_url(a.account_id) }}" class="clip" title="{{ a.name }}"><strong>{{ a.name }}</strong></a><div class="muted small clip" title="{{ a.contact_email }}">{{ a.contact_email }}</div></td>
<td>{{ status_badge_of(a.status) }}</td>
<td class="num urgency-{{ u }}">{{ a.balance_ticks | isc }}
{% if a.pending_credit_milli %}<div class="small" style="color:var(--pending)">+{{ a.pending_credit_milli | milli }} {{ _("not yet confirmed") }}</div>{% endif %}</td>
<td class="num">{{ a.monthly_milli | milli }}</td>
<td class="urgency-{{ u }}">{{ a | runtime }}</td>
<td class="urgency-{{ u }} nowrap">{{ a.ends_at | date if a.ends_at else "—" }}</td>
<td>
{% if a.pending_ops %}<span class="badge pending">{{ ngettext("%(num)d pending", "%(num)d pending", a.pending_ops) }}</span>{% endif %}
{% if a.problem_ops %}<span class="badge danger">{{ ngettext("%(num)d to resolve", "%(num)d to resolve", a.problem_ops) }}</span>{% endif %}
</td>
</tr>{% endfor %}"""


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", row).replace("> <", "><").strip() for row in re.findall(r"<tr>.*?</tr>", body, re.S)]


def test_the_lists_rows_say_what_the_filters_say_for_every_kind_of_row_in_both_languages(app):
    """The rows are worked out in one pass in Python (accounts.list_rows, issue 27 §16): every cell must be the very
    words and markup the filters give, whatever the row holds (R16 runtimes near the end and at none, R18 suspended,
    queued credit and ops, an id and a name that need quoting and escaping)."""
    day = 86_400
    shapes = [  # status, balance ticks, remaining s, ends at, monthly milli, pending ops, problem ops, queued credit
        ("active", 123_456_789_012_345, 40 * day + 5 * 3_600, 1_803_456_000, 12_500, 0, 0, 0),
        ("active", 9_000_000_000, 3 * day, 1_800_259_200, 1_250, 1, 0, 250_000),
        ("active", 9_000_000, 2 * 3_600 + 7 * 60, 1_800_007_620, 1_250, 3, 2, 0),
        ("active", 10, 59, 1_800_000_059, 1_250, 0, 1, 1),
        ("suspended", 3, None, None, 7_000, 0, 0, 5_000_000),
        ("idle", 0, None, None, 0, 0, 0, 0),
        ("pending", 0, None, None, 0, 2, 0, 0),
        ("active", 31_557_600_000, 150 * day + 3_600, 1_812_963_600, 900, 0, 0, 0),
    ]
    summaries = [AccountSummary(
        account_id=account_id, name=name, contact_email=f"it+{n}@example.com", status=status, balance_ticks=balance,
        remaining_seconds=remaining, ends_at=ends, monthly_milli=monthly, pending_ops=pending, problem_ops=problems,
        pending_credit_milli=credit, is_confirmed=status != "pending", warn_s=14 * day)
        for n, ((status, balance, remaining, ends, monthly, pending, problems, credit), account_id, name) in enumerate(
            zip(shapes, ODD_IDS + ("plain-id", "other-id"), ("Café <Lumière> & Co", "O'Brien \"Ltd\"") * 4))]
    with app.test_request_context("/accounts/"):
        for lang in ("en", "fr"):
            with force_locale(lang):
                page = render_template("accounts/_list.html", accounts=AccountList(summaries, len(summaries)),
                                       rows=list_rows(summaries), query="")
                expected = render_template_string(ROW_BY_FILTERS, accounts=summaries)
                assert _rows(page) == _rows(expected) and len(_rows(page)) == len(shapes)
                if lang == "fr":
                    assert "3 en attente" in page and "2 à traiter" in page and "pas encore confirmés" in page
