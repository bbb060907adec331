"""Figures the reliability suite measures (faults survived, ops/s, p99), gathered for docs/reliability.md.

Each test adds its numbers with `record`; they land in build/out/reliability-figures.json
(one object, merged across runs of the same session) so the docs can quote a real run.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

FIGURES_PATH = Path(__file__).resolve().parents[2] / "build" / "out" / "reliability-figures.json"


def record(name: str, **figures: object) -> None:
    """Merge figures under name; a lock keeps parallel writers (xdist, subprocesses) from clobbering."""
    FIGURES_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(FIGURES_PATH.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = json.loads(FIGURES_PATH.read_text()) if FIGURES_PATH.exists() else {}
        except ValueError:
            current = {}
        entry = dict(current.get(name, {}))
        entry.update(figures)
        entry["soak"] = bool(os.environ.get("RENTDESK_SOAK"))
        current[name] = entry
        tmp = FIGURES_PATH.with_suffix(".tmp")
        tmp.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, FIGURES_PATH)


class Counter:
    """Counts examples a hypothesis test really ran (they vary with the shrinker and the database)."""

    def __init__(self) -> None:
        self.tried = 0
        self.refused = 0

    def tick(self, refused: bool) -> None:
        self.tried += 1
        self.refused += int(refused)
