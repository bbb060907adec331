"""The app's error types, at the bottom of its layers: what a use case refuses, with every problem as data.

Use cases, the projection, the field checks and the screens all import them from here (no cycle).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Mapping, Sequence

from rental.errors import Refusal, RuleViolation
from rental.reasons import Reason, template_of


@dataclass(frozen=True)
class Problem:
    """One reason a change cannot be queued: the rule (e.g. "R14"), what is wrong and how to fix it.

    A problem the core decided carries its ``code`` and ``params`` (screens translate from them); the
    app's own problems still carry English ``message`` only.
    """

    rule: str
    message: str
    ref: str | None = None  # the price-list item concerned, for per-line display
    field: str | None = None  # the form field concerned (name, contact_email, firmware, ...), when known
    code: str | None = None
    params: Mapping[str, object] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, violation: "RuleViolation | Reason", field: str | None = None) -> "Problem":
        reason = violation.reason if isinstance(violation, RuleViolation) else violation
        ref = reason.params.get("ref")
        return cls(reason.rule, reason.message, ref if isinstance(ref, str) else None, field, reason.code,
                   dict(reason.params))


class Refused(Exception):
    """An edit the offline checks refuse; nothing was queued. ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[Problem], warnings: Sequence[Reason] = ()):
        problems = tuple(problems)
        super().__init__(" ".join(problem.message for problem in problems))
        self.problems = problems
        self.rule = problems[0].rule
        self.message = problems[0].message
        self.warnings = tuple(warnings)

    @classmethod
    def of(cls, refusal: Refusal, field: str | None = None) -> "Refused":
        """The core's refusal as the app's, each problem by its code (fields named when one is concerned)."""
        return cls([Problem.of(reason, field or FIELD_OF_CODE.get(reason.code)) for reason in refusal.problems])


#: The form field a core refusal concerns, so the form shows it next to that field.
FIELD_OF_CODE = {"firmware-invalid": "firmware", "firmware-too-old": "firmware", "platform-refused": "platform",
                 "cloud-needs-contract": "platform", "platform-unknown": "platform", "mode-unknown": "mode",
                 "serial-duplicate": "serial", "cloud-contract-in-use": "cloud_contract",
                 "still-renting": "mode", "forfeit-consent": "confirm_forfeit_milli",
                 "purchased-licenses": "purchased_removed"}


class NeedsConfirmation(Exception):
    """The edit is allowed but comes with warnings (R6) the technician must accept: call again with confirm=True."""

    def __init__(self, warnings: Sequence[Reason]):
        super().__init__(" ".join(warning.message for warning in warnings))
        self.warnings = tuple(warnings)


class NotFound(LookupError):
    """No such account, PBX or op in this store (maybe deleted, or not synced yet): a reason (rule "not-found",
    a code of rental.reasons, params) screens translate; the message is its English wording."""

    def __init__(self, code: str, **params):
        self.reason = Reason.of(code, **params)
        super().__init__(self.reason.message)


# =========================================================================== views


class SyncError(Exception):
    """The sync did not complete (offline, timeout, server error, refused token); nothing was lost. Its reason is
    data (rule "sync", a code of rental.reasons.SYNC_NOTICES); the message is its English wording."""

    def __init__(self, code: str, **params):
        self.reason = Reason("sync", code, params)
        super().__init__(self.reason.message)


#: The server's 401 codes for a token that was real but no longer works (DESIGN §5) -> the app's notice.
TOKEN_ENDED = {"token-revoked": "sync-token-revoked", "token-expired": "sync-token-expired"}


class ServerError(SyncError):
    """The server answered with an error document {error, message} and, from servers that say it as data, its
    reason {code, params}: then the screens word the server's reason from its code (``cause``), in their language;
    else its English message is quoted (``detail``)."""

    def __init__(self, status: int, code: str, message: str, reason: Reason | None = None):
        if status == 401 and code in TOKEN_ENDED:  # the vendor ended this token: say so plainly, ask for a new one
            super().__init__(TOKEN_ENDED[code])
        elif reason is not None and template_of(reason.code) is not None and reason.rule == "api":
            params = {name: value for name, value in reason.params.items() if name not in ("error", "status", "cause")}
            super().__init__("sync-token-refused-cause" if status == 401 else "sync-server-refused", error=code,
                             status=status, cause=reason.code, **params)
        else:
            super().__init__("sync-token-refused" if status == 401 else "sync-server-said", error=code, status=status,
                             detail=message)
        self.status, self.code, self.server_message = status, code, message


def stored(reason: Reason) -> str:
    """A reason as the text a store column keeps (JSON), so a screen translates it later from its code."""
    return json.dumps(reason.to_dict(), ensure_ascii=False, sort_keys=True)


def from_stored(text: str | None) -> Reason | None:
    """The reason a stored text holds, or None for plain words (what older versions stored)."""
    if not text or not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("code"), str) or not isinstance(data.get("params"), dict):
        return None
    return Reason.from_dict(data)


def words_of(text: str | None) -> str | None:
    """The English words of a stored text (a reason's message, or the text itself)."""
    reason = from_stored(text)
    return reason.message if reason is not None else text
