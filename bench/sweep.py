"""The license server's sweep over 1,000,000 accounts of which 1% are due (PostgreSQL).

The schema comes from the server's own migrations; accounts, PBXs and licenses are bulk-loaded with
COPY (one PBX with one rented line per account, every account running, 1% past their depletes_at),
then ANALYZE. The figure is the wall time of one `license_server.sweep.sweep(ctx)` pass at that now, with the
server's default SWEEP_WORKERS (a pass with many stops cut into that many slices side by side, one per core up to
4; `sweep_workers` says how many): it must suspend exactly the due accounts and write their final charge lines
(R18, R25).
"""

from __future__ import annotations

import io
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import ROOT, Missing, bench_main, postgres  # noqa: E402

FIGURES = ("sweep_1m_s",)
NOW = 1_800_000_000
DAY = 86_400
PARTNER = "Bench Partner"
PRICE_VERSION = "bench-1"
MONTHLY = (1_250, 400, 2_000, 9_500)
REFS = ("01-00010-001", "01-00020-001", "01-00030-001", "01-00040-001")


def _rows(total: int, due_every: int):
    """(account, pbx, license) text rows for COPY; every due_every-th account is past its depletes_at."""
    accounts, pbxs, licenses = io.StringIO(), io.StringIO(), io.StringIO()
    week = 7 * DAY
    for n in range(total):
        account_id = str(uuid.UUID(int=(0xBE7C << 112) | n))
        kind = n % 4
        qty = 1 + n % 7
        rate = 12 * MONTHLY[kind] * qty
        if n % due_every == 0:
            depletes_at = NOW - 1 - (n // due_every) % (3 * DAY)  # ran out within the last three days
            as_of = depletes_at - 20 * DAY
            reminder_sent_at, reminder_due_at = depletes_at - DAY, r"\N"  # the last reminder went a day before
        else:
            depletes_at = NOW + 8 * week + (n * 7919) % (300 * DAY)  # beyond the first reminder (R20)
            as_of = NOW - (n % 30) * DAY
            reminder_sent_at, reminder_due_at = r"\N", depletes_at - 7 * week
        balance = rate * (depletes_at - as_of) + (n % rate)  # depletes_at = as_of + balance // rate exactly
        accounts.write(
            f"{account_id}\t{PARTNER}\tCustomer {n}\tc{n}@example.com\tf\ten\t{3 + n % 5}\t{as_of}\t{balance}\t{rate}\t"
            f"f\tf\t{depletes_at}\t{as_of}\t{PRICE_VERSION}\t{reminder_sent_at}\t{reminder_due_at}\t{as_of - 90 * DAY}\n")
        pbxs.write(f"{account_id}\tpbx-1\tPBX {n}\tSN{n:09d}\tvmware\t\\N\t14r1\trental\t2\n")
        licenses.write(f"{account_id}\tpbx-1\t{REFS[kind]}\t{qty}\t{MONTHLY[kind]}\t{PRICE_VERSION}\n")
    return accounts.getvalue(), pbxs.getvalue(), licenses.getvalue()


ACCOUNT_COLUMNS = ("id, partner, name, contact_email, cloud_contract, language, revision, as_of, balance_ticks, "
                   "rate_ticks_per_s, suspended, deleted, depletes_at, last_activity_at, price_version, "
                   "reminder_sent_at, reminder_due_at, created_at")


def load(url_dsn: str, total: int, due_every: int) -> float:
    """COPY the accounts in; returns the seconds it took (reported, not a goal)."""
    import psycopg

    start = time.perf_counter()
    accounts, pbxs, licenses = _rows(total, due_every)
    with psycopg.connect(url_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO partners (name, created_at) VALUES (%s, %s)", (PARTNER, NOW - 400 * DAY))
        for table, columns, data in (
                ("accounts", ACCOUNT_COLUMNS, accounts),
                ("pbxs", "account_id, pbx_id, name, serial, platform, hardware_model, firmware, mode, revision", pbxs),
                ("licenses", "account_id, pbx_id, ref, qty, monthly_milli, price_version", licenses)):
            with conn.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    view = memoryview(data.encode())
                    for offset in range(0, len(view), 1 << 20):
                        copy.write(view[offset:offset + (1 << 20)])
        # the COPYs' commits flushed, then every table vacuumed before any is analyzed: this cluster commits
        # asynchronously, and VACUUM marks a page all-visible only once its rows' commit is known flushed, which
        # PostgreSQL tracks per group of transactions; an ANALYZE's own commit in the group of the last COPY's left
        # no page of the licenses all-visible, unlike a server's tables once autovacuum has been by (issue 27,
        # docs/benchmarks.md §30)
        conn.execute("CHECKPOINT")
        for table in ("accounts", "pbxs", "licenses"):
            conn.execute(f"VACUUM {table}")
        for table in ("accounts", "pbxs", "licenses"):
            conn.execute(f"ANALYZE {table}")
        # the load's dirty pages written out now, as a server's checkpointer does within minutes of any load: the
        # pass then times the sweep's own work, not 14,000 pages of the COPY written out to make room (issue 27)
        conn.execute("CHECKPOINT")
    return time.perf_counter() - start


def compute(args) -> dict:
    if not (ROOT / "license_server" / "sweep.py").exists():
        raise Missing("license_server/sweep.py has not landed yet")
    from license_server import migrations, sweep as sweep_mod
    from license_server.context import ServerContext

    total = 100_000 if args.quick else 1_000_000
    due_every = 100
    with postgres() as pg:
        url = pg.create_database("bench_sweep")
        ctx = ServerContext.from_config({"DATABASE_URL": url, "CLOCK": lambda: NOW, "INSTANCE_PATH": str(pg.data_dir)})
        migrations.upgrade(ctx.engine)
        dsn = f"host=127.0.0.1 port={pg.port} user=postgres dbname=bench_sweep"
        load_s = load(dsn, total, due_every)
        ctx.engine.dispose()  # a fresh pool, as a sweeper process would start with
        start = time.perf_counter()
        report = sweep_mod.sweep(ctx)
        elapsed = time.perf_counter() - start
        expected = -(-total // due_every)
        if report.suspended != expected:
            raise RuntimeError(f"the sweep suspended {report.suspended} accounts, expected {expected}")
        import psycopg

        with psycopg.connect(dsn) as conn:
            charged = conn.execute("SELECT count(*) FROM ledger WHERE kind = 'charge'").fetchone()[0]
        if charged != expected:
            raise RuntimeError(f"the sweep wrote {charged} charge lines, expected {expected}")
        ctx.engine.dispose()
    figure = "sweep_1m_s" if not args.quick else "sweep_100k_s"
    result = {figure: elapsed, "sweep_accounts": total, "sweep_due": expected, "sweep_load_s": load_s,
              "sweep_workers": ctx.settings.SWEEP_WORKERS}
    if args.quick:
        result["sweep_1m_s"] = None
        result["_reasons"] = {"sweep_1m_s": "quick run: 100,000 accounts only (see sweep_100k_s)"}
    return result


if __name__ == "__main__":
    bench_main(__doc__.splitlines()[0], FIGURES, compute)
