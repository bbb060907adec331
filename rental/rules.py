"""Policy checks both sides run (R1, R2, R3, R6, R7, R8, R14): each refusal says what would fix it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering
from typing import Iterable, Mapping

from .errors import RuleViolation
from .money import SECONDS_PER_DAY, format_milli, ticks_to_milli_ceil
from .pricing import PriceList, rentability_problem

PLATFORMS = ("vmware", "hyper-v", "hardware", "cloud")
MODES = ("rental", "purchased")

#: Default policy; the server's settings may change each (SPEC "our decision" parts).
MIN_CREDIT_DAYS = 30  # R14
TOGGLE_WINDOW_S = 7 * SECONDS_PER_DAY  # R6: reduce-then-restore within 7 days
TOGGLE_PERIOD_S = 90 * SECONDS_PER_DAY  # R6: occurrences counted over 90 days
TOGGLE_REFUSE_AT = 3  # R6: the 3rd occurrence in the period is refused
RETENTION_S = 2 * 31_557_600  # R19: 24 months after the last charge
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
    match = _FIRMWARE.match(text) if isinstance(text, str) else None
    if not match:
        raise RuleViolation("bad-op", f"{text!r} is not a firmware version: write it like 13r1, 13r2sr5 or 14r1.")
    major, release, sr = match.groups()
    return Firmware(int(major), int(release), int(sr or 0))


def check_firmware(text: str) -> Firmware:
    """Rental needs firmware 13r1 or later (R1)."""
    firmware = parse_firmware(text)
    if firmware < RENTAL_MIN_FIRMWARE:
        raise RuleViolation(
            "R1",
            f"Firmware {firmware} is older than 13r1, the first version that supports rental. "
            "Update the PBX to 13r1 or later, then put it in rental mode.",
        )
    return firmware


def check_platform(platform: str, cloud_contract: bool) -> None:
    """A rental PBX runs on VMware, Hyper-V, vendor hardware, or in the cloud with a contract (R7)."""
    if platform not in PLATFORMS:
        raise RuleViolation(
            "R7",
            f"Platform {platform!r} cannot run rented licenses: use VMware or Hyper-V virtualisation, "
            "dedicated vendor hardware, or the vendor's cloud (with a cloud contract).",
        )
    if platform == "cloud" and not cloud_contract:
        raise RuleViolation(
            "R7",
            "A cloud installation needs a cloud contract on the account. Record the contract on the "
            "account first, or install the PBX on VMware, Hyper-V or vendor hardware.",
        )


def check_mode(mode: str, items: Mapping[str, int]) -> None:
    """A PBX runs only rented or only purchased licenses, never both (R8)."""
    if mode not in MODES:
        raise RuleViolation("bad-op", f"Mode {mode!r} is unknown: a PBX is either 'rental' or 'purchased'.")
    if mode == "purchased" and any(qty > 0 for qty in items.values()):
        raise RuleViolation(
            "R8",
            "This PBX runs purchased licenses; rented licenses cannot be mixed with them on one PBX. "
            "Register a separate PBX in rental mode for the rented licenses.",
        )


def check_items(items: Mapping[str, int], pricelist: PriceList) -> list[RuleViolation]:
    """Every problem of a desired rental configuration, one per item (R2, R3, quantities)."""
    problems: list[RuleViolation] = []
    for ref, qty in items.items():
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0 or qty > MAX_QTY:
            problems.append(RuleViolation(
                "bad-op", f"The quantity of {ref} must be a whole number from 0 to {MAX_QTY:,}.", ref=ref))
            continue
        item = pricelist.get(ref)
        if item is None:
            problems.append(RuleViolation(
                "not-found", f"{ref} is not on price list {pricelist.version}: check the reference.", ref=ref))
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


def check_min_credit(balance: int, rate: int, days: int = MIN_CREDIT_DAYS, locale: str = "en") -> None:
    """Licenses are activated only when the credit covers them for days (R14)."""
    missing = credit_shortfall_milli(balance, rate, days)
    if missing:
        raise RuleViolation(
            "R14",
            f"The credit does not cover this configuration for {days} days. "
            f"Load at least {format_milli(missing, locale)} more, then try again.",
        )


@dataclass(frozen=True)
class Reduction:
    """A lowered quantity of an item on a PBX, remembered to detect reduce-then-restore (R6)."""

    at: int
    pbx_id: str
    ref: str
    from_qty: int
    to_qty: int


def reductions(pbx_id: str, current: Mapping[str, int], desired: Mapping[str, int], at: int) -> list[Reduction]:
    """The reductions a change from current to desired makes."""
    return [
        Reduction(at, pbx_id, ref, qty, desired.get(ref, 0))
        for ref, qty in sorted(current.items())
        if desired.get(ref, 0) < qty
    ]


def restored_refs(
    history: Iterable[Reduction],
    pbx_id: str,
    current: Mapping[str, int],
    desired: Mapping[str, int],
    at: int,
    window_s: int = TOGGLE_WINDOW_S,
) -> list[str]:
    """Items this change raises again within window_s of reducing them: reduce-then-restore (R6)."""
    recent = {r.ref for r in history if r.pbx_id == pbx_id and at - r.at <= window_s and r.at <= at}
    return sorted(ref for ref, qty in desired.items() if qty > current.get(ref, 0) and ref in recent)


def check_toggling(
    refs: list[str],
    occurrences_in_period: int,
    refuse_at: int = TOGGLE_REFUSE_AT,
) -> None:
    """Refuse a restore that would be the refuse_at-th occurrence in the period (R6)."""
    if refs and occurrences_in_period + 1 >= refuse_at:
        listed = ", ".join(refs)
        raise RuleViolation(
            "R6",
            f"Raising {listed} again so soon after reducing it would be reduce-then-restore number "
            f"{occurrences_in_period + 1} in the period: rented licenses must run continuously. "
            "Keep the configuration steady; size it for the regular need instead of switching it.",
            ref=refs[0],
        )


def toggling_warning(refs: list[str]) -> str | None:
    """The warning the app shows before queuing a restore (R6), or None."""
    if not refs:
        return None
    return (
        f"Raising {', '.join(refs)} again soon after reducing it counts as reduce-then-restore (R6): "
        "rented licenses must run continuously, and repeated occurrences are refused."
    )


# --- whole decisions, the same on the server and in the offline app ------------------------

@dataclass(frozen=True)
class Policy:
    """The server's policy settings for the "our decision" parts of SPEC."""

    min_credit_days: int = MIN_CREDIT_DAYS  # R14
    toggle_window_s: int = TOGGLE_WINDOW_S  # R6
    toggle_period_s: int = TOGGLE_PERIOD_S  # R6
    toggle_refuse_at: int = TOGGLE_REFUSE_AT  # R6
    retention_s: int = RETENTION_S  # R19


