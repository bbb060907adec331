"""A big partner's sync (issue 26): one partner with N accounts (one rented PBX each) on a local license server
(gunicorn, SQLite), a fresh laptop's first sync, then a "Sync now" with nothing changed.

Figures, at 500 and 5,000 accounts:
- first_sync_s_N: a fresh laptop's first `services.sync_now` (every snapshot verified and stored; since issue 26
  ledgers and histories wait until an account changes or its statement/history is opened);
- quiet_sync_s_N: a `services.sync_now` with nothing changed anywhere, app side included (median of 3);
- quiet_sync_bytes_N: the bytes of that quiet sync, requests and answers (bodies) together.

The accounts are made through POST /sync like a technician would (many accounts per batch).
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server_setup import REFS, LicenseServer, new_op  # noqa: E402
from bench.support import bench_main, temp_dir  # noqa: E402

FIGURES = ("first_sync_s_500", "quiet_sync_s_500", "quiet_sync_bytes_500",
           "first_sync_s_5k", "quiet_sync_s_5k", "quiet_sync_bytes_5k")
PASSPHRASE = "bench passphrase 1"
BENCH_KDF = {"name": "scrypt", "n": 2**14, "r": 8, "p": 1}
PER_BATCH = 250  # accounts per POST /sync while seeding (4 ops each: under the server's 1,000)


def seed(server: LicenseServer, accounts: int) -> None:
    """accounts accounts of the bench partner, each with credit and one PBX renting one license."""
    keys = server.issue_keys(accounts, "50")
    for start in range(0, accounts, PER_BATCH):
        ids = [str(uuid.uuid4()) for _ in range(start, min(start + PER_BATCH, accounts))]
        ops = []
        for offset, account_id in enumerate(ids):
            index = start + offset
            ops += [new_op("create_account", account_id, name=f"Customer {index:05d}",
                           contact_email=f"customer{index}@example.com", cloud_contract=False),
                    new_op("redeem_key", account_id, key=keys[index]),
                    new_op("register_pbx", account_id, pbx_id="pbx-0", name="Main office",
                           serial=f"SN{index:06d}", platform="vmware", firmware="14r1", mode="rental")]
        answer = server.sync(ops)
        _applied(answer)
        ops = [new_op("set_licenses", account_id, pbx_id="pbx-0",
                      base_revision=answer["accounts"][account_id]["pbxs"][0]["revision"], items={REFS[0]: 2})
               for account_id in ids]
        _applied(server.sync(ops))


def _applied(answer: dict) -> None:
    bad = [r for r in answer["results"] if r["status"] != "applied"]
    if bad:
        raise RuntimeError(f"seeding: {bad[0].get('rule')} {bad[0].get('message')}")


class _Bytes:
    """An httpx transport counting request and answer bodies."""

    def __init__(self):
        import httpx

        class Counting(httpx.HTTPTransport):
            def handle_request(inner, request):
                request.read()
                response = super().handle_request(request)
                response.read()
                self.total += len(request.content) + len(response.content)
                return response

        self.total = 0
        self.transport = Counting()


def measure(folder: Path, accounts: int) -> tuple[float, float, int, list[float]]:
    from app import services, transport
    from app.clock import SystemClock

    with LicenseServer(folder / "server") as server:
        seed(server, accounts)
        clock = SystemClock()
        store = services.initialise(folder / "app", PASSPHRASE, server.url, server.token,
                                    keys_dir=server.key_dir, kdf=BENCH_KDF)
        try:
            start = time.perf_counter()
            first = services.sync_now(store, clock)
            first_s = time.perf_counter() - start
            if not first.ok or first.accounts_updated < accounts:
                raise RuntimeError(f"the first sync failed or missed accounts: {first}")
            quiet: list[float] = []
            sizes: list[int] = []
            for _ in range(3):
                counting = _Bytes()
                api = transport.HttpTransport(server.url, server.token, transport=counting.transport)
                try:
                    start = time.perf_counter()
                    report = services.sync_now(store, clock, transport=api)
                    quiet.append(time.perf_counter() - start)
                finally:
                    api.close()
                if not report.ok or report.accounts_updated:
                    raise RuntimeError(f"the quiet sync failed or changed something: {report}")
                sizes.append(counting.total)
        finally:
            store.close()
    return first_s, statistics.median(quiet), max(sizes), quiet


def compute(args) -> dict:
    result: dict = {}
    sizes = ((50, "500"), (500, "5k")) if args.quick else ((500, "500"), (5000, "5k"))
    for accounts, label in sizes:
        with temp_dir(f"rentdesk-bench-big-{label}-") as folder:
            first_s, quiet_s, size, runs = measure(folder, accounts)
        result[f"first_sync_s_{label}"] = first_s
        result[f"quiet_sync_s_{label}"] = quiet_s
        result[f"quiet_sync_bytes_{label}"] = size
        result[f"quiet_sync_runs_s_{label}"] = runs
    if args.quick:
        result["_reasons"] = {name: "quick run: a tenth of the accounts" for name in FIGURES}
    return result


if __name__ == "__main__":
    bench_main(__doc__.splitlines()[0], FIGURES, compute)
