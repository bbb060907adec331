"""The rental terms (R26) on the laptop: the last verified `terms` envelope, shown and accepted offline.

Fetched at every sync (GET /terms, best effort: a server that has none answers 404 no-terms), kept
like the price list (verified, never replaced by an older one), rendered from Markdown with
markdown-it-py and sanitised with nh3, and checked when a new account records the customer's
acceptance: the version held, and the signatory's name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import functools

from markupsafe import Markup

from rental import validation
from rental.errors import RuleViolation, SignatureError
from rental.reasons import N_
from rental.signing import Keyring
from rental.terms import acceptance_problem

from . import replica
from .models import TermsReplica
from .errors import SyncError, stored

LANGUAGES = ("en", "fr")
MAX_SIGNATORY = 200
SIGNATORY = N_("The signatory's name")  # the field's words in its reasons (screens translate them)

#: What the rendered terms may hold: text structure, links, tables; no script, style, image or form.
ALLOWED_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "strong", "em", "code",
                "pre", "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td"}


@dataclass(frozen=True)
class Terms:
    """The current rental terms held on this laptop (verified when received)."""

    version: str
    published_at: int
    texts: dict
    received_at: int

    def text(self, language: str) -> str:
        return self.texts.get(language) or self.texts["en"]


def check_payload(payload: dict) -> None:
    """A terms payload holds a version, a publication time and the English and French Markdown."""
    version = payload.get("version")
    if not isinstance(version, str) or not 0 < len(version) <= 64:
        raise SignatureError.of("terms-bad-field", name="version")
    published = payload.get("published_at")
    if isinstance(published, bool) or not isinstance(published, int) or published < 0:
        raise SignatureError.of("terms-bad-field", name="published_at")
    texts = payload.get("texts")
    if not isinstance(texts, dict) or any(not isinstance(texts.get(lang), str) for lang in LANGUAGES):
        raise SignatureError.of("terms-lack-text")


def store(held: replica.Replica, keyring: Keyring, envelope: object, now: int) -> TermsReplica | None:
    """Verify and keep the terms; an older version (by publication time) never replaces the current one."""
    try:
        payload = replica.verify(keyring, envelope, "terms")
        check_payload(payload)
    except SignatureError as exc:
        held.record_refusal("terms", None, stored(replica.refused_because("terms-refused", exc)), now)
        return None
    return held.keep_current(TermsReplica, "terms", payload, envelope, now, "terms-older")


def current(held: replica.Replica) -> Terms | None:
    row = held.current_document(TermsReplica)
    if row is None:
        return None
    payload = json.loads(row.payload)
    return Terms(row.version, row.published_at, payload["texts"], row.received_at)


def pull(uow_factory, clock, transport) -> bool:
    """Fetch the current terms at a sync (best effort: never fails a sync); True when some were kept."""

    fetch = getattr(transport, "terms", None)
    if fetch is None:
        return False
    try:
        envelope = fetch()
    except SyncError:  # 404 no-terms (none published yet), or the server went away: the held terms stay
        return False
    with uow_factory(write=True) as uow:
        kept = store(uow.replica, uow.keyring, envelope, clock.now()) is not None
        uow.commit()
    return kept


def acceptance(held_here: replica.Replica, terms_version: str | None, accepted_by: str | None, accepted: bool) -> dict:
    """create_account's terms fields (R26), checked offline against the terms held, as the server checks them
    (rental.terms); RuleViolation says what is missing, next to the signatory's field.

    With no terms on this laptop nothing is asked (the server refuses at sync if it holds some).
    """

    held = current(held_here)
    if held is None:
        return {}
    name = (accepted_by or "").strip() if accepted else ""  # an unticked box is no acceptance, whatever is typed
    problem = acceptance_problem(held.version, terms_version, name or None)
    if problem is not None:
        raise RuleViolation(problem.about("accepted_by"))
    try:
        name = validation.text(name, SIGNATORY, MAX_SIGNATORY)
    except RuleViolation as exc:
        raise RuleViolation(exc.reason.about("accepted_by")) from None
    return {"terms_version": held.version, "accepted_by": name}


@functools.cache
def _markdown():
    """The Markdown renderer (markdown-it-py), made at the first terms shown, not at start."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def render(markdown_text: str) -> Markup:
    """The terms as safe HTML: Markdown rendered with raw HTML off, then sanitised to ALLOWED_TAGS."""
    import nh3  # with the renderer: at the first terms shown

    html = _markdown().render(markdown_text)
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"https", "mailto"}, link_rel="noopener noreferrer")
    return Markup(clean)


def held(uow) -> Terms | None:
    """The terms held on this laptop, for the screens (one read)."""
    with uow:
        return current(uow.replica)
