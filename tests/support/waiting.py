"""Waiting for another thread's outcome (the background syncer, a server in a thread), never for time."""

from __future__ import annotations

import threading


def wait_for(condition, timeout_s: float = 20.0) -> bool:
    """True as soon as condition() holds, polled every 50 ms up to timeout_s (a deadline, not a pause)."""
    pause = threading.Event()
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return True
        pause.wait(0.05)
    return condition()
