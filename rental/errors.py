"""Errors the core raises; a RuleViolation is one the user can act on."""


class RentalError(Exception):
    """Base of every error raised by the core."""


class RuleViolation(RentalError):
    """A rule of SPEC.md refuses an action; the message says why and what would fix it."""

    def __init__(self, rule: str, message: str, *, ref: str | None = None):
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.message = message
        self.ref = ref  # the price-list item concerned, when there is one

    def __repr__(self) -> str:
        return f"RuleViolation(rule={self.rule!r}, message={self.message!r})"


class AmountError(RentalError, ValueError):
    """An amount of iSC that cannot be read or is out of range."""


class PriceListError(RentalError, ValueError):
    """A price list that is not well formed; the message names the bad item."""


class SignatureError(RentalError, ValueError):
    """A signed document (envelope or activation key) that must not be believed."""


class KeyFormatError(SignatureError):
    """An activation key that is not well formed (mistyped, truncated, wrong prefix)."""


class FieldError(RentalError, ValueError):
    """A field that is missing, of the wrong type or out of range; the message names it and says what to write.

    The app turns it into a `bad-op` problem next to the field; the server into a `bad-op` rejection.
    """

    def __init__(self, label: str, message: str):
        super().__init__(message)
        self.label = label
        self.message = message
