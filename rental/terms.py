"""R26: whether a new account's acceptance of the rental terms is enough, decided once for server and app."""

from __future__ import annotations

from .reasons import Reason


def acceptance_problem(current: str | None, terms_version: str | None, accepted_by: str | None) -> Reason | None:
    """The reason a new account's acceptance falls short of the terms current (None: none published), or None.

    Once terms are published a new account must name the current version and the customer's signatory;
    before, it may name none.
    """
    if current is None:
        if terms_version is None and accepted_by is None:
            return None
        return Reason.of("terms-unpublished", accepted=terms_version or "?")
    if terms_version is None or not (accepted_by or "").strip():
        return Reason.of("terms-not-accepted", version=current)
    if terms_version != current:
        return Reason.of("terms-outdated", accepted=terms_version, version=current)
    return None
