"""HTTP throughput of the license server under gunicorn (2 workers, 127.0.0.1) beside a bare Flask hello-world.

hello_rps and sync_single_rps_sqlite come from the same wrk run shape (1 thread, 8 connections, same
duration): wrk GETs the hello-world, then POSTs single-op /api/v1/sync requests, each redeeming a fresh
pre-issued activation key (a connection event: settle, re-rate, sign the result and the account).
The batched figures post batches of 100 set_licenses ops (each PBX one unit more than before, so every op
is applied, none toggles R6) from two Python clients, on SQLite and on PostgreSQL; their ratios divide them by
the hello-world's requests/s measured in slices alternating with them (issue 27).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server_setup import REFS, LicenseServer, new_op, seed_accounts  # noqa: E402
from bench.support import ROOT, VENV_BIN, Missing, bench_main, free_port, postgres, spawn, stop, temp_dir, wait_http  # noqa: E402

FIGURES = ("hello_rps", "sync_single_rps_sqlite", "sync_single_ratio",
           "sync_batched_ops_per_s_sqlite", "sync_batched_ops_per_s_pg")
WRK_DIR = ROOT / "bench" / "wrk"
WRK_SHAPE = ["-t1", "-c8"]
BATCH = 100
NOW_KEY_ISSUED = 1_767_225_600


def run_wrk(url: str, script: Path, duration_s: int, env: dict | None = None) -> dict:
    """One wrk run; its JSON report (requests, duration, errors, latency percentiles) plus requests/s."""
    if not Path("/usr/bin/wrk").exists():
        raise Missing("wrk is not installed (Debian package wrk: make bench installs it)")
    out = subprocess.run(["wrk", *WRK_SHAPE, f"-d{duration_s}s", "--timeout", "10s", "-s", str(script), url],
                         capture_output=True, text=True, timeout=duration_s + 60,
                         env={**os.environ, "WRK_REPORT": str(WRK_DIR / "report.lua"), **(env or {})})
    match = re.search(r"WRK_JSON (\{.*\})", out.stdout)
    if out.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()[-300:]} {out.stdout[-300:]}")
    report = json.loads(match.group(1))
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    return report


def hello_server():
    port = free_port()
    proc = spawn([str(VENV_BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                  "--chdir", str(ROOT / "bench"), "hello_app:create_app()"])
    wait_http(f"http://127.0.0.1:{port}/", proc=proc)
    return proc, f"http://127.0.0.1:{port}/"


def bench_single_vs_hello(server: LicenseServer, duration_s: int, slices: int, max_requests: int) -> dict:
    """wrk on the hello-world and on single-op syncs, in alternating slices so both see the same machine.

    Each sync redeems a key never used before, on one of 8 funded accounts (a connection event).
    """
    from bench.server_setup import decode_payload

    accounts = list(seed_accounts(server, 8, 1, server_keys(server, 8, 100_000)))
    keys = server_keys(server, max_requests, 1)
    before = {a: decode_payload(server.client().get(f"/api/v1/accounts/{a}").json())["revision"] for a in accounts}
    data = server.folder / "wrk_data.lua"
    data.write_text("return {\n  token = %s,\n  run = %s,\n  accounts = {%s},\n  keys = {%s}\n}\n" % (
        json.dumps(server.token), json.dumps(uuid.uuid4().hex[:8]), ",".join(json.dumps(a) for a in accounts),
        ",\n".join(json.dumps(k) for k in keys)), "utf-8")
    hello_proc, hello_url = hello_server()
    totals = {"hello": {"requests": 0, "us": 0, "p50": []}, "sync": {"requests": 0, "us": 0, "p50": []}}
    offset = 0
    try:
        for _ in range(slices):
            for name in ("hello", "sync"):
                if name == "hello":
                    report = run_wrk(hello_url, WRK_DIR / "hello.lua", duration_s)
                else:
                    if offset + 100 >= max_requests:
                        continue  # keys ran out: never re-send one
                    report = run_wrk(f"{server.url}/api/v1/sync", WRK_DIR / "sync_single.lua", duration_s,
                                     env={"WRK_DATA": str(data), "WRK_OFFSET": str(offset)})
                    # requests in flight when wrk stopped were sent but not counted: skip past them too
                    offset += report["requests"] + 64
                if report["non2xx"] or report["timeout"]:
                    raise RuntimeError(f"{name}: {report}")
                totals[name]["requests"] += report["requests"]
                totals[name]["us"] += report["duration_us"]
                totals[name]["p50"].append(report["p50_us"] / 1000)
    finally:
        stop(hello_proc)
    # Every sync counted must have done the work: the accounts' revisions rose once per redemption.
    rises = sum(decode_payload(server.client().get(f"/api/v1/accounts/{a}").json())["revision"] - before[a]
                for a in accounts)
    if rises < totals["sync"]["requests"]:
        raise RuntimeError(f"{totals['sync']['requests']} syncs answered but the accounts changed {rises} times")
    hello_rps = totals["hello"]["requests"] / (totals["hello"]["us"] / 1e6)
    sync_rps = totals["sync"]["requests"] / (totals["sync"]["us"] / 1e6)
    return {"hello_rps": hello_rps, "sync_rps": sync_rps, "applied": rises,
            "hello_p50_ms": sorted(totals["hello"]["p50"])[len(totals["hello"]["p50"]) // 2],
            "sync_p50_ms": sorted(totals["sync"]["p50"])[len(totals["sync"]["p50"]) // 2]}


def server_keys(server: LicenseServer, count: int, amount_isc: int) -> list[str]:
    """Activation keys signed with the server's own key (what `issue-keys` prints), made in bulk."""
    key = server.signing_key()
    return [key.issue_key(amount_isc * 1000, NOW_KEY_ISSUED) for _ in range(count)]


