"""Money as integer ticks (SPEC, arithmetic; R12, R21): parse and format iSC amounts.

1 milli-iSC = 31,557,600 ticks, so an item of p milli-iSC per month costs exactly
12·p ticks per second. Decimal is used only to read and show amounts, never to compute.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import AmountError

SECONDS_PER_YEAR = 31_557_600  # the Julian year
SECONDS_PER_MONTH = SECONDS_PER_YEAR // 12  # 2,629,800
SECONDS_PER_DAY = 86_400
TICKS_PER_MILLI = 31_557_600
TICKS_PER_ISC = 1000 * TICKS_PER_MILLI

#: The largest amount a single text may hold; beyond it a typo is far likelier than a purchase.
MAX_ISC_AMOUNT = 10_000_000
MAX_MILLI = MAX_ISC_AMOUNT * 1000


def require_int(value: object, what: str = "amount") -> int:
    """Return value if it is an int; a float (or bool) touching money is a programming error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def milli_to_ticks(milli: int) -> int:
    """Ticks held by an amount of milli-iSC."""
    return require_int(milli, "milli-iSC") * TICKS_PER_MILLI


def ticks_to_milli_floor(ticks: int) -> int:
    """Whole milli-iSC in ticks, rounded down (what may be shown or confirmed)."""
    return require_int(ticks, "ticks") // TICKS_PER_MILLI


def ticks_to_milli_ceil(ticks: int) -> int:
    """Whole milli-iSC needed to cover ticks, rounded up (what is missing)."""
    return -(-require_int(ticks, "ticks") // TICKS_PER_MILLI)


def rate_ticks_per_s(monthly_milli: int, qty: int = 1) -> int:
    """The per-second rate of qty items priced monthly_milli per month (R12, R21)."""
    return 12 * require_int(monthly_milli, "monthly price") * require_int(qty, "quantity")


def monthly_milli_of_rate(rate: int) -> int:
    """Monthly consumption in milli-iSC of a rate in ticks per second (R16, R21)."""
    return require_int(rate, "rate") * SECONDS_PER_MONTH // TICKS_PER_MILLI


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


_STYLES = {
    # locale: (group separator, decimal mark)
    "en": (",", "."),
    "fr": ("\u00a0", ","),
}


def format_milli(milli: int, locale: str = "en", *, unit: bool = True) -> str:
    """Show milli-iSC as iSC with 3 decimals in the locale's style (1,234.567 / 1 234,567)."""
    require_int(milli, "milli-iSC")
    group, mark = _STYLES.get(locale.split("_")[0].split("-")[0].lower(), _STYLES["en"])
    sign = "-" if milli < 0 else ""
    whole, frac = divmod(abs(milli), 1000)
    digits = f"{whole:,}".replace(",", group)
    text = f"{sign}{digits}{mark}{frac:03d}"
    return f"{text} iSC" if unit else text


def format_ticks(ticks: int, locale: str = "en", *, unit: bool = True) -> str:
    """Show ticks as iSC with 3 decimals, always rounded down (SPEC, arithmetic)."""
    return format_milli(ticks_to_milli_floor(ticks), locale, unit=unit)
