"""Benchmark the pure core: settles per second, and envelope sign/verify beside raw Ed25519.

Prints one figure a line and, with --json, a JSON object (merged into bench/results.json by run.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from rental.billing import Account, Line, settle  # noqa: E402
from rental.signing import Keyring, SigningKey  # noqa: E402

T0 = 1_767_225_600


def per_second(fn, budget_s: float = 1.0, batch: int = 1000) -> float:
    """Calls of fn per second over about budget_s seconds of wall time (bench only, never a test)."""
    count = 0
    start = time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        count += batch
        elapsed = time.perf_counter() - start
        if elapsed >= budget_s:
            return count / elapsed


def bench_settle(budget_s: float) -> dict[str, float]:
    """Settles per second of wall time (the figure) and per second of this process's CPU time (for context: on a
    shared machine the wall figure counts the other processes' share of the cores too, the CPU figure does not)."""
    lines = tuple(Line("pbx-1", f"01-000{i:02d}-001", 1 + i, 1000 + 37 * i, "bench") for i in range(5))
    account = Account(as_of=T0, balance=10**18, lines=lines, last_activity_at=T0)
    state = {"t": T0}

    def one():
        state["t"] += 17
        settle(account, state["t"])

    wall, cpu = time.perf_counter(), time.process_time()
    rate = per_second(one, budget_s)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"billing_settles_per_s": rate, "billing_settles_per_cpu_s": rate * wall / cpu}


def bench_signing(budget_s: float) -> dict[str, float]:
    key = SigningKey.generate("bench")
    ring = Keyring().add("bench", key.public_pem())
    payload = {"type": "op-result", "op_id": "6f1c2a4e-0000-4000-8000-000000000000", "account_id": "a" * 36,
               "status": "applied", "rule": None, "message": "", "server_time": T0, "revision": 7}
    envelope = key.sign_envelope("op-result", payload)
    raw = Ed25519PrivateKey.generate()
    raw_pub = raw.public_key()
    message = b"x" * 200
    raw_sig = raw.sign(message)
    figures = {
        "envelope_sign_per_s": per_second(lambda: key.sign_envelope("op-result", payload), budget_s, 200),
        "envelope_verify_per_s": per_second(lambda: ring.verify_envelope(envelope, "op-result"), budget_s, 200),
        "raw_sign_per_s": per_second(lambda: raw.sign(message), budget_s, 200),
        "raw_verify_per_s": per_second(lambda: raw_pub.verify(raw_sig, message), budget_s, 200),
    }
    figures["sign_ratio"] = figures["envelope_sign_per_s"] / figures["raw_sign_per_s"]
    figures["verify_ratio"] = figures["envelope_verify_per_s"] / figures["raw_verify_per_s"]
    return figures


def main(argv=None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=float, default=1.5, help="seconds per figure")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--quick", action="store_true", help="short budget, to check the harness")
    args = parser.parse_args(argv)
    if args.quick:
        args.budget = 0.3
    figures = {**bench_settle(args.budget), **bench_signing(args.budget)}
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:28} {value:14,.2f}")
    return figures


if __name__ == "__main__":
    main()
