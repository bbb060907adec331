"""Answering a request: the whole page, or only its partial for htmx (one helper for every blueprint)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import g, make_response, redirect, render_template, request

#: The part every page answers alone (?part=watch): its watch, at the second it reads its data for (see watch_until).
WATCH_PART = "watch"


def is_htmx() -> bool:
    """True for an htmx request, which gets a partial instead of a page."""
    return request.headers.get("HX-Request") == "true"


def render(template: str, partial: str | None = None, http_status: int = 200, *,
           parts: dict[str, str] | None = None, **context):
    """Render the page, or only its partial for an htmx request (Vary: HX-Request is always sent).

    parts names the page's components an htmx request may ask for alone with ``?part=NAME`` (issue 21: each
    component that shows synced data fetches itself again after a sync), each the template it is drawn with.
    """
    name = partial if (partial and is_htmx()) else template
    if parts and is_htmx() and request.args.get("part") in parts:
        name = parts[request.args["part"]]
    elif is_htmx() and request.args.get("part") == WATCH_PART and request.method == "GET":
        name = "sync/_watch.html"  # the page's watch again, after it fired: the next second to watch
        context = {**context, "generation": _since(), "page": page_address()}
    g.drawn_by_render = http_status == 200  # an error page is not read again for its watch
    return make_response(render_template(name, **context), http_status)


def watch_until(now: int | None, *seconds: int | None) -> None:
    """What the page shows changes by time alone at these seconds of the server's time (an account stops, R18; an
    automatic reload re-rates it, R24): its watch (GET /sync/changed) fires at the first one after ``now`` with no
    sync, and every component showing synced data fetches itself again. The watch carries the laptop's second, the
    same wait from the laptop's clock now, so the poll reads a number and the clock, never the store."""
    if now is None:
        return
    waits = [at - now for at in seconds if at is not None and at > now]
    if waits:
        g.watch_wait = min([*waits, g.get("watch_wait", waits[0])])


def watch_account(account) -> None:
    """watch_until for an account page (an AccountView): its figures change by time alone at their changes_at, the
    queued configuration's too (Figures.changes_at: R18, R19, R24)."""
    pending = account.pending
    watch_until(account.confirmed.at, account.confirmed.changes_at,
                pending.changes_at if pending is not None else None)


def watch_due(clock) -> int | None:
    """The laptop second the page's watch fires at by time alone (watch_until), or None."""
    wait = g.get("watch_wait")
    return None if wait is None else clock.now() + wait


def page_address() -> str | None:
    """The page the watch reads again for its next second (?part=watch): a page drawn by render() for a GET, else
    None (a form answered with its errors watches syncs and the second it was drawn with only)."""
    if request.method != "GET" or not g.get("drawn_by_render"):
        return None
    split = urlsplit(request.full_path)
    query = [(k, v) for k, v in parse_qsl(split.query, keep_blank_values=True) if k not in ("part", "since")]
    return urlunsplit(("", "", split.path, urlencode(query), ""))


def watch_again_url(page: str, generation: int) -> str:
    """The page's own address asking for its watch alone, at the generation the fired watch saw."""
    split = urlsplit(page)
    query = [*parse_qsl(split.query, keep_blank_values=True), ("part", WATCH_PART), ("since", str(generation))]
    return urlunsplit(("", "", split.path, urlencode(query), ""))


def _since() -> int | None:
    """The generation the fired watch saw (?since=): a sync merged after it, before this page was read again, is
    then heard at the next poll."""
    raw = request.args.get("since", "")
    return int(raw) if raw.isascii() and raw.isdecimal() else g.get("sync_generation")


def redirect_to(url: str):
    """Go to url: an htmx request is told to load it as a whole page (HX-Redirect), a form post is redirected."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)
