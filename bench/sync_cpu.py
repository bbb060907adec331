"""CPU per single-op POST /sync in process: the server's WSGI app called directly (no socket, no test client).

Not part of `make bench`; run it by hand beside bench/worker_cpu.py (docs/benchmarks.md §20):

    .venv/bin/python bench/sync_cpu.py [--rounds 5] [--requests 300] [--profile]

Instructions per request, which no other process on the machine changes (valgrind from Debian; divide by --requests):

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce --callgrind-out-file=/tmp/cg.%p \
        .venv/bin/python bench/sync_cpu.py --callgrind --requests 200

Each request redeems a fresh key on one of 8 funded accounts, like sync_http.py's wrk script. The figure is the
least of the rounds' CPU per request (time.process_time: what other processes on the machine do hardly changes it),
next to GET /api/v1/health's; --profile prints cProfile's view instead (the profiler doubles Python's cost).

What the request line and metrics hooks cost (docs/benchmarks.md §31): `--hooks observed` runs the server as operators
do (METRICS on in multiprocess mode, a folder of its own; LOG_FORMAT=json, every request line written to a file),
`--hooks none` the same app with the hooks of license_server.logs and .metrics removed (as
bench/without_observability.py does in gunicorn's workers); the difference of their callgrind counts is the hooks'.
The default (`--hooks quiet`) keeps the hooks with metrics off and the request lines quietened, as before.
The hooks' instructions alone, inside real requests (steadier than a difference of two runs: a sync's own count
moves by ±0.5 % between runs, a third of the hooks'): `--wrap-hooks` calls each hook through operator.call, and

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=_operator_call --callgrind-out-file=/tmp/cg.%p \
        .venv/bin/python bench/sync_cpu.py --callgrind --requests 200 --hooks observed --wrap-hooks
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server_setup import PRICES, REFS, new_op  # noqa: E402
from bench.support import VENV_BIN, temp_dir  # noqa: E402
from bench.without_observability import change_hooks  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--profile", action="store_true", help="one round under cProfile, its top functions")
    parser.add_argument("--callgrind", action="store_true",
                        help="one round inside functools.reduce, for callgrind to count its instructions alone")
    parser.add_argument("--hooks", choices=("quiet", "observed", "none"), default="quiet",
                        help="observed: metrics (multiprocess) and JSON lines to a file; none: those hooks removed")
    parser.add_argument("--wrap-hooks", action="store_true",
                        help="call the request-log and metrics hooks through operator.call (callgrind counts them)")
    args = parser.parse_args(argv)
    from werkzeug.test import EnvironBuilder

    from license_server import create_app

    with temp_dir("rentdesk-sync-cpu-") as folder:
        database = f"sqlite:///{folder / 'server.sqlite3'}"
        env = {**os.environ, "LICENSE_SERVER_DATABASE_URL": database, "LICENSE_SERVER_INSTANCE_PATH": str(folder),
               "LICENSE_SERVER_SIGNING_KEY_PATH": str(folder / "keys" / "bench.key")}

        def cli(*command: str) -> str:
            return subprocess.run([str(VENV_BIN / "license-server"), *command], env=env, check=True,
                                  capture_output=True, text=True).stdout

        cli("gen-key", "--kid", "bench", "--out", str(folder / "keys"))
        cli("init-db")
        (folder / "prices.json").write_text(json.dumps(PRICES), "utf-8")
        cli("publish-prices", str(folder / "prices.json"))
        token = cli("add-technician", "--partner", "Bench Partner", "--name", "Bench Tech").split()[-1]
        if args.hooks == "observed":  # before prometheus_client is imported: it picks multiprocess mode at import
            assert "prometheus_client" not in sys.modules
            (folder / "metrics").mkdir()
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder / "metrics")
        observed = {"METRICS": True, "LOG_FORMAT": "json"} if args.hooks == "observed" else {}
        app = create_app({"DATABASE_URL": database, "INSTANCE_PATH": str(folder),
                          "SIGNING_KEY_PATH": str(folder / "keys" / "bench.key"), **observed})
        if args.hooks == "observed":  # every request line written, to a file rather than the terminal
            sys.stderr = open(folder / "requests.log", "a", encoding="utf-8")
        else:
            logging.getLogger("license_server.requests").setLevel(logging.WARNING)  # no request lines on the terminal
        if args.wrap_hooks:
            import operator

            change_hooks(app, lambda hook: lambda *given: operator.call(hook, *given))
        if args.hooks == "none":
            change_hooks(app, lambda hook: None)
        signer = app.extensions["license_server"].signer
        client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
        accounts = []
        for n in range(8):  # funded accounts, each renting one PBX (a redemption re-rates and settles it)
            account = str(uuid.uuid4())
            accounts.append(account)
            ops = [new_op("create_account", account, name=f"Customer {n}", contact_email=f"c{n}@example.com",
                          cloud_contract=False),
                   new_op("redeem_key", account, key=signer.issue_key(100_000_000, int(time.time()))),
                   new_op("register_pbx", account, pbx_id="pbx-0", name="PBX", serial=f"S{n}", platform="vmware",
                          firmware="14r1", mode="rental")]
            answer = client.post("/api/v1/sync", json={"client_id": str(uuid.uuid4()), "ops": ops}, headers=headers)
            payload = answer.get_json()["accounts"][0]["payload"]
            revision = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["pbxs"][0]["revision"]
            ops = [new_op("set_licenses", account, pbx_id="pbx-0", base_revision=revision, items={REFS[0]: 1})]
            assert client.post("/api/v1/sync", json={"client_id": str(uuid.uuid4()), "ops": ops},
                               headers=headers).status_code == 200

        def syncs(count: int) -> list[dict]:
            out = []
            for index in range(count):
                op = new_op("redeem_key", accounts[index % 8], key=signer.issue_key(1000, int(time.time())))
                body = json.dumps({"client_id": str(uuid.uuid4()), "ops": [op]}).encode()
                out.append(EnvironBuilder(path="/api/v1/sync", method="POST", data=body,
                                          content_type="application/json", headers=headers).get_environ())
            return out

        def healths(count: int) -> list[dict]:
            return [EnvironBuilder(path="/api/v1/health", method="GET").get_environ() for _ in range(count)]

        statuses: list[str] = []

        def start_response(status, _headers, _exc_info=None):
            statuses.append(status)

        def run(environs: list[dict]) -> float:
            """ms of CPU per request."""
            started = time.process_time()
            for environ in environs:
                answer = app(environ, start_response)
                b"".join(answer)
                getattr(answer, "close", lambda: None)()
            return (time.process_time() - started) / len(environs) * 1000

        run(syncs(50))  # warm: the price list cached, the interpreter's specialisations made
        if args.callgrind:  # the requests alone, inside the one C function callgrind is told to count
            import functools

            def one(count: int, environ: dict) -> int:
                answer = app(environ, start_response)
                b"".join(answer)
                getattr(answer, "close", lambda: None)()
                return count + 1

            functools.reduce(one, syncs(args.requests), 0)
            if any(not status.startswith("200") for status in statuses):
                raise SystemExit(f"not every request succeeded: {sorted(set(statuses))}")
            if args.hooks == "observed":
                sys.stderr.flush()
                lines = (folder / "requests.log").read_text("utf-8").count('"route": "/api/v1/sync"')
                page = app.extensions["license_server"].metrics.exposition()[0].decode()
                counted = next(line for line in page.splitlines()
                               if line.startswith("license_server_sync_duration_seconds_count"))
                print(f"{lines} /sync request lines written; {counted}")
            print(f"{args.requests} single-op syncs counted")
            return
        if args.profile:
            import cProfile
            import pstats

            environs = syncs(args.requests)
            profile = cProfile.Profile()
            profile.enable()
            run(environs)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(40)
            return
        sync_ms = [run(syncs(args.requests)) for _ in range(args.rounds)]
        health_ms = min(run(healths(args.requests)) for _ in range(3))
        if any(not status.startswith("200") for status in statuses):
            raise SystemExit(f"not every request succeeded: {sorted(set(statuses))}")
        print(f"single-op sync {min(sync_ms):.3f} ms of CPU (rounds: {', '.join(f'{v:.3f}' for v in sync_ms)}); "
              f"/health {health_ms:.3f} ms")


if __name__ == "__main__":
    main()