class BatchedLoad:
    """Two clients, each owning 10 accounts x 10 PBXs, posting batches of 100 set_licenses ops (one more unit each
    time); run() drives them for a while and adds to the totals, so slices of it can alternate with hello."""

    def __init__(self, server: LicenseServer, clients: int = 2, accounts_per_client: int = 10):
        per_account = BATCH // accounts_per_client
        self.server = server
        self.owned = [seed_accounts(server, accounts_per_client, per_account,
                                    server_keys(server, accounts_per_client, 100_000), items={REFS[1]: 1})
                      for _ in range(clients)]
        self.qty = [1] * clients
        self.ops = 0
        self.seconds = 0.0
        self.client_cpu_s = 0.0

    def run(self, duration_s: float) -> None:
        counts = [0] * len(self.owned)
        problems: list[str] = []
        deadline = [0.0]

        def client_loop(index: int) -> None:
            import httpx

            snapshots = self.owned[index]
            with httpx.Client(base_url=self.server.url, timeout=120,
                              headers={"Authorization": f"Bearer {self.server.token}"}) as http:
                while time.perf_counter() < deadline[0]:
                    self.qty[index] += 1
                    ops = [new_op("set_licenses", account_id, pbx_id=pbx["pbx_id"], base_revision=pbx["revision"],
                                  items={REFS[1]: self.qty[index]})
                           for account_id, snapshot in snapshots.items() for pbx in snapshot["pbxs"]]
                    answer = self.server.sync(ops, client=http)
                    applied = sum(1 for r in answer["results"] if r["status"] == "applied")
                    if applied != len(ops):
                        bad = next(r for r in answer["results"] if r["status"] != "applied")
                        problems.append(f"{bad['status']} {bad.get('rule')}: {bad.get('message')}")
                        return
                    counts[index] += applied
                    snapshots.update(answer["accounts"])

        threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(len(self.owned))]
        start = time.perf_counter()
        cpu_start = time.process_time()
        deadline[0] = start + duration_s
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if problems:
            raise RuntimeError(f"a batched op was not applied: {problems[0]}")
        self.seconds += time.perf_counter() - start
        # the load generator shares the 2 cores with the server: say how much of one core it took
        self.client_cpu_s += time.process_time() - cpu_start
        self.ops += sum(counts)


def bench_batched(server: LicenseServer, duration_s: float, slices: int) -> dict:
    """Batched ops/s, and beside it hello-world requests/s measured in alternating slices (wrk, the shape of the
    single-op figure), so the ratio compares the two on the same machine at the same moments (issue 27)."""
    load = BatchedLoad(server)
    hello_proc, hello_url = hello_server()
    hello = {"requests": 0, "us": 0}
    try:
        for _ in range(slices):
            report = run_wrk(hello_url, WRK_DIR / "hello.lua", max(1, round(duration_s / slices)))
            if report["non2xx"] or report["timeout"]:
                raise RuntimeError(f"hello: {report}")
            hello["requests"] += report["requests"]
            hello["us"] += report["duration_us"]
            load.run(duration_s / slices)
    finally:
        stop(hello_proc)
    ops_per_s = load.ops / load.seconds
    hello_rps = hello["requests"] / (hello["us"] / 1e6)
    return {"ops": load.ops, "seconds": load.seconds, "ops_per_s": ops_per_s, "hello_rps": hello_rps,
            "ratio": ops_per_s / hello_rps, "client_cpu": load.client_cpu_s / load.seconds}


def compute(args) -> dict:
    duration = 3 if args.quick else 6
    slices = 2 if args.quick else 3  # batched and hello alternate: 3 slices of 2 s each
    result: dict = {"_reasons": {}}
    with temp_dir("rentdesk-bench-sync-") as folder:
        with LicenseServer(folder / "sqlite") as server:
            single = bench_single_vs_hello(server, 2, 2 if args.quick else 4,
                                           max_requests=6_000 if args.quick else 20_000)
            result["hello_rps"] = single["hello_rps"]
            result["hello_p50_ms"] = single["hello_p50_ms"]
            result["sync_single_rps_sqlite"] = single["sync_rps"]
            result["sync_single_p50_ms"] = single["sync_p50_ms"]
            result["sync_single_ratio"] = single["sync_rps"] / single["hello_rps"]
            batched = bench_batched(server, duration, slices)
            result["sync_batched_ops_per_s_sqlite"] = batched["ops_per_s"]
            result["sync_batched_ratio_sqlite"] = batched["ratio"]
            result["sync_batched_hello_rps_sqlite"] = batched["hello_rps"]
            result["sync_batched_client_cpu_sqlite"] = batched["client_cpu"]
        try:
            with postgres() as pg:
                url = pg.create_database("bench_sync")
                with LicenseServer(folder / "pg", url) as server:
                    batched = bench_batched(server, duration, slices)
                    result["sync_batched_ops_per_s_pg"] = batched["ops_per_s"]
                    result["sync_batched_ratio_pg"] = batched["ratio"]
                    result["sync_batched_hello_rps_pg"] = batched["hello_rps"]
                    result["sync_batched_client_cpu_pg"] = batched["client_cpu"]
        except Missing as missing:
            for name in ("sync_batched_ops_per_s_pg", "sync_batched_ratio_pg"):
                result[name] = None
                result["_reasons"][name] = str(missing)
    return result


if __name__ == "__main__":
    bench_main(__doc__.splitlines()[0], FIGURES, compute)
