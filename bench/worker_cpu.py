"""CPU per request in the gunicorn workers (from /proc), for the hello-world, the server's /health and single-op syncs.

Not part of `make bench` (no figure of record); run it by hand when `sync_single_ratio` moves and the question is
where (docs/benchmarks.md §20):

    .venv/bin/python bench/worker_cpu.py [--order "hello sync health hello sync health"] [--seconds 4]
        [--gunicorn-args "-c extra_conf.py"]

Each slice is one wrk run of sync_http.py's shape (1 thread, 8 connections) on one target; the slice's workers'
user and system CPU ticks (/proc/<pid>/stat) are divided by the requests it answered, next to the machine's idle
share over the slice (/proc/stat). CPU per request, unlike requests per second, hardly depends on what else the
2 cores run, so before/after comparisons hold on a shared machine; alternate them and keep the minimums.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server_setup import LicenseServer, seed_accounts  # noqa: E402
from bench.support import cpu_seconds, stop, temp_dir  # noqa: E402
from bench.sync_http import WRK_DIR, hello_server, run_wrk, server_keys  # noqa: E402


def idle_ticks() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return values[3] + values[4], sum(values)


def workers(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in out]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--order", default="hello sync health hello sync health",
                        help="slices in order: hello, health, sync")
    parser.add_argument("--seconds", type=int, default=4, help="length of each slice")
    parser.add_argument("--gunicorn-args", default="", help="more arguments for the license server's gunicorn")
    args = parser.parse_args(argv)
    slices = args.order.split()
    if unknown := set(slices) - {"hello", "health", "sync"}:
        parser.error(f"unknown slice {sorted(unknown)}: use hello, health or sync")
    with temp_dir("rentdesk-worker-cpu-") as folder:
        server = LicenseServer(folder / "sqlite")
        server.prepare()
        server.start(extra_args=args.gunicorn_args.split())
        hello_proc = None
        try:
            accounts = list(seed_accounts(server, 8, 1, server_keys(server, 8, 100_000)))
            keys = server_keys(server, 1500 * args.seconds * slices.count("sync") + 100, 1)
            data = server.folder / "wrk_data.lua"
            data.write_text("return {\n  token = %s,\n  run = %s,\n  accounts = {%s},\n  keys = {%s}\n}\n" % (
                json.dumps(server.token), json.dumps(uuid.uuid4().hex[:8]),
                ",".join(json.dumps(a) for a in accounts), ",\n".join(json.dumps(k) for k in keys)), "utf-8")
            hello_proc, hello_url = hello_server()
            offset = 0
            for name in slices:
                pids = workers(hello_proc.pid if name == "hello" else server.proc.pid)
                (user0, sys0), (idle0, total0) = cpu_seconds(pids), idle_ticks()
                if name == "hello":
                    report = run_wrk(hello_url, WRK_DIR / "hello.lua", args.seconds)
                elif name == "health":
                    report = run_wrk(f"{server.url}/api/v1/health", WRK_DIR / "hello.lua", args.seconds)
                else:
                    if offset + 1500 * args.seconds > len(keys):
                        raise SystemExit("out of fresh keys: fewer sync slices or shorter ones")
                    report = run_wrk(f"{server.url}/api/v1/sync", WRK_DIR / "sync_single.lua", args.seconds,
                                     env={"WRK_DATA": str(data), "WRK_OFFSET": str(offset)})
                    offset += report["requests"] + 64  # requests in flight at the end were sent too
                (user1, sys1), (idle1, total1) = cpu_seconds(pids), idle_ticks()
                if report["non2xx"] or report["timeout"]:
                    raise SystemExit(f"{name}: {report}")
                per = 1000 / report["requests"]  # CPU seconds to ms per request
                print(f"{name:6s} {report['rps']:7,.0f} req/s  workers' CPU {(user1 - user0 + sys1 - sys0) * per:.3f} "
                      f"ms/request (user {(user1 - user0) * per:.3f}, system {(sys1 - sys0) * per:.3f})  "
                      f"machine idle {100 * (idle1 - idle0) / max(total1 - total0, 1):.1f} %", flush=True)
        finally:
            stop(hello_proc)
            server.stop()


if __name__ == "__main__":
    main()
