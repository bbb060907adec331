"""What metrics and request logs cost on /sync (issue 28: no more than 5 %).

The same license server under gunicorn (2 workers, SQLite) is measured with wrk posting single-op /sync requests
(each redeems a fresh key: a connection event) in alternating slices: the baseline, whose workers run without the
request-log and metrics hooks (bench/without_observability.py), and the server as operators run it — METRICS on in
multiprocess mode, LOG_FORMAT=json, one log line per request written to a file. The figure is the share of
CPU time the server's processes spent per request, observed over baseline, minus one: on a shared machine the
CPU a request costs is steadier than requests per second (shown beside it, `sync_observability_rps_loss`).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server_setup import LicenseServer, decode_payload, seed_accounts  # noqa: E402
from bench.support import ROOT, bench_main, cpu_seconds, temp_dir  # noqa: E402
from bench.sync_http import WRK_DIR, run_wrk, server_keys  # noqa: E402

FIGURES = ("sync_observability_overhead",)


BASELINE = ["--config", str(ROOT / "bench" / "without_observability.py")]


def measure(folder: Path, slices: int, duration_s: int, max_requests: int) -> dict:
    metrics_dir = folder / "metrics"
    metrics_dir.mkdir()
    log_path = folder / "requests.log"
    observed_env = {"LICENSE_SERVER_METRICS": "1", "LICENSE_SERVER_LOG_FORMAT": "json",
                    "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    server = LicenseServer(folder / "server").prepare()
    server.start(extra_args=BASELINE)
    try:
        accounts = list(seed_accounts(server, 8, 1, server_keys(server, 8, 100_000)))
        before = {a: decode_payload(server.client().get(f"/api/v1/accounts/{a}").json())["revision"]
                  for a in accounts}
    finally:
        server.stop()
    keys = server_keys(server, max_requests, 1)
    data = folder / "wrk_data.lua"
    data.write_text("return {\n  token = %s,\n  run = %s,\n  accounts = {%s},\n  keys = {%s}\n}\n" % (
        json.dumps(server.token), json.dumps(uuid.uuid4().hex[:8]), ",".join(json.dumps(a) for a in accounts),
        ",\n".join(json.dumps(k) for k in keys)), "utf-8")
    totals = {"baseline": [0, 0, 0.0], "observed": [0, 0, 0.0]}  # requests, microseconds, CPU seconds
    offset = 0
    log = open(log_path, "ab")
    try:
        for _ in range(slices):
            for name in ("baseline", "observed"):
                if offset + 100 >= max_requests:
                    break  # keys ran out: never re-send one
                if name == "baseline":
                    server.start(extra_args=BASELINE)
                else:
                    server.start(extra_env=observed_env, stderr=log)
                try:
                    warm = run_wrk(f"{server.url}/api/v1/sync", WRK_DIR / "sync_single.lua", 1,
                                   env={"WRK_DATA": str(data), "WRK_OFFSET": str(offset)})  # warm the workers up
                    offset += warm["requests"] + 64
                    cpu_before = sum(cpu_seconds(pgid=server.proc.pid))
                    report = run_wrk(f"{server.url}/api/v1/sync", WRK_DIR / "sync_single.lua", duration_s,
                                     env={"WRK_DATA": str(data), "WRK_OFFSET": str(offset)})
                    cpu = sum(cpu_seconds(pgid=server.proc.pid)) - cpu_before
                    if name == "observed":
                        page = server.client().get("/metrics").text
                finally:
                    server.stop()
                offset += report["requests"] + 64
                if report["non2xx"] or report["timeout"]:
                    raise RuntimeError(f"{name}: {report}")
                totals[name][0] += report["requests"]
                totals[name][1] += report["duration_us"]
                totals[name][2] += cpu
    finally:
        log.close()
    # The observed server did its work: a request line each, and /sync counted on the metrics page.
    lines = sum(1 for line in log_path.read_text().splitlines() if '"route": "/api/v1/sync"' in line)
    if lines < totals["observed"][0] or "license_server_sync_duration_seconds_count" not in page:
        raise RuntimeError(f"the observed server logged {lines} /sync lines for {totals['observed'][0]} requests")
    server.start(extra_args=BASELINE)
    try:
        rises = sum(decode_payload(server.client().get(f"/api/v1/accounts/{a}").json())["revision"] - before[a]
                    for a in accounts)
    finally:
        server.stop()
    counted = totals["baseline"][0] + totals["observed"][0]
    if rises < counted:
        raise RuntimeError(f"{counted} syncs answered but the accounts changed {rises} times")
    baseline = totals["baseline"][0] / (totals["baseline"][1] / 1e6)
    observed = totals["observed"][0] / (totals["observed"][1] / 1e6)
    cpu_ms = {name: 1000 * cpu / requests for name, (requests, _, cpu) in totals.items()}
    return {"sync_observability_overhead": cpu_ms["observed"] / cpu_ms["baseline"] - 1,
            "sync_observability_rps_loss": 1 - observed / baseline,
            "sync_cpu_ms_baseline": cpu_ms["baseline"], "sync_cpu_ms_observed": cpu_ms["observed"],
            "sync_rps_baseline": baseline, "sync_rps_observed": observed, "observability_slices": slices}


def compute(args) -> dict:
    with temp_dir("rentdesk-bench-observability-") as folder:
        if args.quick:
            return measure(folder, 2, 2, 20_000)
        return measure(folder, 5, 4, 60_000)


if __name__ == "__main__":
    bench_main(__doc__.splitlines()[0], FIGURES, compute)
