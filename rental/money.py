"""Money as integer ticks (SPEC, arithmetic; R12, R21): typed iSC amounts read and checked.

1 milli-iSC = 31,557,600 ticks, so an item of p milli-iSC per month costs exactly
12·p ticks per second. Decimal is used only to read amounts, never to compute. The units,
conversions and display live in units.py (re-exported here).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import AmountError
from .units import (  # noqa: F401  (money's public names, as before)
    MAX_ISC_AMOUNT, MAX_MILLI, SECONDS_PER_DAY, SECONDS_PER_MONTH, SECONDS_PER_YEAR, TICKS_PER_ISC, TICKS_PER_MILLI,
    format_milli, format_ticks, milli_to_ticks, monthly_milli_of_rate, rate_ticks_per_s, require_int,
    shares_milli_floor, ticks_to_milli_ceil, ticks_to_milli_floor,
)


_SPACES = re.compile(r"[\s\u00a0\u202f'_]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def parse_isc(text: str) -> int:
    """Read an iSC amount as typed ("12.5", "12,5", "1 234,5", "1,234.5") into milli-iSC.

    One separator is the decimal mark whichever it is; when both appear the last is the
    decimal mark and the others must group thousands. At most 3 decimals (a milli-iSC).
    """
    if isinstance(text, float):
        raise TypeError("an amount must be given as text or milli-iSC, never as a float")
    if not isinstance(text, str):
        raise TypeError(f"an amount must be text, not {type(text).__name__}")
    raw = text.strip()
    if raw.lower().endswith("isc"):
        raw = raw[:-3].strip()
    if not raw:
        raise AmountError("amount-empty")
    if raw.startswith("-"):
        raise AmountError("amount-negative", text=text.strip()[:40])
    if raw.startswith("+"):
        raw = raw[1:]
    compact = _SPACES.sub("", raw)
    if "." in compact and "," in compact:
        decimal_mark = "." if compact.rfind(".") > compact.rfind(",") else ","
        group_mark = "," if decimal_mark == "." else "."
        whole, _, frac = compact.rpartition(decimal_mark)
        groups = whole.split(group_mark)
        if not groups[0] or len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:]):
            raise AmountError("amount-separators", text=text.strip()[:40])
        compact = "".join(groups) + "." + frac
    else:
        compact = compact.replace(",", ".")
    if not _NUMBER.fullmatch(compact):
        raise AmountError("amount-invalid", text=text.strip()[:40])
    try:
        value = Decimal(compact)
    except InvalidOperation:  # pragma: no cover - the regex already refused it
        raise AmountError("amount-invalid", text=text.strip()[:40]) from None
    milli = value * 1000
    if milli != milli.to_integral_value():
        raise AmountError("amount-decimals", text=text.strip()[:40])
    milli_int = int(milli)
    if milli_int > MAX_MILLI:
        raise AmountError("amount-too-large", text=text.strip()[:40], max_milli=MAX_MILLI)
    return milli_int


def check_milli(milli: int, what: str = "amount") -> int:
    """Validate an amount already in milli-iSC: an int, not negative, not absurd."""
    require_int(milli, what)
    if milli < 0:
        raise AmountError("milli-negative", what=what, value=milli)
    if milli > MAX_MILLI:
        raise AmountError("milli-too-large", what=what, max_milli=MAX_MILLI)
    return milli
