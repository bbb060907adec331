"""The license server for gunicorn in the fault tests, with its clock read from a file the test moves.

    RENTDESK_TEST_CLOCK_FILE=/tmp/clock gunicorn "tests.reliability.server_entry:create_app()"

A subprocess cannot share a FakeClock, so the test writes whole UTC seconds to a file and
every process of the server reads it: months pass between kills without anyone sleeping.
"""

from __future__ import annotations

import os
from pathlib import Path


class FileClock:
    """Whole UTC seconds, as last written to path (by the test, atomically)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __call__(self) -> int:
        return int(self.path.read_text())

    def set(self, at: int) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(int(at)))
        os.replace(tmp, self.path)

    def advance(self, seconds: int) -> int:
        now = self() + int(seconds)
        self.set(now)
        return now


def create_app():
    import license_server

    return license_server.create_app({"CLOCK": FileClock(os.environ["RENTDESK_TEST_CLOCK_FILE"])})
