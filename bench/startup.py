"""Launch to first page: `rentdesk serve --port N` from source and from the bundle (dist/rentdesk/rentdesk).

The clock runs from the process start until the launch URL it prints has been fetched and the page
it leads to (the unlock screen of an existing store, the everyday start) answered 200 with HTML.
One warm-up launch is not counted (it writes .pyc files); the figure is the median of the others.
"""

from __future__ import annotations

import http.cookiejar
import select
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import ROOT, VENV_BIN, Missing, bench_main, free_port, spawn, stop, temp_dir  # noqa: E402

FIGURES = ("start_source_s", "start_bundle_s")
BUNDLE = ROOT / "dist" / "rentdesk" / "rentdesk"
PASSPHRASE = "bench passphrase 1"


def make_store(home: Path) -> None:
    """An existing store, so the first page is the unlock screen a technician sees every morning."""
    from app import store

    store.create(home, PASSPHRASE).close()


def launch_once(command: list[str], home: Path, timeout_s: float = 30.0) -> float:
    """Seconds from spawning command to the first page served through its launch URL."""
    port = free_port()
    start = time.perf_counter()
    proc = spawn(command + ["serve", "--port", str(port)], env={"RENTDESK_HOME": str(home)},
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = b""
        deadline = start + timeout_s
        while not line.endswith(b"\n"):
            if time.perf_counter() > deadline or proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace").strip().splitlines()[-1:] if proc.poll() is not None else []
                err = err[0] if err else "no stderr"
                raise RuntimeError(f"{command[-1]} serve printed no launch URL (exit {proc.returncode}): {err}")
            ready, _, _ = select.select([proc.stdout], [], [], 0.05)
            if ready:
                chunk = proc.stdout.read1(4096) if hasattr(proc.stdout, "read1") else proc.stdout.readline()
                line += chunk
        url = line.decode().strip().splitlines()[0]
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with opener.open(url, timeout=timeout_s) as response:
            body = response.read()
            if response.status != 200 or b"<html" not in body.lower():
                raise RuntimeError(f"the first page answered {response.status} without HTML")
        return time.perf_counter() - start
    finally:
        stop(proc)


def measure(command: list[str], home: Path, runs: int) -> dict:
    launch_once(command, home)  # warm-up: byte-code caches, page cache
    times = [launch_once(command, home) for _ in range(runs)]
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def compute(args) -> dict:
    runs = 3 if args.quick else 7
    result: dict = {"_reasons": {}}
    source_cmd = [str(VENV_BIN / "rentdesk")]
    if not (ROOT / "app" / "cli.py").exists() or not Path(source_cmd[0]).exists():
        raise Missing("app/cli.py (rentdesk serve) has not landed yet")
    with temp_dir("rentdesk-bench-start-") as home:
        make_store(home)
        source = measure(source_cmd, home, runs)
        result["start_source_s"] = source["median"]
        result["start_source_min_s"], result["start_source_max_s"] = source["min"], source["max"]
        if BUNDLE.exists():
            bundle = measure([str(BUNDLE)], home, runs)
            result["start_bundle_s"] = bundle["median"]
            result["start_bundle_min_s"], result["start_bundle_max_s"] = bundle["min"], bundle["max"]
        else:
            result["start_bundle_s"] = None
            result["_reasons"]["start_bundle_s"] = "no bundle: dist/rentdesk/rentdesk not built (run make dist)"
    return result


if __name__ == "__main__":
    bench_main(__doc__.splitlines()[0], FIGURES, compute)
