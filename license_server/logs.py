"""The server's logs: one structured line per request, errors with their request id (DESIGN §5 `LOG_FORMAT`).

A request line names the request id, the method, the route *template* (never the path: customer pages carry
their link token in it), the status, the duration and the technician's id — never a token, a header, a body
or a query string. `text` (key=value, the default) or `json` (one object a line), on stderr, where gunicorn
and systemd's journal take it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
import traceback
from datetime import datetime, timezone

log = logging.getLogger("license_server.requests")
SERVER_LOGGER = "license_server"
#: An id an outer proxy gave the request (nginx's $request_id) is kept when it looks like one.
INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
REQUEST_ID_HEADER = "X-Request-Id"


class _Stderr(logging.StreamHandler):
    """stderr as it is when a line is written (a test or gunicorn may have replaced it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class RequestIdFilter(logging.Filter):
    """Gives every line written while a request runs that request's id (an error's traceback included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


def current_request_id() -> str | None:
    from flask import g, has_request_context

    return g.get("request_id") if has_request_context() else None


#: the fields a request line carries, in this order (text and JSON alike)
FIELDS = ("request_id", "method", "route", "status", "duration_ms", "technician")


class TextFormatter(logging.Formatter):
    """`2026-12-07T03:00:00Z INFO license_server.requests request request_id=… route=… status=200 …`."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_when(record), record.levelname, record.name, record.getMessage()]
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                parts.append(f"{name}={value}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request fields present, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        data = {"time": _when(record), "level": record.levelname.lower(), "logger": record.name,
                "message": record.getMessage()}
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["error"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(data, ensure_ascii=False)


def _when(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def configure(log_format: str) -> logging.Handler:
    """One handler on the `license_server` logger (INFO and up, to stderr) in the chosen format; made again
    by the next app of this process (tests make many) instead of piling up."""
    logger = logging.getLogger(SERVER_LOGGER)
    for old in [h for h in logger.handlers if getattr(h, "rentdesk", False)]:
        logger.removeHandler(old)
    handler = _Stderr()
    handler.rentdesk = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler


def route_of(request) -> str:
    """The route template that answered (`/api/v1/accounts/<account_id>`), or `unmatched`: never the path."""
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def elapsed() -> float:
    """Seconds since this request began (0 outside a request)."""
    from flask import g, has_request_context

    started = g.get("request_started") if has_request_context() else None
    return time.perf_counter() - started if started is not None else 0.0


def init_app(app, settings) -> None:
    """Request ids, and one line per answered request."""
    from flask import g, request

    configure(settings.LOG_FORMAT)

    @app.before_request
    def start() -> None:
        g.request_started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER)
        g.request_id = incoming if incoming and INCOMING_ID.fullmatch(incoming) else secrets.token_hex(8)

    @app.after_request
    def write_line(response):
        request_id = g.get("request_id")
        if request_id is not None:
            response.headers[REQUEST_ID_HEADER] = request_id
        caller = g.get("caller")
        log.info("request", extra={
            "method": request.method, "route": route_of(request), "status": response.status_code,
            "duration_ms": round(elapsed() * 1000, 2),
            "technician": getattr(caller, "technician_id", None)})
        return response
