"""Every error is JSON {"error": CODE, "message": TEXT} (DESIGN §5), never an HTML page or a stack trace."""

from __future__ import annotations

import json
import logging

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler

from rental.reasons import Reason

from .api import ApiError, error_response

log = logging.getLogger("license_server")

_CODES = {400: "bad-json", 401: "unauthorized", 404: "not-found", 405: "method-not-allowed", 413: "too-large"}
#: HTTP's refusals as reasons (rental.reasons.API_ERRORS), by status; any other status is api-http-error.
_REASONS = {400: "api-bad-request", 404: "api-no-such-path", 405: "api-method-not-allowed",
            413: "api-request-too-large"}
#: What the HTTP layer refuses before Flask sees the request (the development server's http.server).
_PROTOCOL_ERRORS = {400: ("bad-request", "api-not-http"), 414: ("uri-too-long", "api-uri-too-long"),
                    431: ("headers-too-large", "api-headers-too-large")}


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, lambda exc: error_response(exc.status, exc.error, exc.reason,
                                                                    exc.retry_after))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _crash)
    app.after_request(_never_cached)


def _never_cached(response):
    """Every answer, a refusal of a path the server does not have included: kept by no cache (money moves by the
    second) and read as the type it says, never sniffed as another (the customer page sets its own, stricter)."""
    headers = response.headers
    # one pass over the headers: werkzeug's setdefault looks a missing name up twice, raising and catching a
    # KeyError each time (two of them per answer, about 8 µs of a single-op /sync: issue 27)
    present = {name.lower() for name, _ in headers.items()}
    if "cache-control" not in present:
        headers["Cache-Control"] = "no-store"
    if "x-content-type-options" not in present:
        headers["X-Content-Type-Options"] = "nosniff"
    return response


def _http_error(exc: HTTPException):
    status = exc.code or 500
    allow = dict(exc.get_headers()).get("Allow")
    if status in _REASONS:
        allowed = ", ".join(sorted(method.strip() for method in (allow or "").split(",") if method.strip()))
        reason = Reason.of(_REASONS[status], **({"allowed": allowed} if status == 405 else {}))
    else:
        reason = Reason.of("api-http-error", status=status)
    response = error_response(status, _CODES.get(status, "error"), reason)
    if allow:  # a 405 names the methods that would do (RFC 9110)
        response.headers["Allow"] = allow
    return response


def _crash(exc: Exception):
    log.exception("unexpected error")
    return error_response(500, "internal", Reason.of("api-internal"))


class JsonErrorRequestHandler(WSGIRequestHandler):
    """The development server's own refusals (431 headers too large, 414, 400) as the JSON error document,
    not http.server's HTML page (DESIGN §5: every error is {"error", "message"})."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        error, reason = _PROTOCOL_ERRORS.get(code, ("error", "api-not-http"))
        said = Reason.of(reason)
        body = json.dumps({"error": error, "message": said.message, "code": said.code, "params": {}}).encode()
        try:
            self.log_error("code %d, message %s", code, message)
        except Exception:  # noqa: BLE001 - logging must not stop the answer
            pass
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True
