"""The price list: the current signed version, its items, and accounts a newer list will re-rate (R23)."""

from __future__ import annotations

from flask import Blueprint, request

from .. import services
from . import core, forms
from .pages import render, watch_until
from .auth import require_unlocked

bp = Blueprint("prices", __name__, url_prefix="/prices")
bp.before_request(require_unlocked(lambda: None))


@bp.get("/")
def index():
    """Items by category, searchable; which accounts still run at an older list."""
    prices = services.current_pricelist(core.uow())
    query = forms.text(request.args, "q", 100)
    category = forms.text(request.args, "category", 60)
    items = []
    notices = []
    if prices is not None:
        needle = query.lower()
        items = [item for item in sorted(prices.items.values(), key=lambda i: (i.category, i.ref))
                 if (not needle or needle in f"{item.ref} {item.name}".lower())
                 and (not category or item.category == category)]
        notices = services.pricelist_notices(core.uow(), core.clock())
        watch_until(notices.at, notices.changes_at)  # R24: a reload re-rates a listed account at its second
    categories = sorted({i.category for i in prices.items.values()}) if prices else []
    return render("prices/index.html", "prices/_items.html", parts={"list": "prices/_list.html"}, prices=prices,
                  items=items, notices=notices, query=query, category=category, categories=categories)
