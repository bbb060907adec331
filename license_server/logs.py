"""The server's logs: one structured line per request, errors with their request id (DESIGN §5 `LOG_FORMAT`).

A request line names the request id, the method, the route *template* (never the path: customer pages carry
their link token in it), the status, the duration and the technician's id — never a token, a header, a body
or a query string. `text` (key=value, the default) or `json` (one object a line), on stderr, where gunicorn
and systemd's journal take it.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
import sys
import time
import traceback

from flask import g, has_request_context, request

from .config import log_time

LOGGER = "license_server.requests"
log = logging.getLogger(LOGGER)
SERVER_LOGGER = "license_server"
#: An id an outer proxy gave the request (nginx's $request_id) is kept when it looks like one.
INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
REQUEST_ID_HEADER = "X-Request-Id"
_ID_HEADER_LOWER = REQUEST_ID_HEADER.lower()


class _Stderr(logging.StreamHandler):
    """stderr as it is when a line is written (a test or gunicorn may have replaced it)."""

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


_second: tuple[int, str] = (-1, "")
#: "000" to "999": a line's milliseconds without a format spec's cost (a line per request)
_MILLIS = tuple(f"{n:03d}" for n in range(1000))


def _when(record: logging.LogRecord) -> str:
    return _when_of(record.created, int(record.msecs))


def _when_of(created: float, msecs: int) -> str:
    """ISO 8601 UTC to the millisecond; the second's text is made once per second (a line per request)."""
    global _second
    second, text = _second
    if second != int(created):
        second = int(created)
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = (second, text)
    return f"{text}.{_MILLIS[msecs]}Z"


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
    started = g.get("request_started") if has_request_context() else None
    return time.perf_counter() - started if started is not None else 0.0


class RequestLog:
    """Writes the request lines: each is one write to stderr, formatted here rather than through logging's records
    and handlers, which cost a /sync more than the line itself (bench/observability.py). The same fields and
    format as the `license_server.requests` lines a logging handler would write."""

    MAX_CACHED = 512

    def __init__(self, log_format: str):
        self.json = log_format == "json"
        self._head: dict[tuple[str, str], str] = {}  # (method, route) → its part of the line, made once

    def _head_of(self, method: str, route: str) -> str:
        head = self._head.get((method, route))
        if head is None:
            if self.json:
                head = f'"method": {json.dumps(method)}, "route": {json.dumps(route)}'
            else:
                head = f"method={_plain(method)} route={_plain(route)}"
            if len(self._head) < self.MAX_CACHED:  # methods come from clients: never an unbounded cache
                self._head[(method, route)] = head
        return head

    def write(self, request_id: str, method: str, route: str, status: int, seconds: float,
              technician: int | None) -> None:
        if not log.isEnabledFor(logging.INFO):  # quietened like any logger (`rentdesk demo` does)
            return
        now = log_time()
        head = self._head_of(method, route)
        when = _when_of(now, int((now % 1) * 1000))
        if self.json:
            tail = "" if technician is None else f', "technician": {int(technician)}'
            line = (f'{{"time": "{when}", "level": "info", "logger": "{LOGGER}", "message": "request", '
                    f'"request_id": "{request_id}", {head}, "status": {int(status)}, '
                    f'"duration_ms": {seconds * 1000:.2f}{tail}}}\n')
        else:
            tail = "" if technician is None else f" technician={int(technician)}"
            line = (f"{when} INFO {LOGGER} request request_id={request_id} {head} status={int(status)} "
                    f"duration_ms={seconds * 1000:.2f}{tail}\n")
        sys.stderr.write(line)


def _plain(text: str) -> str:
    """A value of a text line with no space or control character in it (methods come from clients)."""
    return "".join(c if c.isprintable() and not c.isspace() else "?" for c in text)


_PROCESS = secrets.token_hex(4)
_counter = itertools.count(1)


def new_request_id() -> str:
    """Unique in this process and, by its random prefix, across processes and restarts; cheap per request."""
    return f"{_PROCESS}{next(_counter):08x}"


def init_app(app, ctx) -> None:
    """Request ids, one line per answered request, and the request metrics (license_server.metrics)."""
    configure(ctx.settings.LOG_FORMAT)
    lines = RequestLog(ctx.settings.LOG_FORMAT)
    metrics = ctx.metrics

    perf_counter = time.perf_counter

    @app.before_request
    def start() -> None:
        here = g._get_current_object()  # one look-up of the request's globals, not one per attribute
        here.request_started = perf_counter()
        incoming = request._get_current_object().environ.get("HTTP_X_REQUEST_ID")
        here.request_id = incoming if incoming and INCOMING_ID.fullmatch(incoming) else new_request_id()

    @app.after_request
    def finish(response):
        here = g._get_current_object()
        started = getattr(here, "request_started", None)
        seconds = perf_counter() - started if started is not None else 0.0
        current = request._get_current_object()
        route = route_of(current)
        request_id = getattr(here, "request_id", None) or new_request_id()
        headers = response.headers
        for name, _ in headers:  # not `in headers`: werkzeug answers a miss by raising and catching a KeyError
            if name.lower() == _ID_HEADER_LOWER:  # a view's own id is replaced, as `headers[...] =` would
                headers[REQUEST_ID_HEADER] = request_id
                break
        else:  # appended: set() searches the list for one to replace and costs about 2 µs more a request
            headers.add(REQUEST_ID_HEADER, request_id)
        caller = getattr(here, "caller", None)
        lines.write(request_id, current.method, route, response.status_code, seconds,
                    getattr(caller, "technician_id", None))
        if metrics.enabled:
            metrics.answered(current, response, route, seconds, getattr(here, "op_outcomes", None))
        return response