@dataclass(frozen=True)
class PbxFacts:
    """What the rules need to know of a PBX."""

    pbx_id: str
    mode: str
    platform: str
    firmware: str
    licenses: Mapping[str, int]


def check_pbx(mode: str, platform: str, firmware: str, cloud_contract: bool) -> None:
    """A PBX may be registered or edited like this (R1, R7 for a rental PBX; a firmware must parse)."""
    if mode not in MODES:
        raise RuleViolation("bad-op", f"Mode {mode!r} is unknown: a PBX is either 'rental' or 'purchased'.")
    if mode == "rental":
        check_firmware(firmware)
        check_platform(platform, cloud_contract)
    else:
        parse_firmware(firmware)


@dataclass(frozen=True)
class LicenseVerdict:
    """What a desired configuration would do: problems refuse it, warnings only inform."""

    problems: tuple[RuleViolation, ...]
    warnings: tuple[str, ...]
    restored: tuple[str, ...]  # refs raised again soon after a reduction (R6)
    new_rate: int  # ticks/s of the whole account after the change, at the given price list
    resume: bool  # the change lifts a suspension (R14, R18)

    @property
    def ok(self) -> bool:
        return not self.problems


def evaluate_licenses(
    *,
    balance: int,
    rate: int,
    suspended: bool,
    other_rate: int,
    pbx: PbxFacts,
    desired: Mapping[str, int],
    pricelist: PriceList,
    cloud_contract: bool,
    history: Iterable[Reduction] = (),
    occurrences_in_period: int = 0,
    at: int,
    policy: Policy = Policy(),
    locale: str = "en",
) -> LicenseVerdict:
    """Judge set_licenses on a PBX exactly as the license server will (R1-R3, R6-R8, R14, R18).

    balance, rate and suspended describe the account settled to ``at``; other_rate is the
    rate of the account's other PBXs re-rated at pricelist (a connection event re-rates all).
    """
    problems: list[RuleViolation] = list(check_items(desired, pricelist))
    wanted = {ref: qty for ref, qty in desired.items() if isinstance(qty, int) and not isinstance(qty, bool) and qty > 0}
    if wanted:
        for check in (lambda: check_mode(pbx.mode, wanted),
                      lambda: check_firmware(pbx.firmware),
                      lambda: check_platform(pbx.platform, cloud_contract)):
            try:
                check()
            except RuleViolation as violation:
                problems.append(violation)
                break
    pbx_rate = 0
    for ref, qty in wanted.items():
        item = pricelist.get(ref)
        if item is not None:
            pbx_rate += 12 * item.monthly_milli * qty
    new_rate = other_rate + pbx_rate
    covered = credit_shortfall_milli(balance, new_rate, policy.min_credit_days) == 0
    if suspended:
        # Nothing runs, so compare with the configuration as it would run at these prices: a
        # reduction is always allowed (R19) and stays suspended unless covered; more needs R14.
        current_rate = other_rate + sum(
            12 * pricelist.items[ref].monthly_milli * qty
            for ref, qty in pbx.licenses.items() if ref in pricelist.items and qty > 0)
        raises = new_rate > current_rate
    else:
        raises = new_rate > rate
    if not problems and new_rate > 0 and raises and not covered:
        try:
            check_min_credit(balance, new_rate, policy.min_credit_days, locale)
        except RuleViolation as violation:
            problems.append(violation)
    warnings: list[str] = []
    restored = restored_refs(history, pbx.pbx_id, pbx.licenses, wanted, at, policy.toggle_window_s)
    if restored:
        try:
            check_toggling(restored, occurrences_in_period, policy.toggle_refuse_at)
            warnings.append(toggling_warning(restored))
        except RuleViolation as violation:
            problems.append(violation)
    resume = suspended and new_rate > 0 and covered and not problems
    return LicenseVerdict(tuple(problems), tuple(warnings), tuple(restored), new_rate, resume)


def resumes_after_credit(balance: int, configured_rate: int, suspended: bool, policy: Policy = Policy()) -> bool:
    """Loading iSC is a connection event: a suspended configuration resumes when covered (R14, R18)."""
    return suspended and configured_rate > 0 and credit_shortfall_milli(balance, configured_rate, policy.min_credit_days) == 0
