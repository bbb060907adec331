"""Units of money (SPEC, arithmetic; R12, R21): the tick, the Julian year, exact integer conversions, and how
amounts are shown (3 decimals, rounded down). Imports nothing of the core: reasons and money both build on it.
"""

from __future__ import annotations

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


def shares_milli_floor(ticks: "list[int] | tuple[int, ...]") -> list[int]:
    """Amounts in ticks shown as whole milli-iSC that add up to their total rounded down (SPEC, arithmetic: a
    statement's total is split across its lines by largest remainder). Each share is its amount rounded down,
    or one milli more for the lines whose remainders are largest (earlier lines first on a tie), so no line
    ever shows more than it was charged rounded up, and the sum never more than the exact total."""
    parts = [require_int(t, "ticks") for t in ticks]
    if any(t < 0 for t in parts):
        raise ValueError("amounts to share are never negative")
    floors = [t // TICKS_PER_MILLI for t in parts]
    missing = sum(parts) // TICKS_PER_MILLI - sum(floors)  # < len(parts): each remainder is < 1 milli
    by_remainder = sorted(range(len(parts)), key=lambda i: (-(parts[i] % TICKS_PER_MILLI), i))
    for i in by_remainder[:missing]:
        floors[i] += 1
    return floors


def rate_ticks_per_s(monthly_milli: int, qty: int = 1) -> int:
    """The per-second rate of qty items priced monthly_milli per month (R12, R21)."""
    return 12 * require_int(monthly_milli, "monthly price") * require_int(qty, "quantity")


def monthly_milli_of_rate(rate: int) -> int:
    """Monthly consumption in milli-iSC of a rate in ticks per second (R16, R21)."""
    return require_int(rate, "rate") * SECONDS_PER_MONTH // TICKS_PER_MILLI


#: The last second every time zone can still name as a day (Python's calendar ends with the year 9999): 9999-12-30
#: 00:00 UTC. An end of credit may lie later (100,000 iSC pay one 0.500 iSC-a-month item for 16,666 years, R16):
#: screens then say so in words (a day in the year 9999 or later) instead of failing to name a day.
LAST_DATED_SECOND = 253_402_128_000


def is_dated(at: int) -> bool:
    """Whether second at can be shown as a day and a time in any zone (see LAST_DATED_SECOND)."""
    return require_int(at, "time") <= LAST_DATED_SECOND


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
