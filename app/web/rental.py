"""The "Software rental" section: the rental contract and general rental terms the vendor published (R26)."""

from __future__ import annotations

from flask import Blueprint, request

from . import core
from .pages import render
from .auth import require_unlocked
from .i18n import LANGUAGES, language

bp = Blueprint("rental", __name__, url_prefix="/rental")
bp.before_request(require_unlocked(lambda: None))


@bp.get("/")
def index():
    """The terms held on this laptop (verified, kept for offline use), in the UI's language or the one asked."""
    from .. import terms as terms_mod  # here, not at the top: the screens' modules load before unlock (issue 25)

    terms = terms_mod.held(core.uow())
    shown = request.args.get("lang")
    if shown not in LANGUAGES:
        shown = language()
    text = terms_mod.render(terms.text(shown)) if terms else None
    return render("rental/index.html", parts={"terms": "rental/_terms.html"}, terms=terms, shown=shown, text=text)
