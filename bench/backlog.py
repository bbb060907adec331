"""Sync 1,000 queued offline ops end to end: app outbox -> license server (gunicorn, SQLite) -> verified results stored.

The app's store is created and synced once (price list, keys trusted), then a technician's offline
day is queued through the app's services: 50 new customer accounts, each with an activation key,
9 PBXs and their licenses (50 x 20 = 1,000 ops). The figure is the wall time of one
`services.sync_now(store, clock)`: batches posted, every envelope verified, results and snapshots
stored, accounts and ledgers pulled. It must leave the outbox empty with 1,000 applied results.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server_setup import REFS, LicenseServer  # noqa: E402
from bench.support import Missing, bench_main, temp_dir  # noqa: E402

FIGURES = ("backlog_1000_ops_s",)
PASSPHRASE = "bench passphrase 1"
BENCH_KDF = {"name": "scrypt", "n": 2**14, "r": 8, "p": 1}


def queue_offline_day(store, clock, keys: list[str], accounts: int, pbxs: int) -> int:
    """The ops a technician queues offline, through the same services the screens call."""
    from app import services

    queued = 0
    key_iter = iter(keys)
    for n in range(accounts):
        account = services.create_account(store.unit_of_work(), clock, f"Offline customer {n}",
                                          f"offline{n}@example.com")
        services.load_key(store.unit_of_work(), clock, account.account_id, next(key_iter))
        queued += 2
        for p in range(pbxs):
            pbx = services.register_pbx(store.unit_of_work(), clock, account.account_id, name=f"PBX {p}",
                                        serial=f"OFF{n:03d}{p:02d}", platform="vmware", firmware="14r1")
            services.set_licenses(store.unit_of_work(), clock, account.account_id, pbx.pbx_id,
                                  {REFS[p % len(REFS)]: 1 + p}, confirm=True)
            queued += 2
    return queued


def compute(args) -> dict:
    try:
        from app import services, sync  # noqa: F401
        from app.clock import SystemClock
        from app.models import OpResult, OutboxOp
    except ImportError as error:
        raise Missing(f"the app core (services, sync) has not landed yet ({error})") from None
    from sqlalchemy import func, select

    accounts = 10 if args.quick else 50
    with temp_dir("rentdesk-bench-backlog-") as folder:
        with LicenseServer(folder / "server") as server:
            clock = SystemClock()
            store = services.initialise(folder / "app", PASSPHRASE, server.url, server.token,
                                        keys_dir=server.key_dir, kdf=BENCH_KDF)
            try:
                first = services.sync_now(store, clock)
                if not first.ok:
                    raise RuntimeError(f"the first sync failed: {first.error}")
                keys = server.issue_keys(accounts, "5000")
                start = time.perf_counter()
                queued = queue_offline_day(store, clock, keys, accounts, 9)
                queue_s = time.perf_counter() - start
                start = time.perf_counter()
                report = services.sync_now(store, clock)
                elapsed = time.perf_counter() - start
                if not report.ok or report.applied != queued:
                    raise RuntimeError(f"the backlog did not all apply: {report}")
                with store.unit_of_work() as uow:
                    left = uow.session.scalar(select(func.count()).select_from(OutboxOp))
                    stored = uow.session.scalar(select(func.count()).select_from(OpResult))
                if left or stored < queued:
                    raise RuntimeError(f"after the sync {left} ops are still queued and {stored} results stored")
            finally:
                store.close()
    figure = "backlog_1000_ops_s" if not args.quick else "backlog_quick_s"
    result = {figure: elapsed, "backlog_ops": queued, "backlog_queue_s": queue_s,
              "backlog_ops_per_s": queued / elapsed}
    if args.quick:
        result["_reasons"] = {"backlog_1000_ops_s": f"quick run: {queued} ops only (see backlog_quick_s)"}
    return result


if __name__ == "__main__":
    bench_main(__doc__.splitlines()[0], FIGURES, compute)
