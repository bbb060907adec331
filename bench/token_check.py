"""What checking a technician's token costs (issue 23): the check alone, trusted for TOKEN_RECHECK_S (2 s, the
default) or asked of the database at every request (0), and a single-op /sync in process either way, on SQLite
and on PostgreSQL. `sync_single_ratio` (bench/sync_http.py) pays the check once per request: the default keeps
it at one dictionary look-up and one hash, the database asked once per token every 2 s per process.

Prints one figure a line and, with --json, a JSON object on one line (what `make bench` reads: its figures are
shown for context, with no goal of their own). Alone: `PYTHONPATH=$PWD .venv/bin/python bench/token_check.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.billing import per_second  # noqa: E402
from license_server import admin, create_app  # noqa: E402
from license_server.auth import TokenCache  # noqa: E402
from tests.support.license_server import DEMO_KEY, migrate  # noqa: E402


def per_call_us(fn, budget_s: float, batch: int = 200) -> float:
    """Microseconds per call of fn over about budget_s seconds (bench only, never a test)."""
    return 1e6 / per_second(fn, budget_s, batch)


def measure(database_url: str, folder: Path, budget_s: float) -> dict[str, float]:
    migrate(database_url)
    figures = {}
    for recheck in (2, 0):
        app = create_app({"DATABASE_URL": database_url, "SIGNING_KEY_PATH": str(DEMO_KEY),
                          "INSTANCE_PATH": str(folder), "TOKEN_RECHECK_S": recheck})
        ctx = app.extensions["license_server"]
        if recheck == 2:
            admin.publish_prices(ctx, admin.demo_pricelist())
        token = admin.add_technician(ctx, "Bench Partner", f"recheck {recheck}")
        cache = TokenCache(recheck_s=recheck)
        now = ctx.now()
        figures[f"check_us_recheck_{recheck}"] = per_call_us(lambda: cache.check(ctx.engine, token, now), budget_s)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        account_id = str(uuid.uuid4())
        client.post("/api/v1/sync", headers=headers, json={"client_id": str(uuid.uuid4()), "ops": [
            {"op_id": str(uuid.uuid4()), "kind": "create_account", "account_id": account_id, "name": "Bench",
             "contact_email": "bench@example.com", "cloud_contract": False}]})
        counter = iter(range(10**9))

        def one_sync():
            answer = client.post("/api/v1/sync", headers=headers, json={"client_id": str(uuid.uuid4()), "ops": [
                {"op_id": str(uuid.uuid4()), "kind": "update_account", "account_id": account_id,
                 "name": f"Bench {next(counter)}"}]})
            assert answer.status_code == 200, answer.get_data(as_text=True)

        figures[f"sync_single_us_recheck_{recheck}"] = per_call_us(one_sync, budget_s, batch=20)
        ctx.engine.dispose()
    cached, uncached = figures["sync_single_us_recheck_2"], figures["sync_single_us_recheck_0"]
    figures["check_share_of_sync_recheck_0"] = (uncached - cached) / cached
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="0.3 s per figure instead of 2 s")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    budget = 0.3 if args.quick else 2.0
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="rentdesk-bench-token-") as work:
        folder = Path(work)
        for name, value in measure(f"sqlite:///{folder / 'bench.sqlite3'}", folder, budget).items():
            results[f"token_{name}_sqlite"] = value
        if not args.no_postgres:
            from tests.support.postgres import running_postgres

            with contextlib.ExitStack() as stack:
                server = stack.enter_context(running_postgres())
                for name, value in measure(server.create_database("bench_token"), folder, budget).items():
                    results[f"token_{name}_pg"] = value
    if args.json:
        print(json.dumps(results, sort_keys=True))
    else:
        for name, value in sorted(results.items()):
            print(f"{name} {value:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
