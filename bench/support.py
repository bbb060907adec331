"""Shared plumbing for the benchmarks: child processes in their own process groups, ports, a throwaway PostgreSQL.

Every process a benchmark starts is recorded in the file named by $RENTDESK_BENCH_REGISTRY, so bench/run.py
can stop whatever a crashed or timed-out benchmark left behind (nothing may outlive `make bench`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REGISTRY_ENV = "RENTDESK_BENCH_REGISTRY"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class Missing(Exception):
    """A part a figure needs is not there (not built yet, not installed): the figure is null with this reason."""


# ---------------------------------------------------------------- processes

def _register(entry: str) -> None:
    registry = os.environ.get(REGISTRY_ENV)
    if registry:
        with open(registry, "a", encoding="utf-8") as file:
            file.write(entry + "\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(args: list[str], *, env: dict | None = None, cwd: str | os.PathLike | None = None,
          stdout=subprocess.DEVNULL, stderr=None) -> subprocess.Popen:
    """Start args in a new session (its own process group) and record the group for run.py's clean-up."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.Popen(args, env=full_env, cwd=cwd, stdout=stdout,
                            stderr=stderr if stderr is not None else subprocess.DEVNULL,
                            start_new_session=True)
    _register(f"pgid {proc.pid}")
    return proc


def stop(proc: subprocess.Popen | None, grace_s: float = 5.0) -> None:
    """Stop a spawned process and its whole group: TERM, then KILL after grace_s.

    The leader is reaped with wait(): an exited child stays a zombie in its group until then,
    so probing the group alone would wait out the whole grace for nothing.
    """
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    kill_group(proc.pid, 1.0)  # whatever the leader left behind in its group


def kill_group(pgid: int, grace_s: float = 5.0) -> None:
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


CLOCK_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int] | None = None, pgid: int | None = None) -> tuple[float, float]:
    """User and system CPU seconds, from /proc, of these processes, or of every live process in process group pgid
    (gunicorn's master and workers). A process gone meanwhile counts nothing."""
    if pgid is not None:
        pids = [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    user = system = 0
    for pid in pids or ():
        try:
            with open(f"/proc/{pid}/stat") as file:
                fields = file.read().rpartition(")")[2].split()
        except OSError:
            continue
        if pgid is None or int(fields[2]) == pgid:  # pgrp; utime and stime are fields 14 and 15 of the whole line
            user, system = user + int(fields[11]), system + int(fields[12])
    return user * CLOCK_TICK_S, system * CLOCK_TICK_S


def wait_http(url: str, timeout_s: float = 20.0, proc: subprocess.Popen | None = None,
              ok=(200,)) -> float:
    """Poll url until it answers one of ok; returns the seconds waited. Raises if proc dies or time runs out."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    start = time.perf_counter()
    last_error = "no answer"
    while time.perf_counter() - start < timeout_s:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before answering {url}")
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            conn.request("GET", parts.path or "/")
            status = conn.getresponse().status
            conn.close()
            if status in ok:
                return time.perf_counter() - start
            last_error = f"HTTP {status}"
        except OSError as error:
            last_error = str(error)
        time.sleep(0.005)
    raise TimeoutError(f"{url} did not answer within {timeout_s}s ({last_error})")


# ---------------------------------------------------------------- PostgreSQL

@contextlib.contextmanager
def postgres() -> Iterator[object]:
    """The tests' throwaway PostgreSQL (tests/support/postgres.py), recorded so run.py can stop it if we die."""
    if not (PG_BIN / "initdb").exists():
        raise Missing("PostgreSQL 15 is not installed (Debian package postgresql: make debs)")
    from tests.support.postgres import running_postgres

    with running_postgres() as server:
        _register(f"pg {server.data_dir}")
        yield server


def stop_postgres(data: Path | str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(prefix + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                   capture_output=True)


def clean_up_registry(path: str | os.PathLike) -> list[str]:
    """Stop everything a benchmark recorded and did not stop itself; returns what had to be stopped."""
    stopped = []
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except FileNotFoundError:
        return stopped
    for line in lines:
        kind, _, value = line.partition(" ")
        if kind == "pgid":
            try:
                os.killpg(int(value), 0)
            except (ProcessLookupError, PermissionError):
                continue
            kill_group(int(value), 2.0)
            stopped.append(line)
        elif kind == "pg" and (Path(value) / "postmaster.pid").exists():
            stop_postgres(value)
            stopped.append(line)
        elif kind == "dir" and Path(value).exists():
            shutil.rmtree(value, ignore_errors=True)
    return stopped


# ---------------------------------------------------------------- reporting

def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: the figure is a latency someone really waited)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def bench_main(description: str, figures: tuple[str, ...],
               compute: Callable[[argparse.Namespace], dict], add_arguments: Callable | None = None,
               argv=None) -> dict:
    """Run compute, print its figures (or one JSON object with --json); a Missing part makes its figures null.

    The JSON holds the figures by name, extra figures freely, and ``_reasons`` for every null figure.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--quick", action="store_true", help="smaller, shorter run (to check the harness)")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        result = compute(args)
    except Missing as missing:
        result = {name: None for name in figures}
        result["_reasons"] = {name: str(missing) for name in figures}
    except Exception as error:  # a benchmark that breaks reports why, and the others still run
        traceback.print_exc(file=sys.stderr)
        result = {name: None for name in figures}
        result["_reasons"] = {name: f"{type(error).__name__}: {error}"[:400] for name in figures}
    reasons = result.setdefault("_reasons", {})
    for name in figures:
        if result.get(name) is None:
            result[name] = None
            reasons.setdefault(name, "not measured")
    if args.json:
        print(json.dumps(result))
    else:
        for name, value in result.items():
            if name == "_reasons":
                continue
            shown = "null" if value is None else (f"{value:,.3f}" if isinstance(value, float) else str(value))
            print(f"{name:34} {shown:>16}  {reasons.get(name, '')}")
    return result


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    _register(f"dir {path}")  # removed by run.py if this script is killed before its finally
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
