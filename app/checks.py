"""Offline checks (DESIGN §6): the rules the server runs (R1, R2, R6 warning, R7, R8, R14), run before queuing.

Each check calls the same rental.rules function the license server calls, on the projected
state (verified snapshot plus pending ops), so a mistake shows on site, not days later.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Mapping

from rental import billing, validation
from rental.errors import FieldError, RuleViolation
from rental.pricing import PriceList
from rental.rules import MODES, PLATFORMS, PbxFacts, check_pbx, evaluate_licenses

from .projection import AccountState, Book, PbxState


def _refuse(rule: str, message: str, field: str | None = None):
    from .services import Problem, Refused

    return Refused([Problem(rule, message, field=field)])


#: The words each form field goes by in messages.
LABELS = {"name": "The name", "contact_email": "The contact e-mail", "cloud_contract": "The cloud contract",
          "language": "The language", "serial": "The serial number", "hardware_model": "The hardware model",
          "firmware": "The firmware"}


def _valid(check: Callable, value, field: str, label: str | None = None):
    """A field checked by the same rental.validation function the server runs (bad-op), or Refused naming it."""
    try:
        return check(value, label or LABELS[field])
    except FieldError as exc:
        raise _refuse("bad-op", exc.message, field) from None


class _EveryProblem:
    """Runs each field check and keeps every refusal, so a form shows all its errors at once (issue 11)."""

    def __init__(self):
        self.problems: list = []

    def run(self, check: Callable, *args):
        from .services import Refused

        try:
            return check(*args)
        except Refused as refused:
            self.problems.extend(refused.problems)
            return None

    def raise_any(self) -> None:
        from .services import Refused

        if self.problems:
            raise Refused(self.problems)


def account_fields(*, name=None, contact_email=None, cloud_contract=None, language=None, required: bool) -> dict:
    """The fields of create_account / update_account, checked as the server checks them (bad-op)."""
    fields: dict = {}
    every = _EveryProblem()
    if name is not None or required:
        fields["name"] = every.run(_valid, validation.text, name, "name", "The customer name")
    if contact_email is not None or required:
        fields["contact_email"] = every.run(_valid, validation.email, contact_email, "contact_email")
    if cloud_contract is not None or required:
        fields["cloud_contract"] = every.run(_valid, validation.boolean, cloud_contract, "cloud_contract")
    if language is not None or required:
        fields["language"] = every.run(_valid, validation.language, language, "language")
    every.raise_any()
    return fields


def cloud_contract_still_needed(state: AccountState) -> None:
    """Removing the cloud contract while a rental PBX runs in the cloud would break R7."""
    for pbx in state.pbxs.values():
        if not pbx.removed and pbx.platform == "cloud" and pbx.mode == "rental":
            raise _refuse("R7", f"PBX {pbx.name} runs in the cloud, which needs the cloud contract (R7). Move or "
                                "remove that PBX first, then end the contract.", "cloud_contract")


def _violation(violation: RuleViolation, field: str):
    from .services import Problem, Refused

    return Refused([Problem.of(violation, field)])


def pbx_fields(state: AccountState, *, name, serial, platform, firmware, mode, hardware_model=None) -> dict:
    """register_pbx fields; rental mode needs firmware 13r1+ (R1) and a permitted platform (R7)."""
    every = _EveryProblem()
    fields = {"name": every.run(_valid, validation.text, name, "name", "The PBX name"),
              "serial": every.run(_valid, validation.serial, serial, "serial")}
    if platform not in PLATFORMS:
        every.problems.extend(_refuse("R7", f"Platform {platform!r} cannot run rented licenses: choose VMware, "
                                            "Hyper-V, vendor hardware or the vendor's cloud.", "platform").problems)
    if mode not in MODES:
        every.problems.extend(_refuse("bad-op", f"Mode {mode!r} is unknown: a PBX is either rental or purchased.",
                                      "mode").problems)
    firmware = every.run(_valid, validation.firmware, firmware, "firmware")
    if firmware is not None and platform in PLATFORMS and mode in MODES:
        try:
            check_pbx(mode, platform, firmware, state.cloud_contract)
        except RuleViolation as violation:
            every.problems.extend(_violation(violation, "platform" if violation.rule == "R7" else "firmware").problems)
    every.raise_any()
    fields.update(platform=platform, firmware=firmware, mode=mode)
    if hardware_model:
        fields["hardware_model"] = _valid(validation.hardware_model, hardware_model, "hardware_model")
    for other in state.pbxs.values():
        if not other.removed and other.serial == fields["serial"]:
            raise _refuse("bad-op", f"PBX {other.name} of this account already has serial {fields['serial']}: "
                                    "check the serial number.", "serial")
    return fields


def pbx_update_fields(state: AccountState, pbx: PbxState, *, name=None, firmware=None, platform=None,
                      hardware_model=None) -> dict:
    """update_pbx fields; the PBX as it would be after the edit must still pass R1 and R7."""
    fields: dict = {}
    if name is not None:
        fields["name"] = _valid(validation.text, name, "name", "The PBX name")
    if firmware is not None:
        fields["firmware"] = _valid(validation.firmware, firmware, "firmware")
    if platform is not None:
        if platform not in PLATFORMS:
            raise _refuse("R7", f"Platform {platform!r} cannot run rented licenses: choose VMware, Hyper-V, vendor "
                                "hardware or the vendor's cloud.", "platform")
        fields["platform"] = platform
    if hardware_model is not None:
        fields["hardware_model"] = _valid(validation.hardware_model, hardware_model, "hardware_model")
    if not fields:
        raise _refuse("bad-op", "Nothing to change: edit at least one field.")
    try:
        check_pbx(pbx.mode, fields.get("platform", pbx.platform), fields.get("firmware", pbx.firmware),
                  state.cloud_contract)
    except RuleViolation as violation:
        raise _violation(violation, "platform" if violation.rule == "R7" else "firmware") from None
    return fields


def judge_licenses(book: Book, state: AccountState, pbx: PbxState, desired: Mapping[str, int], prices: PriceList,
                   now: int):
    """evaluate_licenses on the projected state (R2, R3, R6, R7, R8, R14), plus the account as it would run after.

    Returns (verdict, account after the change, desired lines at the current list).
    """
    account = billing.project(state.billing, now)
    verdict = evaluate_licenses(
        balance=account.balance, rate=account.rate, suspended=account.suspended,
        other_rate=book.other_rate(state, pbx.pbx_id),
        pbx=PbxFacts(pbx.pbx_id, pbx.mode, pbx.platform, pbx.firmware, dict(pbx.licenses)),
        desired=desired, pricelist=prices, cloud_contract=state.cloud_contract,
        history=book.history, occurrences_in_period=0, at=now, policy=book.policy,
    )
    wanted = {ref: qty for ref, qty in desired.items()
              if isinstance(qty, int) and not isinstance(qty, bool) and qty > 0 and prices.get(ref) is not None}
    lines = billing.lines_for(pbx.pbx_id, wanted, prices)
    others = billing.rerate([line for line in account.lines if line.pbx_id != pbx.pbx_id], prices)
    after = billing.reconfigure(account, now, others + lines, resume=True if verdict.ok and verdict.resume else None).account
    after = replace(after, price_version=prices.version)
    return verdict, after, lines
