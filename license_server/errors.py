"""Every error is JSON {"error": CODE, "message": TEXT} (DESIGN §5), never an HTML page or a stack trace."""

from __future__ import annotations

import json
import logging

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler

from .api import ApiError, error_response

log = logging.getLogger("license_server")

_CODES = {400: "bad-json", 401: "unauthorized", 404: "not-found", 405: "method-not-allowed", 413: "too-large"}
#: What the HTTP layer refuses before Flask sees the request (the development server's http.server).
_PROTOCOL_ERRORS = {
    400: ("bad-request", "The request is not valid HTTP/1.1: check the request line and the headers."),
    414: ("uri-too-long", "The request line is too long: the API's paths and queries are short (see /api/v1/openapi.json)."),
    431: ("headers-too-large", "The request headers are too many or too long: send only the usual headers and "
                               "'Authorization: Bearer <token>'."),
}


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, lambda exc: error_response(exc.status, exc.code, exc.message,
                                                                    exc.retry_after, exc.reason))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _crash)


def _http_error(exc: HTTPException):
    code = _CODES.get(exc.code, "error")
    if exc.code == 413:
        return error_response(413, code, "The request body is too large: send fewer ops per /sync request.")
    if exc.code == 404:
        return error_response(404, code, "No such path: see /api/v1/openapi.json for the API.")
    response = error_response(exc.code or 500, code, exc.description or exc.name)
    allow = dict(exc.get_headers()).get("Allow")
    if allow:  # a 405 names the methods that would do (RFC 9110)
        response.headers["Allow"] = allow
    return response


def _crash(exc: Exception):
    log.exception("unexpected error")
    return error_response(500, "internal", "The server failed on this request; nothing was changed by the failing op.")


class JsonErrorRequestHandler(WSGIRequestHandler):
    """The development server's own refusals (431 headers too large, 414, 400) as the JSON error document,
    not http.server's HTML page (DESIGN §5: every error is {"error", "message"})."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        error, text = _PROTOCOL_ERRORS.get(code, ("error", "The request could not be read as HTTP."))
        body = json.dumps({"error": error, "message": text}).encode()
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
