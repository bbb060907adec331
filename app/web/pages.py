"""Answering a request: the whole page, or only its partial for htmx (one helper for every blueprint)."""

from __future__ import annotations

from flask import make_response, redirect, render_template, request


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
    return make_response(render_template(name, **context), http_status)


def redirect_to(url: str):
    """Go to url: an htmx request is told to load it as a whole page (HX-Redirect), a form post is redirected."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)
