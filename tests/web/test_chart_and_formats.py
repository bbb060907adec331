"""The burn-down SVG is a pure function of points; amounts follow the locale (1 234,567 iSC in French)."""

from __future__ import annotations

import re

from flask_babel import force_locale

from app.web.chart import Series, burn_down_points, render_burn_down
from app.web.i18n import fmt_duration, fmt_isc, fmt_milli
from rental.money import TICKS_PER_MILLI


def test_the_burn_down_reaches_depletion_at_balance_over_rate():
    points = burn_down_points(now=1000, balance=100 * 7, rate=7, horizon=10_000)
    assert points == ((1000, 700), (1100, 0))


def test_a_configuration_that_runs_nothing_stays_flat():
    assert burn_down_points(now=0, balance=5, rate=0, horizon=50) == ((0, 5), (50, 5))


def test_the_chart_is_an_accessible_svg_with_one_line_per_series():
    svg = render_burn_down([Series("current", ((0, 1000), (10, 0))), Series("pending", ((0, 1000), (5, 0)), "pending", True)],
                           format_amount=str, format_time=str, title="Balance")
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title>Balance</title>" in svg
    assert svg.count("<polyline") == 2 and 'stroke-dasharray' in svg


def test_chart_coordinates_are_whole_pixels():
    svg = render_burn_down([Series("s", ((0, 3), (7, 1)))], format_amount=str, format_time=str, title="t")
    points = re.search(r'points="([^"]+)"', svg).group(1)
    assert all(part.isdigit() for pair in points.split() for part in pair.split(","))


def test_chart_text_is_escaped():
    svg = render_burn_down([Series("<b>", ((0, 1), (1, 0)))], format_amount=str, format_time=str, title="a&b")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "a&amp;b" in svg


def test_amounts_in_french_group_with_a_space_and_use_a_comma(app):
    with app.test_request_context(), force_locale("fr"):
        assert fmt_milli(1_234_567) == "1\u00a0234,567 iSC"
        assert fmt_isc(1_234_567 * TICKS_PER_MILLI + TICKS_PER_MILLI - 1) == "1\u00a0234,567 iSC"  # rounded down


def test_amounts_in_english(app):
    with app.test_request_context(), force_locale("en"):
        assert fmt_milli(1_234_567) == "1,234.567 iSC"


def test_runtime_reads_in_days_and_hours(app):
    with app.test_request_context(), force_locale("en"):
        assert fmt_duration(3 * 86_400 + 5 * 3600) == "3 days 5 hours"
        assert fmt_duration(None) == "no end (nothing running)"
