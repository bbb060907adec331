"""The app's error types, at the bottom of its layers: rental's one RuleViolation (every problem as data) and
the few kinds the screens tell apart with ``except`` (not found, sync failed).

Use cases, the projection, the field checks and the screens all import them from here (no cycle).
"""

from __future__ import annotations

import json
from typing import Sequence

from rental.errors import RuleViolation
from rental.reasons import Reason, template_of


def on_form(violation: RuleViolation, field: str | None = None) -> RuleViolation:
    """The violation (itself, its kind kept) with each problem naming the form field it concerns (``field``, else
    FIELD_OF_CODE), so the form shows it next to that field; problems that name theirs keep it."""
    violation.problems = tuple(problem if problem.field else problem.about(field or FIELD_OF_CODE.get(problem.code))
                               for problem in violation.problems)
    return violation


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


class ChangedMeanwhile(Exception):
    """The account changed (a sync merged a newer snapshot) after the screen read what its form was checked on and
    before the change's own transaction began: the screen reads it again and checks again (forms.changed_elsewhere),
    so nothing is queued over what arrived unseen. Nothing was queued."""


class NotFound(RuleViolation, LookupError):
    """No such account, PBX or op in this store (maybe deleted, or not synced yet): one problem (rule
    "not-found", a code of rental.reasons, params) screens translate."""

    def __init__(self, code: str, **params):
        super().__init__(Reason.of(code, **params))


# =========================================================================== views


class SyncError(RuleViolation):
    """The sync did not complete (offline, timeout, server error, refused token); nothing was lost. Its reason is
    data (rule "sync", a code of rental.reasons.SYNC_NOTICES); the message is its English wording."""

    def __init__(self, code: str, **params):
        super().__init__(Reason("sync", code, params))


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
        self.status, self.error, self.server_message = status, code, message


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
