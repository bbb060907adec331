"""Offline checks (DESIGN §6): the rules the server runs (R1, R2, R6 warning, R7, R8, R14), run before queuing.

Each check calls the same rental.rules function the license server calls, on the projected
state (verified snapshot plus pending ops), so a mistake shows on site, not days later.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Mapping

from rental import billing
from rental.errors import RuleViolation
from rental.pricing import PriceList
from rental.rules import MODES, PLATFORMS, PbxFacts, check_pbx, evaluate_licenses

from .projection import AccountState, Book, PbxState
from .settings import LANGUAGES

MAX_TEXT = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _refuse(rule: str, message: str, field: str | None = None):
    from .services import Problem, Refused

    return Refused([Problem(rule, message, field=field)])


def _text(value, field: str, label: str, max_len: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _refuse("bad-op", f"The {label} is missing: type it.", field)
    value = value.strip()
    if len(value) > max_len or _CONTROL.search(value):
        raise _refuse("bad-op", f"The {label} must be one line of at most {max_len} characters.", field)
    return value


def account_fields(*, name=None, contact_email=None, cloud_contract=None, language=None, required: bool) -> dict:
    """The fields of create_account / update_account, checked as the server checks them (bad-op)."""
    fields: dict = {}
    if name is not None or required:
        fields["name"] = _text(name, "name", "customer name")
    if contact_email is not None or required:
        email = _text(contact_email, "contact_email", "contact e-mail", 254)
        if not _EMAIL.match(email):
            raise _refuse("bad-op", f"{email!r} is not an e-mail address: write it like name@example.com "
                                    "(reminders go there, R20).", "contact_email")
        fields["contact_email"] = email
    if cloud_contract is not None or required:
        if not isinstance(cloud_contract, bool):
            raise _refuse("bad-op", "Cloud contract is yes or no.", "cloud_contract")
        fields["cloud_contract"] = cloud_contract
    if language is not None or required:
        if language not in LANGUAGES:
            raise _refuse("bad-op", f"Language {language!r} is not offered: choose en or fr.", "language")
        fields["language"] = language
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
    fields = {"name": _text(name, "name", "PBX name"), "serial": _text(serial, "serial", "serial number", 100)}
    if platform not in PLATFORMS:
        raise _refuse("R7", f"Platform {platform!r} cannot run rented licenses: choose VMware, Hyper-V, vendor "
                            "hardware or the vendor's cloud.", "platform")
    if mode not in MODES:
        raise _refuse("bad-op", f"Mode {mode!r} is unknown: a PBX is either rental or purchased.", "mode")
    try:
        check_pbx(mode, platform, firmware if isinstance(firmware, str) else "", state.cloud_contract)
    except RuleViolation as violation:
        raise _violation(violation, "platform" if violation.rule == "R7" else "firmware") from None
    fields.update(platform=platform, firmware=firmware.strip(), mode=mode)
    if hardware_model:
        fields["hardware_model"] = _text(hardware_model, "hardware_model", "hardware model", 100)
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
        fields["name"] = _text(name, "name", "PBX name")
    if firmware is not None:
        fields["firmware"] = _text(firmware, "firmware", "firmware")
    if platform is not None:
        if platform not in PLATFORMS:
            raise _refuse("R7", f"Platform {platform!r} cannot run rented licenses: choose VMware, Hyper-V, vendor "
                                "hardware or the vendor's cloud.", "platform")
        fields["platform"] = platform
    if hardware_model is not None:
        fields["hardware_model"] = _text(hardware_model, "hardware_model", "hardware model", 100)
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
