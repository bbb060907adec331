"""Ticks, parsing and formatting of iSC (SPEC arithmetic; R12, R21)."""

import pytest
from hypothesis import given, strategies as st

from rental.errors import AmountError
from rental.money import (
    SECONDS_PER_MONTH, TICKS_PER_MILLI, check_milli, format_milli, format_ticks, milli_to_ticks,
    monthly_milli_of_rate, parse_isc, rate_ticks_per_s, shares_milli_floor, ticks_to_milli_ceil,
    ticks_to_milli_floor,
)


def test_a_month_is_a_twelfth_of_the_julian_year():
    assert SECONDS_PER_MONTH * 12 == 365 * 86400 + 6 * 3600


def test_an_item_of_p_milli_per_month_costs_12p_ticks_per_second():
    # 1.234 iSC/month = 1234 milli → 14,808 ticks/s; over one month: 14,808 × 2,629,800 ticks
    assert rate_ticks_per_s(1234) == 14_808
    assert rate_ticks_per_s(1234) * SECONDS_PER_MONTH == 1234 * TICKS_PER_MILLI
    assert monthly_milli_of_rate(rate_ticks_per_s(1234, 7)) == 7 * 1234


@pytest.mark.parametrize("text, milli", [
    ("12.5", 12_500), ("12,5", 12_500), ("0.001", 1), ("1 234,567", 1_234_567),
    ("1\u00a0234,5", 1_234_500), ("1,234.5", 1_234_500), ("1.234,5", 1_234_500),
    ("  7 iSC ", 7_000), ("+3", 3_000), ("1234", 1_234_000), ("0", 0),
])
def test_amounts_are_read_as_typed_in_english_or_french(text, milli):
    assert parse_isc(text) == milli


@pytest.mark.parametrize("text, says", [
    ("", "No amount"), ("-5", "negative"), ("1.2345", "more than 3 decimals"),
    ("abc", "not an amount"), ("1.2.3", "not an amount"), ("12,34.5", "separators"),
    ("99999999999", "typo"), ("1e3", "not an amount"), ("nan", "not an amount"),
])
def test_bad_amounts_name_the_problem(text, says):
    with pytest.raises(AmountError, match=says):
        parse_isc(text)


def test_a_float_amount_is_a_type_error():
    with pytest.raises(TypeError):
        parse_isc(12.5)
    with pytest.raises(TypeError):
        milli_to_ticks(1.0)
    with pytest.raises(TypeError):
        rate_ticks_per_s(1000.0)
    with pytest.raises(TypeError):
        format_ticks(2.5)
    with pytest.raises(TypeError):
        check_milli(True)


def test_check_milli_refuses_negative_and_absurd_amounts():
    assert check_milli(5) == 5
    with pytest.raises(AmountError, match="negative"):
        check_milli(-1)
    with pytest.raises(AmountError, match="typo"):
        check_milli(10**13)


def test_display_rounds_down_to_the_milli_isc():
    one_milli_less_a_tick = TICKS_PER_MILLI * 1_234_568 - 1
    assert format_ticks(one_milli_less_a_tick) == "1,234.567 iSC"
    assert format_ticks(one_milli_less_a_tick, "fr") == "1\u00a0234,567 iSC"
    assert format_ticks(0) == "0.000 iSC"
    assert format_milli(5, "fr_FR", unit=False) == "0,005"


@given(st.integers(min_value=0, max_value=10**10))
def test_formatting_then_parsing_gives_back_the_milli_amount(milli):
    for locale in ("en", "fr"):
        assert parse_isc(format_milli(milli, locale)) == milli


@given(st.integers(min_value=0, max_value=10**18))
def test_floor_and_ceil_bracket_the_ticks(ticks):
    lo, hi = ticks_to_milli_floor(ticks), ticks_to_milli_ceil(ticks)
    assert lo * TICKS_PER_MILLI <= ticks <= hi * TICKS_PER_MILLI
    assert hi - lo in (0, 1)


def test_statement_lines_of_less_than_a_milli_each_add_up_to_the_total_shown():
    # three lines of 0.0007 iSC: each alone rounds down to 0.000, together they were charged 0.0021 → 0.002
    seven_tenths = 7 * TICKS_PER_MILLI // 10
    assert shares_milli_floor([seven_tenths] * 3) == [1, 1, 0]
    assert shares_milli_floor([]) == []
    assert shares_milli_floor([5 * TICKS_PER_MILLI]) == [5]


@given(st.lists(st.integers(min_value=0, max_value=10**15), max_size=40))
def test_shares_add_up_to_the_total_rounded_down_and_none_shows_more_than_its_amount_rounded_up(amounts):
    shares = shares_milli_floor(amounts)
    assert sum(shares) == sum(amounts) // TICKS_PER_MILLI  # never more than the exact sum (SPEC, arithmetic)
    for amount, share in zip(amounts, shares):
        assert ticks_to_milli_floor(amount) <= share <= ticks_to_milli_ceil(amount)


def test_shares_refuse_floats_and_negative_amounts():
    with pytest.raises(TypeError):
        shares_milli_floor([1.5])
    with pytest.raises(ValueError):
        shares_milli_floor([-1])
