"""Errors the core raises; a RuleViolation is one the user can act on."""

from __future__ import annotations

from typing import Any, Mapping


class RentalError(Exception):
    """Base of every error raised by the core."""


class HasReason:
    """An error that carries a reason (rule, code, params): screens translate from its code, ``message`` is its
    English wording."""

    reason: Any

    @property
    def rule(self) -> str:
        return self.reason.rule

    @property
    def code(self) -> str:
        return self.reason.code

    @property
    def params(self) -> Mapping[str, Any]:
        return self.reason.params

    @property
    def message(self) -> str:
        return self.reason.message


class RuleViolation(HasReason, RentalError):
    """A rule of SPEC.md refuses an action: (rule, code, params), rendered from the reasons catalog.

    ``message`` is the English wording; screens translate from ``code`` and ``params``.
    """

    def __init__(self, rule: str | None, code: str, params: Mapping[str, Any] | None = None):
        from .reasons import Reason, rule_of

        self.reason = Reason(rule or rule_of(code), code, dict(params or {}))
        super().__init__(f"{self.reason.rule}: {self.reason.message}")

    @classmethod
    def of(cls, code: str, **params: Any) -> "RuleViolation":
        """The violation for code, with its catalog rule."""
        return cls(None, code, params)

    @property
    def ref(self) -> str | None:
        """The price-list item concerned, when there is one (for per-line display)."""
        ref = self.reason.params.get("ref")
        return ref if isinstance(ref, str) else None

    def __repr__(self) -> str:
        return f"RuleViolation(rule={self.rule!r}, code={self.code!r}, params={dict(self.params)!r})"


class Refusal(RentalError):
    """An op that is not applied, with every problem at once; the first names the op-result's rule and code.

    ``status`` is ``rejected`` (a rule said no) or ``conflict`` (the PBX changed meanwhile).
    """

    def __init__(self, problems, status: str = "rejected"):
        self.problems = tuple(problems)
        self.status = status
        super().__init__(" ".join(p.message for p in self.problems))

    @property
    def first(self):
        return self.problems[0]


class AmountError(HasReason, RentalError, ValueError):
    """An amount of iSC that cannot be read or is out of range: a reason (bad-op, code, params) screens translate."""

    def __init__(self, code: str, **params: Any):
        from .reasons import Reason

        self.reason = Reason("bad-op", code, params)
        super().__init__(self.reason.message)


class PriceListError(HasReason, RentalError, ValueError):
    """A price list that is not well formed: a reason (bad-op, code, params) whose message names the bad item."""

    def __init__(self, code: str, **params: Any):
        from .reasons import Reason

        self.reason = Reason("bad-op", code, params)
        super().__init__(self.reason.message)


class SignatureError(RentalError, ValueError):
    """A signed document (envelope or activation key) that must not be believed.

    The verifier's own refusals carry a ``reason`` (rule ``signature``, code, params; ``str()`` is its English
    wording), made with ``SignatureError.of``; checks that still word theirs leave it None.
    """

    reason: Any = None

    def __init__(self, message: str, reason: Any = None):
        if reason is not None:
            self.reason = reason
        super().__init__(message)

    @classmethod
    def of(cls, code: str, **params: Any) -> SignatureError:
        """The refusal for code, with its catalog rule and its English wording as the message."""
        from .reasons import Reason

        reason = Reason.of(code, **params)
        return cls(reason.message, reason)


class KeyRefused(HasReason, SignatureError):
    """An activation key that cannot be used: a reason (key-invalid, code, params) screens translate.

    KeyFormatError is the mistyped or truncated kind; a well-formed forgery or a key of an untrusted
    signer is a KeyRefused only (its form is fine, its signature is not)."""

    def __init__(self, code: str, **params: Any):
        from .reasons import CATALOG, Reason

        if code not in CATALOG:  # no caller passes words any more; should one, its words are not lost
            self.reason = Reason("key-invalid", "bad-field", {"detail": code})
        else:
            self.reason = Reason(CATALOG[code][0], code, params)
        super().__init__(self.reason.message)


class KeyFormatError(KeyRefused):
    """An activation key that is not well formed (mistyped, truncated, wrong prefix)."""


class FieldError(HasReason, RentalError, ValueError):
    """A field that is missing, of the wrong type or out of range: a reason (bad-op, code, params) whose
    ``field`` param names it (the app: a form field's label key; the server: "create_account.name").

    The app shows it next to the field; the server answers a `bad-op` rejection.
    """

    def __init__(self, label: str, code: str, params: Mapping[str, Any] | None = None):
        from .reasons import Reason

        self.label = label
        self.reason = Reason("bad-op", code, dict(params or {}))
        super().__init__(self.reason.message)
