"""Offline field checks (DESIGN §6): each form field checked by the rental.validation function the server runs.

What an op may do (R1-R8, R14, R18...) is not decided here: services ask rental.ops on the projected
state (verified snapshot plus pending ops), the very call the license server makes.
"""

from __future__ import annotations

from typing import Callable

from rental import validation
from rental.errors import FieldError, RuleViolation
from rental.rules import check_pbx
from rental.reasons import N_

from .projection import AccountState, PbxState
from .errors import FIELD_OF_CODE, Problem, Refused


#: The words each form field goes by in messages (the reason's ``field`` param; screens translate it).
LABELS = {"name": N_("The name"), "contact_email": N_("The contact e-mail"),
          "cloud_contract": N_("The cloud contract"), "language": N_("The language"),
          "serial": N_("The serial number"), "hardware_model": N_("The hardware model"),
          "firmware": N_("The firmware")}
CUSTOMER_NAME, PBX_NAME = N_("The customer name"), N_("The PBX name")


def _valid(check: Callable, value, field: str, label: str | None = None):
    """A field checked by the same rental.validation function the server runs (bad-op), or Refused naming it,
    its reason kept as data."""

    try:
        return check(value, label or LABELS[field])
    except FieldError as exc:
        raise Refused([Problem.of(exc.reason, field)]) from None


class _EveryProblem:
    """Runs each field check and keeps every refusal, so a form shows all its errors at once (issue 11)."""

    def __init__(self):
        self.problems: list = []

    def run(self, check: Callable, *args):

        try:
            return check(*args)
        except Refused as refused:
            self.problems.extend(refused.problems)
            return None

    def raise_any(self) -> None:

        if self.problems:
            raise Refused(self.problems)


def account_fields(*, name=None, contact_email=None, cloud_contract=None, language=None, required: bool) -> dict:
    """The fields of create_account / update_account, checked as the server checks them (bad-op)."""
    fields: dict = {}
    every = _EveryProblem()
    if name is not None or required:
        fields["name"] = every.run(_valid, validation.text, name, "name", CUSTOMER_NAME)
    if contact_email is not None or required:
        fields["contact_email"] = every.run(_valid, validation.email, contact_email, "contact_email")
    if cloud_contract is not None or required:
        fields["cloud_contract"] = every.run(_valid, validation.boolean, cloud_contract, "cloud_contract")
    if language is not None or required:
        fields["language"] = every.run(_valid, validation.language, language, "language")
    every.raise_any()
    return fields


def pbx_fields(state: AccountState, *, name, serial, platform, firmware, mode, hardware_model=None) -> dict:

    """register_pbx fields, checked as the server checks their shape (bad-op), every problem at once; the rules
    (R1, R7, a serial twice) are the core's decision, asked next with the same call the server makes."""
    every = _EveryProblem()
    fields = {"name": every.run(_valid, validation.text, name, "name", PBX_NAME),
              "serial": every.run(_valid, validation.serial, serial, "serial"),
              "firmware": every.run(_valid, validation.firmware, firmware, "firmware"),
              "platform": platform, "mode": mode}
    if every.problems and fields["firmware"] is not None:
        # the form shows every problem at once: the rule the core would apply next (R1, R7) is said now too
        try:
            check_pbx(mode, platform, fields["firmware"], state.cloud_contract)
        except RuleViolation as violation:
            every.problems.append(Problem.of(violation, FIELD_OF_CODE.get(violation.code, "firmware")))
    every.raise_any()
    if hardware_model:
        fields["hardware_model"] = _valid(validation.hardware_model, hardware_model, "hardware_model")
    return fields


def pbx_update_fields(state: AccountState, pbx: PbxState, *, name=None, firmware=None, platform=None,
                      hardware_model=None, mode=None) -> dict:
    """update_pbx fields, checked for shape; what the PBX may become (R1, R7, R8) is the core's decision."""
    fields: dict = {}
    if name is not None:
        fields["name"] = _valid(validation.text, name, "name", PBX_NAME)
    if firmware is not None:
        fields["firmware"] = _valid(validation.firmware, firmware, "firmware")
    if platform is not None:
        fields["platform"] = platform
    if hardware_model is not None:
        fields["hardware_model"] = _valid(validation.hardware_model, hardware_model, "hardware_model")
    if mode is not None:
        fields["mode"] = mode
    return fields
