"""Every error is JSON {"error": CODE, "message": TEXT} (DESIGN §5), never an HTML page or a stack trace."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.exceptions import HTTPException

from .api import ApiError, error_response

log = logging.getLogger("license_server")

_CODES = {400: "bad-json", 401: "unauthorized", 404: "not-found", 405: "method-not-allowed", 413: "too-large"}


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, lambda exc: error_response(exc.status, exc.code, exc.message,
                                                                    exc.retry_after))
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
