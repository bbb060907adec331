"""Placeholder until its part lands: reports its figures as null with the reason."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import Missing, bench_main  # noqa: E402

FIGURES = ("hello_rps", "sync_single_rps_sqlite", "sync_single_ratio", "sync_batched_ops_per_s_sqlite", "sync_batched_ops_per_s_pg",)


def compute(args) -> dict:
    raise Missing("license_server (create_app, /api/v1/sync) has not landed yet")


if __name__ == "__main__":
    bench_main(__doc__.splitlines()[0], FIGURES, compute)
