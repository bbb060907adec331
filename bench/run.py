"""Run every benchmark (`make bench`): write bench/results.json and print each figure beside its goal.

Each benchmark is a script in bench/ run in its own process group with a time limit; whatever it
started is stopped afterwards, so nothing outlives the run. A benchmark that cannot run (its part is
missing, it broke, it ran out of time) leaves its figures null with the reason, never a made-up number.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine  # noqa: E402
from bench.support import REGISTRY_ENV, ROOT, clean_up_registry, kill_group  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
#: The whole run stays under 20 minutes, whatever the scripts' own limits add up to (14 before issue 26 added the
#: big partner's syncs, ~3 minutes of seeding 5,500 accounts and syncing them).
TOTAL_BUDGET_S = 20 * 60
DOC = ROOT / "docs" / "benchmarks.md"
DOC_START, DOC_END = "<!-- results:start -->", "<!-- results:end -->"

#: (script, its figures, time limit in seconds); the sum stays well under the 15 minutes of the issue.
BENCHMARKS: list[tuple[str, tuple[str, ...], int]] = [
    ("billing.py", ("billing_settles_per_s", "sign_ratio", "verify_ratio"), 60),
    ("sync_http.py", ("hello_rps", "sync_single_rps_sqlite", "sync_single_ratio",
                      "sync_batched_ops_per_s_sqlite", "sync_batched_ops_per_s_pg",
                      "sync_batched_ratio_sqlite", "sync_batched_ratio_pg"), 180),
    ("sweep.py", ("sweep_1m_s",), 240),
    ("ui.py", ("ui_p50_ms", "ui_p95_ms", "encrypted_over_plain"), 300),
    ("backlog.py", ("backlog_1000_ops_s",), 150),
    ("startup.py", ("start_source_s", "start_bundle_s"), 90),
    ("big_partner.py", ("first_sync_s_500", "quiet_sync_s_500", "quiet_sync_bytes_500",
                        "first_sync_s_5k", "quiet_sync_s_5k", "quiet_sync_bytes_5k"), 420),
    ("observability.py", ("sync_observability_overhead",), 240),
    ("bundle.py", ("window_content_s", "deb_mb", "bundle_mb"), 180),
    ("token_check.py", ("token_check_us_recheck_2_sqlite", "token_check_us_recheck_0_sqlite",
                        "token_check_share_of_sync_recheck_0_sqlite", "token_check_us_recheck_2_pg",
                        "token_check_share_of_sync_recheck_0_pg"), 120),
]

#: figure -> (comparison, goal, unit); None: a figure shown for context, with no goal of its own.
GOALS: dict[str, tuple[str, float, str] | None] = {
    "billing_settles_per_s": (">=", 500_000, "/s"),
    "sign_ratio": (">=", 0.5, ""),
    "verify_ratio": (">=", 0.5, ""),
    "hello_rps": None,
    "sync_single_rps_sqlite": None,
    "sync_single_ratio": (">=", 0.30, ""),  # issue 27 (0.20 before)
    "sync_batched_ops_per_s_sqlite": (">=", 5_000, "/s"),
    "sync_batched_ops_per_s_pg": (">=", 5_000, "/s"),
    # issue 27: batched ops/s over hello-world requests/s, measured in alternating slices of one run
    "sync_batched_ratio_sqlite": (">=", 0.8, ""),
    "sync_batched_ratio_pg": (">=", 0.8, ""),
    "sweep_1m_s": ("<=", 0.5, "s"),  # issue 27 (PostgreSQL, history rows and stop mails included)
    "ui_p50_ms": None,
    "ui_p95_ms": ("<=", 30, "ms"),  # issue 27 (10,000 accounts / 50,000 PBXs, encrypted)
    "encrypted_over_plain": ("<=", 1.3, ""),
    "backlog_1000_ops_s": ("<=", 3.0, "s"),
    "start_source_s": ("<=", 1.0, "s"),
    "start_bundle_s": ("<=", 2.0, "s"),
    # issue 26: a big partner's sync carries only what changed (500 shown for the growth, 5,000 has the goals)
    "first_sync_s_500": None,
    "quiet_sync_s_500": None,
    "quiet_sync_bytes_500": None,
    "first_sync_s_5k": ("<=", 10.0, "s"),
    "quiet_sync_s_5k": ("<=", 0.2, "s"),
    "quiet_sync_bytes_5k": ("<=", 10_000, " B"),
    "sync_observability_overhead": ("<=", 0.05, ""),  # issue 28: metrics and request logs on /sync
    # issue 25: the window on the system's web view, and what a technician downloads
    "window_content_s": ("<=", 1.5, "s"),
    "deb_mb": ("<=", 60, " MB"),
    "bundle_mb": ("<=", 150, " MB"),
    # issue 23: what checking a technician's token costs, trusted 2 s (what ships) or asked at every request (0)
    "token_check_us_recheck_2_sqlite": None,
    "token_check_us_recheck_0_sqlite": None,
    "token_check_share_of_sync_recheck_0_sqlite": None,
    "token_check_us_recheck_2_pg": None,
    "token_check_share_of_sync_recheck_0_pg": None,
}


#: units of the figures shown for context
CONTEXT_UNITS = {"hello_rps": "/s", "sync_single_rps_sqlite": "/s", "ui_p50_ms": "ms", "first_sync_s_500": "s",
                 "quiet_sync_s_500": "s", "quiet_sync_bytes_500": " B"}


def verdict(name: str, value) -> str:
    goal = GOALS.get(name)
    if value is None:
        return "null"
    if goal is None:
        return "-"
    op, target, _ = goal
    ok = value >= target if op == ">=" else value <= target
    return "ok" if ok else "MISSED"


def run_one(script: str, figures: tuple[str, ...], limit_s: int, quick: bool, registry: str) -> tuple[dict, float]:
    """Run one benchmark script with --json; its figures, or nulls with the reason it gave none."""
    args = [sys.executable, str(ROOT / "bench" / script), "--json"] + (["--quick"] if quick else [])
    env = dict(os.environ, **{REGISTRY_ENV: registry, "PYTHONPATH": str(ROOT)})
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid, 2.0)
        out, err = proc.communicate()
        reason = f"{script} ran out of its {limit_s} s"
        return {**{f: None for f in figures}, "_reasons": {f: reason for f in figures}}, time.perf_counter() - start
    finally:
        kill_group(proc.pid, 2.0)
    elapsed = time.perf_counter() - start
    if err.strip():
        sys.stderr.write("".join(f"  [{script}] {line}\n" for line in err.strip().splitlines()[-40:]))
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (err.strip().splitlines() or ["no output"])[-1]
        reason = f"{script} exited {proc.returncode} without figures: {tail}"[:400]
        result = {**{f: None for f in figures}, "_reasons": {f: reason for f in figures}}
    return result, elapsed


def format_value(value, unit: str = "") -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and abs(value) < 100:
        return f"{value:,.3f}{unit}"
    return f"{value:,.0f}{unit}"


def table(results: dict) -> str:
    """The Markdown table of figures against goals (also pasted into docs/benchmarks.md)."""
    rows = ["| figure | value | goal | verdict |", "| --- | ---: | --- | --- |"]
    reasons = results.get("_reasons", {})
    for name, goal in GOALS.items():
        value = results.get(name)
        unit = goal[2] if goal else CONTEXT_UNITS.get(name, "")
        goal_text = f"{goal[0]} {format_value(goal[1], goal[2])}" if goal else "(context)"
        mark = verdict(name, value)
        if value is None:
            reason = " ".join(str(reasons.get(name, "not measured")).split())
            mark = f"null: {reason[:200]}"
        rows.append(f"| `{name}` | {format_value(value, unit)} | {goal_text} | {mark} |")
    return "\n".join(rows)


def update_doc(results: dict) -> None:
    """Put the latest table (and the machine it ran on) between the markers of docs/benchmarks.md."""
    if not DOC.exists():
        return
    text = DOC.read_text("utf-8")
    if DOC_START not in text or DOC_END not in text:
        return
    m = results["machine"]
    block = (f"{DOC_START}\n{table(results)}\n\nMachine: {m['cores']} cores, Python {m['python']}, SQLite {m['sqlite']}, "
             f"SQLCipher {m['sqlcipher']}, {m['postgresql']}; load average {m.get('load_avg_at_start')} at the start, "
             f"{m['load_avg_1_5_15']} at the end; whole run {results['_seconds']['total']} s.\n{DOC_END}")
    head, _, rest = text.partition(DOC_START)
    _, _, tail = rest.partition(DOC_END)
    DOC.write_text(head + block + tail, "utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="comma-separated scripts to run (e.g. ui,sweep); the others keep "
                                       "their figures from the last results.json")
    parser.add_argument("--quick", action="store_true", help="smaller runs, to check the harness")
    args = parser.parse_args(argv)
    only = {name.removesuffix(".py") for name in args.only.split(",")} if args.only else None

    results: dict = {}
    if only and RESULTS.exists():
        results = json.loads(RESULTS.read_text("utf-8"))
    results.setdefault("_reasons", {})
    timings = results.setdefault("_seconds", {})
    started = time.perf_counter()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    fd, registry = tempfile.mkstemp(prefix="rentdesk-bench-registry-")
    os.close(fd)
    try:
        chosen = [b for b in BENCHMARKS if not only or b[0].removesuffix(".py") in only]
        for position, (script, figures, limit_s) in enumerate(chosen):
            # keep 40 s for each benchmark still to come, so one slow part cannot starve the others
            left = int(TOTAL_BUDGET_S - (time.perf_counter() - started)) - 40 * (len(chosen) - position - 1)
            if left < 20:
                reason = f"not run: the {TOTAL_BUDGET_S // 60}-minute budget of the whole run was spent"
                figures_out, elapsed = {**{f: None for f in figures}, "_reasons": {f: reason for f in figures}}, 0.0
            else:
                limit_s = min(limit_s, left)
                print(f"== {script} (limit {limit_s} s)", flush=True)
                figures_out, elapsed = run_one(script, figures, limit_s, args.quick, registry)
            leftovers = clean_up_registry(registry)
            if leftovers:
                print(f"   stopped what {script} left running: {leftovers}", flush=True)
            open(registry, "w").close()
            reasons = figures_out.pop("_reasons", {})
            for name in figures:
                results["_reasons"].pop(name, None)
            results.update(figures_out)
            results["_reasons"].update({k: v for k, v in reasons.items() if figures_out.get(k) is None})
            timings[script] = round(elapsed, 1)
            for name in figures:
                print(f"   {name:32} {format_value(figures_out.get(name)):>14}  {verdict(name, figures_out.get(name))}",
                      flush=True)
    finally:
        clean_up_registry(registry)
        os.unlink(registry)
    results["machine"] = machine.describe()
    results["machine"]["load_avg_at_start"] = load_at_start
    results["quick"] = bool(args.quick)
    results["_seconds"]["total"] = round(time.perf_counter() - started, 1)
    for name in GOALS:
        results.setdefault(name, None)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", "utf-8")
    os.replace(tmp, RESULTS)
    if not args.quick:
        update_doc(results)
    print()
    print(table(results))
    print(f"\nmachine: {json.dumps(results['machine'])}")
    print(f"wrote {RESULTS.relative_to(ROOT)} in {results['_seconds']['total']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
