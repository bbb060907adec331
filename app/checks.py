"""Offline field checks (DESIGN §6): each form field checked by its op kind's declaration (rental.opkinds), the
checks the license server runs, with the form's words for the field.

What an op may do (R1-R8, R14, R18...) is not decided here: services ask rental.ops on the projected
state (verified snapshot plus pending ops), the very call the license server makes.
"""

from __future__ import annotations

from typing import Any, Mapping

from rental import opkinds
from rental import ops as _declared  # noqa: F401  (declares the op kinds)
from rental.errors import RuleViolation
from rental.rules import check_pbx
from rental.reasons import N_

from .projection import AccountState
from .errors import FIELD_OF_CODE


#: The words each form field goes by in messages (the reason's ``field`` param; screens translate it).
LABELS = {"name": N_("The name"), "contact_email": N_("The contact e-mail"),
          "cloud_contract": N_("The cloud contract"), "language": N_("The language"),
          "serial": N_("The serial number"), "hardware_model": N_("The hardware model"),
          "firmware": N_("The firmware")}
CUSTOMER_NAME, PBX_NAME = N_("The customer name"), N_("The PBX name")


def op_fields(kind: str, values: Mapping[str, Any], *, partial: bool = False,
              labels: Mapping[str, str] | None = None) -> dict:
    """An op's fields as a form gave them, checked by its kind's declaration as the server checks them (bad-op),
    every problem at once, each next to its field. ``partial``: a field left None is not given (an edit)."""
    given = {key: value for key, value in values.items() if value is not None or not partial}
    words = {**LABELS, **(labels or {})}
    cleaned, problems = opkinds.check_fields(kind, given, lambda _kind, spec: words.get(spec.name, spec.name),
                                             every=True, partial=partial)
    if problems:
        raise RuleViolation([reason.about(field) for field, reason in problems])
    return cleaned


def account_fields(kind: str, *, name=None, contact_email=None, cloud_contract=None, language=None,
                   required: bool) -> dict:
    """The account's own fields of an op (create_account, update_account), checked as the server checks them."""
    return op_fields(kind, {"name": name, "contact_email": contact_email, "cloud_contract": cloud_contract,
                            "language": language}, partial=not required, labels={"name": CUSTOMER_NAME})


def pbx_fields(kind: str, state: AccountState, *, name, serial, platform, firmware, mode,
               hardware_model=None) -> dict:
    """register_pbx fields, checked as the server checks their shape (bad-op), every problem at once; the rules
    (R1, R7, a serial twice) are the core's decision, asked next with the same call the server makes."""
    try:
        return op_fields(kind, {"name": name, "serial": serial, "firmware": firmware, "platform": platform,
                                "mode": mode, "hardware_model": hardware_model or None},
                         partial=True, labels={"name": PBX_NAME})
    except RuleViolation as refused:
        problems = list(refused.problems)
    if not any(problem.field == "firmware" for problem in problems):
        # the form shows every problem at once: the rule the core would apply next (R1, R7) is said now too
        try:
            check_pbx(mode, platform, str(firmware).strip(), state.cloud_contract)
        except RuleViolation as violation:
            problems.append(violation.reason.about(FIELD_OF_CODE.get(violation.code, "firmware")))
    raise RuleViolation(problems)


def pbx_update_fields(kind: str, *, name=None, firmware=None, platform=None, hardware_model=None,
                      mode=None) -> dict:
    """update_pbx fields, checked for shape; what the PBX may become (R1, R7, R8) is the core's decision."""
    return op_fields(kind, {"name": name, "firmware": firmware, "platform": platform,
                            "hardware_model": hardware_model, "mode": mode}, partial=True,
                     labels={"name": PBX_NAME})
