"""The one place the app reads the wall clock; everything else takes a clock so tests move time."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Whole UTC seconds, the unit of every time that decides money (SPEC, arithmetic)."""

    def now(self) -> int: ...


class SystemClock:
    """The laptop's clock, in whole UTC seconds."""

    def now(self) -> int:
        return int(time.time())

    def monotonic(self) -> float:
        """Seconds for back-off timers only (never money)."""
        return time.monotonic()


class MovableClock:
    """A clock tests set and move: months pass in microseconds, nothing sleeps."""

    def __init__(self, start: int = 1_800_000_000):
        self._now = int(start)
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            return self._now

    def set(self, at: int) -> None:
        with self._lock:
            self._now = int(at)

    def advance(self, seconds: int) -> int:
        with self._lock:
            self._now += int(seconds)
            return self._now

    def __call__(self) -> int:  # usable as the license server's CLOCK callable too
        return self.now()
