"""The background syncer: one thread per app that syncs at start, after an edit, every few minutes, and with
back-off while the server cannot be reached (DESIGN §6). Each attempt is a sync_now, under the store's one lock."""

from __future__ import annotations

import threading
from typing import Callable

from rental.reasons import Reason

from .errors import TOKEN_ENDED
from .sync import failed_report, sync_now


def _token_ended(report) -> bool:
    reason = getattr(report, "error_reason", None)
    return reason is not None and reason.code in TOKEN_ENDED.values()


class BackgroundSyncer:
    """Syncs in a thread: at start, on poke() (after an edit), every interval, and with back-off while offline.

    While the server is unreachable it retries at min_backoff doubling to max_backoff, so the first
    attempt after the server comes back reaches it; a report goes to on_report after each attempt.
    ``wait(seconds)`` is how the thread waits between attempts: by default on its wake-up event, so
    poke() and stop() cut it short; tests pass their own and no test waits in real time.
    """

    def __init__(self, uow_factory, clock, *, interval_s: float = 300.0, min_backoff_s: float = 5.0,
                 max_backoff_s: float = 300.0, transport_factory: Callable[[], object] | None = None,
                 on_report: Callable[[object], None] | None = None,
                 wait: Callable[[float], object] | None = None):
        self._uow_factory = uow_factory
        self._clock = clock
        self.interval_s = interval_s
        self.min_backoff_s = min_backoff_s
        self.max_backoff_s = max_backoff_s
        self._transport_factory = transport_factory
        self._on_report = on_report
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._wait = wait or self._wake.wait
        self._thread: threading.Thread | None = None
        self.last_report = None
        self.attempts = 0
        self.next_delay_s = 0.0
        self._backoff = min_backoff_s

    def start(self) -> "BackgroundSyncer":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rentdesk-sync", daemon=True)
            self._thread.start()
        return self

    def poke(self) -> None:
        """Try now (an edit was queued, or the user pressed Sync now)."""
        self._wake.set()

    def request_stop(self) -> None:
        """Ask the thread to end after its current attempt (stop() also waits for it)."""
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float = 30.0) -> bool:
        """Wait for the thread to end by itself (after request_stop()); True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def stop(self, timeout: float = 30.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def sync_once(self):
        """One sync now; sync_now itself waits for any other sync of this store (one lock, _lock_for)."""
        transport = self._transport_factory() if self._transport_factory else None
        try:
            report = sync_now(self._uow_factory, self._clock, transport=transport)
        except Exception as exc:  # a sync must never kill the thread; the reason is kept
            report = failed_report(Reason("sync", "sync-failed", {"detail": str(exc)}))
        finally:
            close = getattr(transport, "close", None)
            if close:
                close()
        self.attempts += 1
        self.last_report = report
        if self._on_report:
            self._on_report(report)
        return report

    def step(self) -> float:
        """One attempt; returns how long to wait before the next: the interval after a success, else the back-off
        (min_backoff doubling up to max_backoff while the server stays unreachable)."""
        report = self.sync_once()
        if report.ok:
            self._backoff = self.min_backoff_s
            self.next_delay_s = self.interval_s
        elif _token_ended(report):  # revoked or expired: only a new token helps (Settings pokes us when one comes)
            self.next_delay_s = self.max_backoff_s
        else:
            self.next_delay_s = self._backoff
            self._backoff = min(self._backoff * 2, self.max_backoff_s)
        return self.next_delay_s

    def _run(self) -> None:
        while not self._stop.is_set():
            delay = self.step()
            if self._stop.is_set():
                break
            self._wait(delay)
            self._wake.clear()
