"""HTTP throughput of the license server under gunicorn (2 workers, 127.0.0.1) beside a bare Flask hello-world.

hello_rps and sync_single_rps_sqlite come from the same wrk run shape (1 thread, 8 connections, same
duration): wrk GETs the hello-world, then POSTs single-op /api/v1/sync requests, each redeeming a fresh
pre-issued activation key (a connection event: settle, re-rate, sign the result and the account).
The batched figures post batches of 100 set_licenses ops (each PBX one unit more than before, so every op
is applied, none toggles R6) from two Python clients, on SQLite and on PostgreSQL.
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


def bench_hello(duration_s: int) -> dict:
    port = free_port()
    proc = spawn([str(VENV_BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                  "--chdir", str(ROOT / "bench"), "hello_app:create_app()"])
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc=proc)
        return run_wrk(f"http://127.0.0.1:{port}/", WRK_DIR / "hello.lua", duration_s)
    finally:
        stop(proc)


def bench_single(server: LicenseServer, duration_s: int, max_requests: int) -> dict:
    """wrk posting single-op syncs: each redeems a key never used before, on one of 8 funded accounts."""
    from rental.money import parse_isc  # noqa: F401  (the core is importable: the server runs it)

    accounts = list(seed_accounts(server, 8, 1, server_keys(server, 8, 100_000)))
    keys = server_keys(server, max_requests, 1)
    before = {a: server.client().get(f"/api/v1/accounts/{a}").json() for a in accounts}
    data = server.folder / "wrk_data.lua"
    data.write_text("return {\n  token = %s,\n  run = %s,\n  accounts = {%s},\n  keys = {%s}\n}\n" % (
        json.dumps(server.token), json.dumps(uuid.uuid4().hex[:8]), ",".join(json.dumps(a) for a in accounts),
        ",\n".join(json.dumps(k) for k in keys)), "utf-8")
    report = run_wrk(f"{server.url}/api/v1/sync", WRK_DIR / "sync_single.lua", duration_s,
                     env={"WRK_DATA": str(data)})
    # Every answer counted must have done the work: the accounts' revisions rose once per redemption.
    from bench.server_setup import decode_payload

    rises = sum(decode_payload(server.client().get(f"/api/v1/accounts/{a}").json())["revision"]
                - decode_payload(before[a])["revision"] for a in accounts)
    report["applied"] = rises
    if report["non2xx"] or report["timeout"] or rises < report["requests"] * 0.99:
        raise RuntimeError(f"single-op syncs did not all apply: {report}")
    if report["requests"] >= max_requests:
        report["note"] = "stopped when the pre-issued keys ran out"
    return report


def server_keys(server: LicenseServer, count: int, amount_isc: int) -> list[str]:
    """Activation keys signed with the server's own key (what `issue-keys` prints), made in bulk."""
    key = server.signing_key()
    return [key.issue_key(amount_isc * 1000, NOW_KEY_ISSUED) for _ in range(count)]


def bench_batched(server: LicenseServer, duration_s: float, clients: int = 2, accounts_per_client: int = 10) -> dict:
    """Each client owns 10 accounts x 10 PBXs and posts batches of 100 set_licenses ops, one more unit each time."""
    per_account = BATCH // accounts_per_client
    owned = [seed_accounts(server, accounts_per_client, per_account, server_keys(server, accounts_per_client, 100_000),
                           items={REFS[1]: 1})
             for _ in range(clients)]
    counts = [0] * clients
    problems: list[str] = []
    deadline = [0.0]

    def client_loop(index: int) -> None:
        import httpx

        snapshots = owned[index]
        qty = 1
        with httpx.Client(base_url=server.url, timeout=120,
                          headers={"Authorization": f"Bearer {server.token}"}) as http:
            while time.perf_counter() < deadline[0]:
                qty += 1
                ops = [new_op("set_licenses", account_id, pbx_id=pbx["pbx_id"], base_revision=pbx["revision"],
                              items={REFS[1]: qty})
                       for account_id, snapshot in snapshots.items() for pbx in snapshot["pbxs"]]
                answer = server.sync(ops, client=http)
                applied = sum(1 for r in answer["results"] if r["status"] == "applied")
                if applied != len(ops):
                    bad = next(r for r in answer["results"] if r["status"] != "applied")
                    problems.append(f"{bad['status']} {bad.get('rule')}: {bad.get('message')}")
                    return
                counts[index] += applied
                snapshots.update(answer["accounts"])

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    deadline[0] = start + duration_s
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if problems:
        raise RuntimeError(f"a batched op was not applied: {problems[0]}")
    return {"ops": sum(counts), "seconds": elapsed, "ops_per_s": sum(counts) / elapsed}


def compute(args) -> dict:
    duration = 3 if args.quick else 6
    result: dict = {"_reasons": {}}
    hello = bench_hello(duration)
    result["hello_rps"] = hello["rps"]
    result["hello_p50_ms"] = hello["p50_us"] / 1000
    with temp_dir("rentdesk-bench-sync-") as folder:
        with LicenseServer(folder / "sqlite") as server:
            single = bench_single(server, duration, max_requests=4_000 if args.quick else 15_000)
            result["sync_single_rps_sqlite"] = single["rps"]
            result["sync_single_p50_ms"] = single["p50_us"] / 1000
            result["sync_single_ratio"] = single["rps"] / hello["rps"]
            batched = bench_batched(server, duration)
            result["sync_batched_ops_per_s_sqlite"] = batched["ops_per_s"]
        try:
            with postgres() as pg:
                url = pg.create_database("bench_sync")
                with LicenseServer(folder / "pg", url) as server:
                    batched = bench_batched(server, duration)
                    result["sync_batched_ops_per_s_pg"] = batched["ops_per_s"]
        except Missing as missing:
            result["sync_batched_ops_per_s_pg"] = None
            result["_reasons"]["sync_batched_ops_per_s_pg"] = str(missing)
    return result


if __name__ == "__main__":
    bench_main(__doc__.splitlines()[0], FIGURES, compute)
