"""Errors the core raises: one exception, RuleViolation, carrying every problem as data (rental.reasons.Reason).

Django's ``ValidationError(message, code, params)`` is the model: one type that holds one problem or several,
each a stable code with its values; screens translate from the code, ``message`` is the English wording.
The few subclasses exist only so callers can tell a kind of refusal apart with ``except`` (a signature that
must not be believed, an amount mistyped, a price list malformed); they add no fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from .reasons import Reason


class RentalError(Exception):
    """Base of every error raised by the core."""


class RuleViolation(RentalError):
    """Something refused, with every problem at once: ``problems`` (Reasons, the first names the refusal),
    ``status`` (``rejected``: a rule said no; ``conflict``: the PBX changed meanwhile) and ``warnings`` (what
    came along, e.g. R6's)."""

    def __init__(self, problems: "Reason | Iterable[Reason]", *, status: str = "rejected",
                 warnings: Iterable["Reason"] = ()):
        from .reasons import Reason

        self.problems: tuple[Reason, ...] = (problems,) if isinstance(problems, Reason) else tuple(problems)
        if not self.problems:
            raise ValueError("a RuleViolation names at least one problem")
        self.status = status
        self.warnings = tuple(warnings)
        super().__init__(" ".join(each.message for each in self.problems))  # str(): the English wording

    @classmethod
    def of(cls, code: str, **params: Any) -> "RuleViolation":
        """The violation for code, with its catalog rule (one problem)."""
        from .reasons import Reason

        violation = cls.__new__(cls)
        RuleViolation.__init__(violation, Reason.of(code, **params))
        return violation

    @property
    def reason(self) -> "Reason":
        """The first problem: it names the refusal (an op-result's rule and code)."""
        return self.problems[0]

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

    @property
    def ref(self) -> str | None:
        """The price-list item concerned, when there is one (for per-line display)."""
        return self.reason.ref

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.problems)!r}, status={self.status!r})"


class _OneCode(RuleViolation):
    """A violation made from one code of a fixed rule: ``Subclass(code, **params)``."""

    RULE = "bad-op"

    def __init__(self, code: str, **params: Any):
        from .reasons import Reason

        super().__init__(Reason(self.RULE, code, params))


class AmountError(_OneCode, ValueError):
    """An amount of iSC that cannot be read or is out of range (rule bad-op)."""


class PriceListError(_OneCode, ValueError):
    """A price list that is not well formed (rule bad-op); its params name the bad item."""


class SignatureError(RuleViolation, ValueError):
    """A signed document (envelope or activation key) that must not be believed (rule ``signature``, made with
    ``SignatureError.of``)."""


class KeyRefused(SignatureError):
    """An activation key that cannot be used (rule key-invalid, or the code's catalog rule).

    KeyFormatError is the mistyped or truncated kind; a well-formed forgery or a key of an untrusted
    signer is a KeyRefused only (its form is fine, its signature is not)."""

    def __init__(self, code: str, **params: Any):
        from .reasons import CATALOG, Reason

        if code not in CATALOG:  # no caller passes words any more; should one, its words are not lost
            reason = Reason("key-invalid", "bad-field", {"detail": code})
        else:
            reason = Reason(CATALOG[code][0], code, params)
        super().__init__(reason)


class KeyFormatError(KeyRefused):
    """An activation key that is not well formed (mistyped, truncated, wrong prefix)."""
