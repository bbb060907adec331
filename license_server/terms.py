"""The rental terms (R26): published by the vendor, versioned, in English and French, served signed.

`publish` makes a version current (`license-server publish-terms FILE`); `current` answers the
signed `terms` envelope, cached per process like the price list; `check_acceptance` is the check
create_account runs (rental.terms decides it): once terms exist, the current version, accepted by a
named signatory.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from rental.errors import RuleViolation
from rental.terms import acceptance_problem

from . import models
from .db import Sql, writing

LANGUAGES = ("en", "fr")
MAX_VERSION = 64
MAX_TEXT = 200_000  # characters of Markdown per language
LATEST = Sql("SELECT max(id) FROM terms")


class TermsError(ValueError):
    """A terms file that cannot be published; the message says what to fix."""


@dataclass(frozen=True)
class CurrentTerms:
    row_id: int
    version: str
    published_at: int
    envelope: dict


class TermsCache:
    """The current terms, signed once per process; one indexed look-up tells whether a newer one was published."""

    def __init__(self) -> None:
        self._current: CurrentTerms | None = None
        self._lock = threading.Lock()

    def current(self, ctx, connection: Connection) -> CurrentTerms | None:
        latest = LATEST.run(connection).scalar()
        if latest is None:
            return None
        cached = self._current
        if cached is not None and cached.row_id == latest:
            return cached
        row = connection.execute(select(models.terms).where(models.terms.c.id == latest)).one()
        payload = {"version": row.version, "published_at": row.published_at, "texts": json.loads(row.body)}
        with self._lock:
            self._current = CurrentTerms(latest, row.version, row.published_at, ctx.sign("terms", payload))
            return self._current

    def forget(self) -> None:
        self._current = None


def parse(data: Any) -> tuple[str, dict[str, str]]:
    """(version, texts) of a terms document {"version": V, "texts": {"en": MD, "fr": MD}}, or TermsError."""
    if not isinstance(data, dict):
        raise TermsError('the terms file must be a JSON object {"version": V, "texts": {"en": MD, "fr": MD}}')
    unknown = sorted(set(data) - {"version", "texts", "published_at"})
    if unknown:
        raise TermsError(f"the terms file has no field {unknown[0]!r}: its fields are version and texts")
    version = data.get("version")
    if not isinstance(version, str) or not version.strip() or len(version) > MAX_VERSION \
            or version != version.strip() or not version.isprintable():
        raise TermsError(f"version must be a text of 1 to {MAX_VERSION} printable characters, "
                         "without spaces around it (e.g. \"2027-01\")")
    texts = data.get("texts")
    if not isinstance(texts, dict) or set(texts) != set(LANGUAGES):
        raise TermsError("texts must hold exactly the English and the French terms: {\"en\": MD, \"fr\": MD}")
    for language in LANGUAGES:
        text = texts[language]
        if not isinstance(text, str) or not text.strip():
            raise TermsError(f"texts.{language} must be the terms in Markdown, not empty")
        if len(text) > MAX_TEXT:
            raise TermsError(f"texts.{language} is {len(text):,} characters long: at most {MAX_TEXT:,}")
    return version, {language: texts[language] for language in LANGUAGES}


def publish(ctx, data: dict[str, Any] | str | Path) -> str:
    """Make a version of the terms current from now (R26); returns the version. New accounts must accept it."""
    if isinstance(data, (str, Path)):
        try:
            data = json.loads(Path(data).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise TermsError(f"cannot read the terms {data}: {exc}") from None
    version, texts = parse(data)
    now = ctx.now()
    try:
        with writing(ctx.engine) as connection:
            connection.execute(insert(models.terms).values(version=version, published_at=now,
                                                           body=json.dumps(texts, ensure_ascii=False)))
    except IntegrityError:
        raise TermsError(f"terms version {version!r} were published before: give the new terms a new version") from None
    ctx.terms.forget()
    return version


def check_acceptance(ctx, connection: Connection, fields: dict[str, Any]) -> None:
    """create_account's acceptance of the rental terms (R26): the current version, by a named signatory."""
    current = ctx.terms.current(ctx, connection)
    problem = acceptance_problem(current.version if current else None, fields.get("terms_version"),
                                 fields.get("accepted_by"))
    if problem is not None:
        raise RuleViolation(problem)


def accepted_columns(fields: dict[str, Any], now: int) -> dict[str, Any]:
    """The account's record of the acceptance: version, signatory and the server's time (R26)."""
    version = fields.get("terms_version")
    return {"terms_version": version, "terms_accepted_by": fields.get("accepted_by") if version else None,
            "terms_accepted_at": now if version else None}
