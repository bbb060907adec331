"""Policy checks both sides run (R1, R2, R3, R6, R7, R8, R14): each refusal says what would fix it."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from functools import total_ordering
from typing import Any, Iterable, Mapping

from .errors import RuleViolation
from .money import SECONDS_PER_DAY, ticks_to_milli_ceil
from .pricing import PriceList, rentability_problem

PLATFORMS = ("vmware", "hyper-v", "hardware", "cloud")
MODES = ("rental", "purchased")

#: Default policy; the server's settings may change each (SPEC "our decision" parts).
MIN_CREDIT_DAYS = 30  # R14
RESUME_MIN_DAYS = 1  # R18: a suspended account resumes once its credit pays this many days
TOGGLE_WINDOW_S = 7 * SECONDS_PER_DAY  # R6: reduce-then-restore within 7 days
TOGGLE_PERIOD_S = 90 * SECONDS_PER_DAY  # R6: occurrences counted over 90 days
TOGGLE_REFUSE_AT = 3  # R6: the 3rd occurrence in the period is refused
RETENTION_S = 2 * 31_557_600  # R19: 24 months after the last charge
REMINDER_WEEKS = 7  # R20: weekly reminders from this many weeks before the end
REMINDER_LAST_S = SECONDS_PER_DAY  # R20: and one more this long before the end
MAX_QTY = 100_000

_FIRMWARE = re.compile(r"^\s*(\d{1,3})\s*r\s*(\d{1,3})(?:\s*sr\s*(\d{1,4}))?\s*$", re.IGNORECASE)


@total_ordering
@dataclass(frozen=True)
class Firmware:
    """A PBX firmware version: major, release, service release (R1)."""

    major: int
    release: int
    service_release: int = 0

    def __lt__(self, other: "Firmware") -> bool:
        return self.key < other.key

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.major, self.release, self.service_release)

    def __str__(self) -> str:
        sr = f"sr{self.service_release}" if self.service_release else ""
        return f"{self.major}r{self.release}{sr}"


RENTAL_MIN_FIRMWARE = Firmware(13, 1)


def parse_firmware(text: str) -> Firmware:
    """Read '13r1', '13r2sr5', '14r1' (case and spaces ignored) or say how it should look."""
    if type(text) is str:
        return _parse_firmware_text(text)
    return _parse_firmware(text)


@functools.lru_cache(maxsize=256)
def _parse_firmware_text(text: str) -> Firmware:
    """parse_firmware of a plain str, remembered (a PBX's firmware is checked at each of its set_licenses; a
    Firmware is immutable; a refusal is raised anew each time, never remembered)."""
    return _parse_firmware(text)


def _parse_firmware(text: str) -> Firmware:
    match = _FIRMWARE.match(text) if isinstance(text, str) else None
    if not match:
        raise RuleViolation.of("firmware-invalid", firmware=str(text)[:20] if isinstance(text, str) else "?")
    major, release, sr = match.groups()
    return Firmware(int(major), int(release), int(sr or 0))


def check_firmware(text: str) -> Firmware:
    """Rental needs firmware 13r1 or later (R1)."""
    firmware = parse_firmware(text)
    if firmware < RENTAL_MIN_FIRMWARE:
        raise RuleViolation.of("firmware-too-old", firmware=str(firmware))
    return firmware


def check_platform(platform: str, cloud_contract: bool) -> None:
    """A rental PBX runs on VMware, Hyper-V, vendor hardware, or in the cloud with a contract (R7)."""
    if platform not in PLATFORMS:
        raise RuleViolation.of("platform-refused", platform=str(platform)[:20])
    if platform == "cloud" and not cloud_contract:
        raise RuleViolation.of("cloud-needs-contract")


def check_mode(mode: str, items: Mapping[str, int]) -> None:
    """A PBX runs only rented or only purchased licenses, never both (R8)."""
    if mode not in MODES:
        raise RuleViolation.of("mode-unknown", mode=str(mode)[:20])
    if mode == "purchased" and any(qty > 0 for qty in items.values()):
        raise RuleViolation.of("purchased-mixing")


def check_items(items: Mapping[str, int], pricelist: PriceList) -> list[RuleViolation]:
    """Every problem of a desired rental configuration, one per item (R2, R3, quantities)."""
    problems: list[RuleViolation] = []
    for ref, qty in items.items():
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0 or qty > MAX_QTY:
            problems.append(RuleViolation.of("quantity-invalid", ref=ref, max=MAX_QTY))
            continue
        item = pricelist.get(ref)
        if item is None:
            problems.append(RuleViolation.of("item-unknown", ref=ref, version=pricelist.version))
            continue
        if qty > 0:
            problem = rentability_problem(item)
            if problem is not None:
                problems.append(problem)
    return problems


def required_ticks(rate: int, days: int = MIN_CREDIT_DAYS) -> int:
    """Credit needed to run rate for days (R14)."""
    return rate * days * SECONDS_PER_DAY


def credit_shortfall_milli(balance: int, rate: int, days: int = MIN_CREDIT_DAYS) -> int:
    """Milli-iSC missing for the credit to cover rate for days (0 when enough), rounded up."""
    missing = required_ticks(rate, days) - balance
    return ticks_to_milli_ceil(missing) if missing > 0 else 0


@dataclass(frozen=True)
class Reduction:
    """A lowered quantity of an item on a PBX, remembered by the PBX's serial to detect reduce-then-restore (R6).

    The history follows the serial, not the PBX's id: removing a PBX and registering it again
    (on any account of the partner) continues it.
    """

    at: int
    serial: str
    ref: str
    from_qty: int
    to_qty: int


def reductions(serial: str, current: Mapping[str, int], desired: Mapping[str, int], at: int) -> list[Reduction]:
    """The reductions a change from current to desired makes (removing a PBX reduces all to zero)."""
    return [
        Reduction(at, serial, ref, qty, desired.get(ref, 0))
        for ref, qty in sorted(current.items())
        if desired.get(ref, 0) < qty
    ]


def open_reductions(
    history: Iterable[Reduction],
    serial: str,
    ref: str,
    current_qty: int,
    at: int,
    window_s: int = TOGGLE_WINDOW_S,
) -> list[Reduction]:
    """The reductions of one item on one serial still *open* at second `at` (R6): made within window_s, and not
    yet reached into by an increase.

    Increases are not stored: they are read from the reductions themselves. Between two reductions of an item
    the quantity only rose (every lowering is a reduction), from the first's ``to_qty`` to the next one's
    ``from_qty``; after the last, up to ``current_qty``. An increase reaches into a reduction when it rises above
    the reduction's ``to_qty``, so every open reduction whose ``to_qty`` lies below the quantity the item then rose
    to is closed. The history must list one serial's reductions in the order they were made (same-second ones too).
    """
    found: list[Reduction] = []
    for made in history:
        if made.serial != serial or made.ref != ref or made.at > at or at - made.at > window_s:
            continue
        found = [still for still in found if still.to_qty >= made.from_qty]  # the rise before it closed these
        found.append(made)
    return [still for still in found if still.to_qty >= current_qty]


def window_leaves_at(history: Iterable[Reduction], serial: str, at: int, window_s: int = TOGGLE_WINDOW_S) -> int | None:
    """The first second after ``at`` at which a reduction of this serial made within the window leaves it (R6):
    a restore of it then no longer counts, so what R6 says of a change may change by time alone then."""
    return min((made.at + window_s + 1 for made in history
                if made.serial == serial and made.at <= at and at - made.at <= window_s), default=None)


def restored_refs(
    history: Iterable[Reduction],
    serial: str,
    current: Mapping[str, int],
    desired: Mapping[str, int],
    at: int,
    window_s: int = TOGGLE_WINDOW_S,
) -> list[str]:
    """The items this change restores (R6): those it raises into a reduction still open (made within window_s,
    not yet restored). A restore counts only up to the quantity held before the reduction and each reduction is
    restored once, so growth past it, or later, is at will (R15). One change restoring several items of a PBX is
    one occurrence: the caller counts one when this list is not empty."""
    history = tuple(made for made in history if made.serial == serial)
    restored = []
    for ref, qty in sorted(desired.items()):
        before = current.get(ref, 0)
        if qty <= before:
            continue
        if any(qty > still.to_qty for still in open_reductions(history, serial, ref, before, at, window_s)):
            restored.append(ref)
    return restored


def toggle_problem(refs: list[str], occurrences_in_period: int, refuse_at: int = TOGGLE_REFUSE_AT) -> RuleViolation | None:
    """A restore that would be the refuse_at-th occurrence in the period is refused (R6); else None."""
    if refs and occurrences_in_period + 1 >= refuse_at:
        return RuleViolation.of("toggle-refused", refs=list(refs), count=occurrences_in_period + 1, ref=refs[0])
    return None


@dataclass(frozen=True)
class Policy:
    """The server's thresholds for the "our decision" parts of SPEC; the signed price list carries them
    to the app (DESIGN §5 ``policy``), so its offline checks use the same values."""

    min_credit_days: int = MIN_CREDIT_DAYS  # R14
    resume_min_days: int = RESUME_MIN_DAYS  # R18
    toggle_window_s: int = TOGGLE_WINDOW_S  # R6
    toggle_period_s: int = TOGGLE_PERIOD_S  # R6
    toggle_refuse_at: int = TOGGLE_REFUSE_AT  # R6
    retention_s: int = RETENTION_S  # R19
    reminder_weeks: int = REMINDER_WEEKS  # R20
    reminder_last_s: int = REMINDER_LAST_S  # R20

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: Any) -> "Policy":
        """The policy a signed price list carries; a missing or malformed value keeps its default."""
        if not isinstance(data, dict):
            return cls()
        known = {name: value for name, value in data.items()
                 if name in cls.__dataclass_fields__ and type(value) is int and value >= 0}
        return cls(**known)


def check_pbx(mode: str, platform: str, firmware: str, cloud_contract: bool) -> None:
    """A PBX may be registered or edited like this (R1, R7 for a rental PBX; a firmware must parse). Every problem
    at once, the firmware's first (it names the refusal): a technician fixing "firmware too old" is not told only
    then that the cloud needs a contract."""
    if mode not in MODES:
        raise RuleViolation.of("mode-unknown", mode=str(mode)[:20])
    if mode == "rental":
        checks = (lambda: check_firmware(firmware), lambda: check_platform(platform, cloud_contract))
    else:
        checks = (lambda: parse_firmware(firmware), lambda: _known_platform(platform))
    problems = []
    for check in checks:
        try:
            check()
        except RuleViolation as refused:
            problems.extend(refused.problems)
    if problems:
        raise RuleViolation(problems)


def _known_platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise RuleViolation.of("platform-unknown", platform=str(platform)[:20], platforms=list(PLATFORMS))


def urgency_changes(ends_at: int | None, warn_s: int = 30 * 86_400) -> tuple[int, ...]:
    """The seconds a running account's urgency changes colour: the first with less than each horizon urgency uses
    left before its end of credit; a screen showing it is drawn again then (app/web/pages.py watch_until)."""
    if ends_at is None:
        return ()
    return ends_at - warn_s + 1, ends_at - min(7 * 86_400, warn_s) + 1


def urgency(status: str | None, remaining_seconds: int | None, warn_s: int = 30 * 86_400) -> str:
    """ok / warn / danger, the colour of a runtime wherever it is shown (the app, the customer's page R27): under
    the server's R14 horizon (MIN_CREDIT_DAYS) warns, under 7 days or suspended is urgent."""
    if status == "suspended":
        return "danger"
    if remaining_seconds is None:
        return "ok"
    if remaining_seconds < min(7 * 86_400, warn_s):
        return "danger"
    if remaining_seconds < warn_s:
        return "warn"
    return "ok"
