"""The burn-down chart's amount axis (top, half, zero) reads round, distinct amounts down to a near-zero balance."""

import re

from app.web.chart import TICKS_PER_ISC, Series, render_burn_down, round_up
from app.web.accounts import _axis_amount

MILLI = TICKS_PER_ISC // 1000


def _labels(balance_ticks: int) -> list[str]:
    svg = render_burn_down([Series("current", ((0, balance_ticks), (3_600, 0)), "current")],
                           format_amount=_axis_amount, format_time=str, title="t")
    return re.findall(r'text-anchor="end">([^<]*)<', svg)[:3]  # the amounts; then the last time


def test_a_near_zero_balance_gets_three_distinct_axis_amounts_not_0_0_0001():
    assert _labels(MILLI // 3) == ["0", "0.001", "0.002"]
    assert _labels(MILLI) == ["0", "0.001", "0.002"]


def test_the_axis_stays_round_for_ordinary_balances():
    assert _labels(97 * TICKS_PER_ISC) == ["0", "50", "100"]
    assert _labels(2 * TICKS_PER_ISC + 1) == ["0", "1.250", "2.500"]
    assert round_up(3 * MILLI) == 10 * MILLI  # 2.5 and 5 milli have no whole half: 10 milli


def test_a_balance_that_is_zero_throughout_draws_no_axis_but_says_why():
    svg = render_burn_down([Series("current", ((0, 0), (3_600, 0)), "current")], format_amount=_axis_amount,
                           format_time=str, title="t", empty_text="No credit to draw")
    assert "No credit to draw" in svg and "<polyline" not in svg and "0.001" not in svg


def test_a_new_account_without_credit_says_so_where_the_chart_would_be_in_english_and_french(unlocked, csrf, app):
    from app.web.state import EXTENSION

    made = unlocked.post("/accounts/new", data={"name": "Hôtel Azur", "contact_email": "it@azur.example",
                                                "language": "en", "csrf_token": csrf})
    account = made.headers["Location"]
    assert "No credit to draw: load a key to see the balance over time." in unlocked.get(account).data.decode()
    app.extensions[EXTENSION].language = "fr"
    assert "Aucun crédit à tracer : chargez une clé pour voir l’évolution du solde." in unlocked.get(
        account).data.decode()
