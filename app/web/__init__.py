"""The app's web face: blueprints, localhost guard, i18n, error pages. Views stay thin."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from . import i18n, labels, pages, rules_text, security, session, state as state_mod
from .pages import is_htmx, redirect_to, render  # noqa: F401  (the app factory and error pages use them)
from .state import state

bp = Blueprint("web", __name__)


@bp.get("/healthz")
def healthz():
    """Launchers and smoke tests poll this: no secret needed, no data given."""
    response = make_response("ok", 200)
    response.mimetype = "text/plain"
    return response


bp.add_url_rule("/launch", "launch", security.launch, methods=["GET"])


def start_page() -> str:
    """Where the technician can work now: first run, unlock, or the accounts."""
    from .auth import is_initialised

    if state().store is None:
        return url_for("auth.first_run" if not is_initialised() else "auth.unlock")
    return url_for("accounts.index")


@bp.get("/")
def home():
    """Send the technician where they can work."""
    return redirect(start_page())


def _error_page(status: int, title: str, message: str):
    template = "partials/error.html" if is_htmx() else "error.html"
    # htmx swaps only 2xx by default; an error partial must still show where the action was
    code = 200 if is_htmx() else status
    return make_response(render_template(template, title=title, message=message), code)


def not_found(_error):
    return _error_page(404, _("Not found"), _("This page does not exist (any more). Go back and try again."))


def method_not_allowed(_error):
    return _error_page(405, _("Not allowed"), _("This action cannot be done this way. Go back and use the buttons on the page."))


def http_error(error: HTTPException):
    return _error_page(error.code or 500, error.name, _("The request could not be handled. Go back and try again."))


def internal_error(error: Exception):
    """Never a stack trace on screen: a calm message; the details go to the log."""
    current_app.logger.exception("unexpected error on %s %s", request.method, request.path, exc_info=error)
    return _error_page(500, _("Something went wrong"),
                       _("RentDesk could not finish this action; nothing was half-done. Try again, and if it happens again, restart RentDesk."))


def current_clock_notice():
    """The laptop-clock notice for the page header (issue 8), read once per request and only when asked.

    No "now" is offered to templates: money is shown as of the server's time (Figures.at, BurnDown.now),
    never the laptop's clock, which may be days off.
    """
    if "clock_notice" not in g:
        st = state()
        g.clock_notice = None
        if st.store is not None:
            from .. import services

            g.clock_notice = services.sync_status(st.store.unit_of_work(), st.clock).clock_notice
    return g.clock_notice


def known_key_use(key_text: str):
    """What this laptop knows of an activation key (queued, loaded, used), for lists of keys; None when locked."""
    st = state()
    if st.store is None:
        return None
    from .. import services

    return services.key_use(st.store.unit_of_work(), key_text)


def page_generation() -> int | None:
    """The store's sync generation this request began at (issue 21): a page drawn from data read after it
    watches for any later sync (GET /sync/changed), so a sync committing while it was drawn refreshes it too."""
    return g.get("sync_generation")


def inject_globals():
    """What every template may ask: is the store open, (lazily) the laptop-clock notice, the sync generation."""
    return {"unlocked": state().store is not None, "current_clock_notice": current_clock_notice,
            "key_use": known_key_use, "sync_generation": page_generation, "page_address": pages.page_address,
            "watch_due": lambda: pages.watch_due(state().clock)}


def load_language():
    """The language chosen in Settings (kept in memory once the store is open) wins over the system; and the sync
    generation is read before any data (page_generation)."""
    g.language = state().language
    store = state().store
    g.sync_generation = store.sync_generation if store is not None else None


def init_app(app: Flask) -> None:
    """Wire every part of the web face into app."""
    web_state = state_mod.init_app(app)
    security.init_app(app)
    session.init_app(app)  # flashes stay in this process, never in a cookie
    i18n.init_app(app)
    labels.init_app(app)
    rules_text.init_app(app)
    app.before_request(load_language)
    app.context_processor(inject_globals)
    app.register_error_handler(404, not_found)
    app.register_error_handler(405, method_not_allowed)
    app.register_error_handler(HTTPException, http_error)
    if not app.config.get("PROPAGATE_EXCEPTIONS_IN_TESTS"):
        app.register_error_handler(Exception, internal_error)
    app.register_blueprint(bp)

    from . import accounts, auth, pbx, prices, rental, settings, sync

    for module in (auth, accounts, pbx, sync, prices, rental, settings):
        app.register_blueprint(module.bp)
    web_state.on_open.append(sync.start_background)
