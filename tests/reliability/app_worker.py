"""A desktop-app core in its own process, for tests that SIGKILL it mid-write or mid-sync.

    python -m tests.reliability.app_worker write HOME PASSPHRASE SEED
    python -m tests.reliability.app_worker sync  HOME PASSPHRASE SEED [KEYS_FILE]

`write` queues ops through app.services forever and prints "ack <op_id>" once each returned
(so was committed); `sync` alternates queueing and sync_now, printing "ack" likewise and
"synced <applied>" after each completed sync. The parent kills it at a random moment and
checks the store: it opens, it is consistent, and every acknowledged op is there.
"""

from __future__ import annotations

import random
import sys

from app import services
from app.clock import SystemClock

FAST_KDF = {"name": "scrypt", "n": 2**10, "r": 8, "p": 1}  # tests only: the real cost is in app/store.py


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def queue_some(store, clock, rng: random.Random, accounts: list[str], keys: list[str]) -> None:
    """One random write a technician could make offline."""
    choice = rng.random()
    if keys and accounts and choice < 0.2:
        queued = services.load_key(store.unit_of_work(), clock, rng.choice(accounts), keys.pop())
    elif not accounts or choice < 0.3:
        queued = services.create_account(store.unit_of_work(), clock, f"Customer {rng.randrange(10**6)}",
                                         f"it{rng.randrange(10**6)}@example.com")
        accounts.append(queued.account_id)
    elif choice < 0.6:
        queued = services.update_account(store.unit_of_work(), clock, rng.choice(accounts),
                                         name=f"Renamed {rng.randrange(10**6)}")
    else:
        queued = services.register_pbx(store.unit_of_work(), clock, rng.choice(accounts),
                                       name=f"PBX {rng.randrange(1000)}", serial=f"SN{rng.randrange(10**8)}",
                                       platform="vmware", firmware="14r1", mode="rental")
    say(f"ack {queued.op_id}")


def main(argv: list[str]) -> int:
    mode, home, passphrase, seed = argv[1], argv[2], argv[3], int(argv[4])
    # Optional: a file of activation keys; this run uses its own slice (keys are loaded once).
    keys = open(argv[5]).read().split()[seed * 50:(seed + 1) * 50] if len(argv) > 5 else []
    rng = random.Random(seed)
    clock = SystemClock()
    store = services.unlock(home, passphrase, demo=True)
    say("ready")
    accounts: list[str] = []
    while True:
        queue_some(store, clock, rng, accounts, keys)
        if mode == "sync" and rng.random() < 0.3:
            report = services.sync_now(store, clock)
            say(f"synced {report.applied} {report.ok}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
