"""Prometheus metrics of the license server (DESIGN §5 `METRICS`): what it answered and what its sweep did.

Counts and timings only: a label is a route template, a method, a status, an op kind or a reason code,
never an account, a PBX, a technician, a token or a key (their values are unbounded and they are
customer data). `/metrics` (outside /api/v1) exists only when METRICS is on; otherwise it is a 404.

Several gunicorn workers: set PROMETHEUS_MULTIPROC_DIR (an empty folder, the same for every worker and
for `license-server sweep`) before the processes start; each process writes its figures there and
/metrics adds them up (prometheus-client's multiprocess mode; deploy/gunicorn.conf.py empties it at start).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import operator
import os
import time
from typing import Any, Callable, Iterator

from rental import ops as decider
from rental.reasons import CATALOG

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: histogram bounds in seconds: a /sync answers in milliseconds, a batch of 1,000 ops in seconds
SYNC_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SWEEP_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
#: 401 codes (DESIGN §5) → the token failure they are; issue 23's revoked and expired tokens come as their codes
TOKEN_FAILURES = {"unauthorized": "unknown", "token-revoked": "revoked", "token-expired": "expired",
                  "too-many-requests": "throttled"}
STATUSES = ("applied", "rejected", "conflict")
#: a method is a label value: any other a client sends counts as "other", never as a new series
METHODS = frozenset(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"))


#: this process's id, renewed in a forked child before it runs anything (gunicorn forks its workers)
_pid = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))
#: the id as prometheus-client asks it at each value it writes (to notice a fork): read from `_pid`, in C, with no
#: system call — `os.getpid` is one, four times a /sync (docs/benchmarks.md §31)
process_id = functools.partial(operator.getitem, _pid, 0)
#: set once this process's multiprocess value class was chosen here (cached pid, or a fixed name for the sweep)
_value_class_chosen = False


def _multiprocess_values_with_cached_pid() -> None:
    """In multiprocess mode, values that name their file by `process_id` instead of calling `os.getpid`: the same
    files (`counter_<pid>.db`…, so gunicorn's `child_exit` still finds a dead worker's), the same fork check (a child
    writes to its own files from its first value on). Public prometheus-client API (`values.MultiProcessValue`'s
    `process_identifier`); done before this process makes its first metric, once, and only where prometheus-client
    itself chose multiprocess mode at import."""
    global _value_class_chosen
    if _value_class_chosen or not os.environ.get(MULTIPROC_ENV):
        return
    from prometheus_client import values

    _value_class_chosen = True
    if values.ValueClass is values.MutexValue:  # the folder was set after prometheus-client's import: as before
        return
    values.ValueClass = values.MultiProcessValue(process_identifier=process_id)


class Metrics:
    """The server's counters; every method is a no-op when METRICS is off, so callers need not ask."""

    def __init__(self, enabled: bool):
        self.enabled = bool(enabled)
        if not self.enabled:
            return
        _multiprocess_values_with_cached_pid()
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

        disable_created_metrics()  # the *_created series double the page and say nothing an operator uses
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("license_server_requests", "HTTP requests answered, by route template and status",
                                ["route", "method", "status"], registry=r)
        self.sync_seconds = Histogram("license_server_sync_duration_seconds",
                                      "Time to answer POST /api/v1/sync, whole request", buckets=SYNC_BUCKETS,
                                      registry=r)
        self.op_results = Counter("license_server_op_results", "Op results answered by /sync, by op kind, "
                                  "status and reason code (code none: applied without a problem)",
                                  ["kind", "status", "code"], registry=r)
        self.token_failures = Counter("license_server_token_failures", "Requests refused for their bearer token: "
                                      "missing, unknown, revoked, expired, throttled (429 after guesses)",
                                      ["reason"], registry=r)
        self.sweep_seconds = Histogram("license_server_sweep_duration_seconds", "Time of one sweep pass",
                                       buckets=SWEEP_BUCKETS, registry=r)
        self.sweeps = Counter("license_server_sweeps", "Sweep passes, by result (ok, failed)", ["result"], registry=r)
        self.sweep_changes = Counter("license_server_sweep_changes", "What sweeps did: accounts suspended (R18), "
                                     "keys reloaded (R24), accounts whose retained credit expired (R19)",
                                     ["change"], registry=r)
        self.mails = Counter("license_server_mails", "Customer mails (R18-R20, R24) by result: sent, failed",
                             ["result"], registry=r)
        self.mails_queued = Gauge("license_server_mails_queued", "Accounts with a customer mail due but not sent "
                                  "at the end of the last sweep", registry=r, multiprocess_mode="mostrecent")
        self._request_children: dict[tuple, Any] = {}
        self._op_children: dict[tuple, Any] = {}
        for change in ("suspended", "reloaded", "expired"):  # every series exists from the start, at 0
            self.sweep_changes.labels(change)
        for result in ("sent", "failed"):
            self.mails.labels(result)

    # --------------------------------------------------------------------------------------------- recording

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        if not self.enabled:
            return
        key = (route, method, status)
        child = self._request_children.get(key)
        if child is None:  # labels() checks and locks: once per series, not once per request
            child = self.requests.labels(route, method if method in METHODS else "other", str(status))
            if method in METHODS:
                self._request_children[key] = child
        child.inc()
        if route == SYNC_ROUTE:
            self.sync_seconds.observe(seconds)

    def token_failure(self, code: str | None, had_token: bool) -> None:
        """One refused token; `code` is the error code of the 401/429 answer (DESIGN §5)."""
        if not self.enabled:
            return
        reason = TOKEN_FAILURES.get(code or "", "other") if had_token or code == "too-many-requests" else "missing"
        self.token_failures.labels(reason).inc()

    def op_results_answered(self, ops: list[Any], outcomes: list[Any]) -> None:
        """Each op's result as answered (stored results sent again count again: they were answered). An outcome
        signed in this request carries its status and code (batch.Outcome.counted); a stored one is read from its
        payload."""
        if not self.enabled:
            return
        children = self._op_children
        for op, outcome in zip(ops, outcomes):
            kind = op.get("kind") if isinstance(op, dict) else None
            noted = outcome.counted
            if noted is None:  # a stored result answered again: read from its payload
                payload = _payload(outcome.result)
                noted = payload.get("status"), payload.get("code")
            try:  # (kind, status, code) as answered → its child, kept only for values that are labels as they are
                child = children[(kind, *noted)]
            except (KeyError, TypeError):  # new, or a kind or code a client sent that is no str (a list…)
                child = self._op_child(kind, *noted)
            child.inc()

    def _op_child(self, kind: Any, status: Any, code: Any) -> Any:
        key = (kind if isinstance(kind, str) and kind in decider.KINDS else "unknown",  # any JSON value: a list…
               status if status in STATUSES else "other",
               "none" if code is None else code if isinstance(code, str) and code in CATALOG else "other")
        child = self.op_results.labels(*key)
        if key == (kind, status, "none" if code is None else code):  # known values only: a bounded cache
            self._op_children[(kind, status, code)] = child
        return child

    @contextlib.contextmanager
    def sweep_pass(self) -> Iterator[Callable[[Any], None]]:
        """Time one sweep; call the yielded function with its SweepReport (a pass that raises counts failed)."""
        if not self.enabled:
            yield lambda report: None
            return
        started = time.perf_counter()
        done: list[Any] = []
        try:
            yield done.append
        except BaseException:
            self.sweeps.labels("failed").inc()
            raise
        finally:
            self.sweep_seconds.observe(time.perf_counter() - started)
        self.sweeps.labels("ok").inc()
        for report in done:
            self.sweep_changes.labels("suspended").inc(report.suspended)
            self.sweep_changes.labels("reloaded").inc(report.reloads)
            self.sweep_changes.labels("expired").inc(report.expired)
            self.mails.labels("sent").inc(report.mails_sent)
            self.mails.labels("failed").inc(report.mails_failed)
            self.mails_queued.set(max(0, report.mails_due - report.mails_sent))

    def answered(self, request, response, route: str, seconds: float, op_outcomes: tuple | None = None) -> None:
        """Everything one answered request counts for (called by license_server.logs after each request, with the
        `(ops, outcomes)` /sync left in `g.op_outcomes`)."""
        if not self.enabled:
            return
        status = response.status_code
        self.request(route, request.method, status, seconds)
        if (status == 401 or status == 429) and request.blueprint == "api":
            body = response.get_json(silent=True) or {}
            self.token_failure(body.get("error"), "Authorization" in request.headers)
        if op_outcomes is not None and status == 200:
            self.op_results_answered(*op_outcomes)

    # --------------------------------------------------------------------------------------------- exposing

    def exposition(self) -> tuple[bytes, str]:
        """The text format of every process's figures (multiprocess mode) or of this process's."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        folder = os.environ.get(MULTIPROC_ENV)
        if folder:
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=folder)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


SYNC_ROUTE = "/api/v1/sync"


def _payload(envelope: Any) -> dict:
    """An op-result envelope's payload as the server wrote it (its own stored answer: no check needed)."""
    try:
        raw = envelope["payload"]
        return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (KeyError, TypeError, ValueError):
        return {}


def as_one_process_of_many(name: str) -> None:
    """In a short-lived command (`license-server sweep` from a timer), write the multiprocess figures under one
    fixed name instead of the process id: each run adds to the same file rather than leaving a new one behind
    (the folder would grow by two files a run). Call before any metric is made; no-op without the folder."""
    if not os.environ.get(MULTIPROC_ENV):
        return
    from prometheus_client import values

    global _value_class_chosen
    _value_class_chosen = True
    values.ValueClass = values.MultiProcessValue(process_identifier=lambda: name)


def init_app(app, ctx) -> None:
    """Serve /metrics when METRICS is on (a 404 otherwise, like any unknown path); the counting itself is done
    after each request by license_server.logs, which has the route and the time at hand."""
    from flask import Response

    metrics: Metrics = ctx.metrics
    if not metrics.enabled:
        return

    def serve_metrics():
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})

    app.add_url_rule("/metrics", "metrics", serve_metrics, methods=["GET"])
