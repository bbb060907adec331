"""Profile the license server's POST /sync in-process (pyinstrument): single redeem_key ops, then batches of 100.

Not part of `make bench`; run it by hand when a sync figure misses its goal:
    .venv/bin/python bench/profile_sync.py [--db URL] [--single N] [--batches N]
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server_setup import PRICES, REFS, new_op  # noqa: E402
from bench.support import VENV_BIN, temp_dir  # noqa: E402


def decode(envelope: dict) -> dict:
    raw = envelope["payload"]
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--no-profile", action="store_true", help="time only (the profiler slows Python ~2x)")
    args = parser.parse_args(argv)
    from pyinstrument import Profiler

    if args.no_profile:
        class Profiler:  # noqa: F811 - a stand-in that records nothing
            def start(self): pass
            def stop(self): pass
            def output_text(self, **_): return ""

    from license_server import create_app

    with temp_dir("rentdesk-profile-") as folder:
        env_db = args.db or f"sqlite:///{folder / 'server.sqlite3'}"
        env = {"LICENSE_SERVER_DATABASE_URL": env_db, "LICENSE_SERVER_INSTANCE_PATH": str(folder),
               "LICENSE_SERVER_SIGNING_KEY_PATH": str(folder / "keys" / "bench.key")}
        import os

        cli = lambda *a: subprocess.run([str(VENV_BIN / "license-server"), *a], env={**os.environ, **env},  # noqa: E731
                                        check=True, capture_output=True, text=True).stdout
        cli("gen-key", "--kid", "bench", "--out", str(folder / "keys"))
        cli("init-db")
        (folder / "prices.json").write_text(json.dumps(PRICES))
        cli("publish-prices", str(folder / "prices.json"))
        token = cli("add-technician", "--partner", "P", "--name", "T").split()[-1]
        app = create_app({"DATABASE_URL": env_db, "INSTANCE_PATH": str(folder),
                          "SIGNING_KEY_PATH": str(folder / "keys" / "bench.key")})
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        signer = app.extensions["license_server"].signer

        def sync(ops):
            response = client.post("/api/v1/sync", json={"client_id": str(uuid.uuid4()), "ops": ops}, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
            body = response.get_json()
            return [decode(e) for e in body["results"]], {p["account_id"]: p for p in map(decode, body["accounts"])}

        accounts = {}
        for n in range(10):
            account_id = str(uuid.uuid4())
            ops = [new_op("create_account", account_id, name=f"C{n}", contact_email=f"c{n}@example.com",
                          cloud_contract=False),
                   new_op("redeem_key", account_id, key=signer.issue_key(100_000_000, int(time.time())))]
            ops += [new_op("register_pbx", account_id, pbx_id=f"pbx-{p}", name=f"P{p}", serial=f"S{n}{p}",
                           platform="vmware", firmware="14r1", mode="rental") for p in range(10)]
            results, snaps = sync(ops)
            assert all(r["status"] == "applied" for r in results), results
            accounts.update(snaps)
        keys = [signer.issue_key(1000, int(time.time())) for _ in range(args.single)]
        ids = list(accounts)

        profiler = Profiler()
        profiler.start()
        start, cpu = time.perf_counter(), time.process_time()
        for i, key in enumerate(keys):
            results, _ = sync([new_op("redeem_key", ids[i % len(ids)], key=key)])
        single_s, single_cpu = time.perf_counter() - start, time.process_time() - cpu
        profiler.stop()
        print(f"single: {args.single / single_s:,.0f} requests/s in-process, "
              f"{single_cpu / args.single * 1000:.3f} ms of CPU each (client included)")
        print(profiler.output_text(unicode=False, color=False))

        profiler = Profiler()
        profiler.start()
        start, cpu = time.perf_counter(), time.process_time()
        for qty in range(2, 2 + args.batches):
            ops = [new_op("set_licenses", a, pbx_id=p["pbx_id"], base_revision=p["revision"], items={REFS[1]: qty})
                   for a, snap in accounts.items() for p in snap["pbxs"]]
            results, snaps = sync(ops)
            assert all(r["status"] == "applied" for r in results), results[0]
            accounts.update(snaps)
        batched_s, batched_cpu = time.perf_counter() - start, time.process_time() - cpu
        profiler.stop()
        print(f"batched: {args.batches * 100 / batched_s:,.0f} ops/s in-process, "
              f"{batched_cpu / (args.batches * 100) * 1000:.3f} ms of CPU per op (client included)")
        print(profiler.output_text(unicode=False, color=False))


if __name__ == "__main__":
    main()
