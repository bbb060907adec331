"""Fifty laptops sync random valid and invalid ops at once against gunicorn on PostgreSQL: nothing lost.

Each simulated laptop is a thread with its own technician token (five partners), sending
batches of 1-8 ops to POST /api/v1/sync for a bounded time: accounts, PBXs, licenses, keys
from a pool the laptops fight over, and every kind of wrong op (bad fields, rules broken,
forged keys, another partner's account, an op_id reused for other content), plus resends of
earlier batches. Afterwards: no 5xx, every op answered once and the same on resend, every key
redeemed at most once, every balance equal to its ledger to the tick, and ≥ 0.
"""

from __future__ import annotations

import base64
import json
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import create_engine, text

from rental.signing import Keyring, SigningKey
from tests.support.license_server import GunicornLicenseServer, demo_keyring

from .figures import record
from .ledger import audit_database

SOAK = bool(os.environ.get("RENTDESK_SOAK"))
LAPTOPS = 50
PARTNERS = 5
REFS = ["01-00010-001", "01-00010-010", "01-00020-001", "01-00022-001", "01-00030-001", "01-00036-001"]
FORGER = SigningKey.generate("demo")  # knows the kid and the format, not the demo private key


def payload_of(envelope: dict) -> dict:
    return json.loads(base64.urlsafe_b64decode(envelope["payload"] + "=" * (-len(envelope["payload"]) % 4)))


@dataclass
class Tally:
    """What the laptops saw, merged under a lock."""

    requests: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    five_xx: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)  # op_id → first result payload
    envelopes: dict[str, dict] = field(default_factory=dict)  # op_id → first result envelope
    sent_ops: dict[str, dict] = field(default_factory=dict)  # op_id → the op as first sent
    answers: dict[str, list] = field(default_factory=dict)  # op_id → every (payload, envelope) answered
    op_status: dict[str, int] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)
    bad_signatures: int = 0
    foreign_accounts_seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Laptop(threading.Thread):
    """One technician's laptop syncing random work until the deadline."""

    def __init__(self, number: int, url: str, token: str, partner: str, keys: list[str], others: list[str],
                 tally: Tally, deadline: float, keyring: Keyring, seed: int):
        super().__init__(name=f"laptop-{number}", daemon=True)
        self.url, self.token, self.partner = url, token, partner
        self.keys, self.others, self.tally, self.deadline, self.keyring = keys, others, tally, deadline, keyring
        self.rng = random.Random(seed)
        self.client_id = str(uuid.uuid4())
        self.accounts: dict[str, dict] = {}  # account_id → last verified payload
        self.pbxs: dict[str, list[str]] = {}
        self.history: list[list[dict]] = []
        self.error: BaseException | None = None

    # ----------------------------------------------------------------- ops
    def op(self, kind: str, account_id: str, **fields) -> dict:
        return {"op_id": str(uuid.uuid4()), "kind": kind, "account_id": account_id, **fields}

    def revision(self, account_id: str, pbx_id: str) -> int:
        for pbx in self.accounts.get(account_id, {}).get("pbxs", []):
            if pbx["pbx_id"] == pbx_id:
                return pbx["revision"]
        return 1

    def valid_op(self) -> dict:
        rng = self.rng
        roll = rng.random()
        if not self.accounts or roll < 0.1:
            account_id = str(uuid.uuid4())
            self.accounts[account_id] = {}
            self.pbxs[account_id] = []
            return self.op("create_account", account_id, name=f"Client {rng.randrange(10**6)}",
                           contact_email=f"c{rng.randrange(10**6)}@example.com", cloud_contract=rng.random() < 0.2)
        account_id = rng.choice(list(self.accounts))
        if roll < 0.35:
            return self.op("redeem_key", account_id, key=rng.choice(self.keys))  # laptops race for the same keys
        if roll < 0.5 or not self.pbxs[account_id]:
            pbx_id = f"pbx-{uuid.uuid4().hex[:12]}"
            self.pbxs[account_id].append(pbx_id)
            return self.op("register_pbx", account_id, pbx_id=pbx_id, name="Main", serial=f"SN{rng.randrange(10**8)}",
                           platform=rng.choice(["vmware", "hyper-v", "hardware"]), firmware="14r1", mode="rental")
        pbx_id = rng.choice(self.pbxs[account_id])
        if roll < 0.9:
            items = {ref: rng.randint(1, 20) for ref in rng.sample(REFS, rng.randint(0, 3))}
            return self.op("set_licenses", account_id, pbx_id=pbx_id, base_revision=self.revision(account_id, pbx_id),
                           items=items)
        if roll < 0.95:
            return self.op("update_pbx", account_id, pbx_id=pbx_id, base_revision=self.revision(account_id, pbx_id),
                           name=f"Renamed {rng.randrange(99)}")
        return self.op("update_account", account_id, name=f"Client renamed {rng.randrange(10**6)}")

    def invalid_op(self) -> dict | object:
        rng = self.rng
        account_id = rng.choice(list(self.accounts) or [str(uuid.uuid4())])
        pbx_id = rng.choice(self.pbxs.get(account_id) or ["pbx-none"])
        choices = [
            lambda: self.op("create_account", str(uuid.uuid4()), name="", contact_email="not-an-email", cloud_contract=1),
            lambda: self.op("register_pbx", account_id, pbx_id="x" * 80, name="X", serial="S", platform="bare-metal",
                            firmware="14r1", mode="rental"),
            lambda: self.op("register_pbx", account_id, pbx_id=f"old-{uuid.uuid4().hex[:8]}", name="Old", serial="S",
                            platform="vmware", firmware="12r2", mode="rental"),  # R1
            lambda: self.op("register_pbx", account_id, pbx_id=f"cl-{uuid.uuid4().hex[:8]}", name="Cloud", serial="S",
                            platform="cloud", firmware="14r1", mode="rental"),  # R7 without contract (mostly)
            lambda: self.op("set_licenses", account_id, pbx_id=pbx_id, base_revision=1, items={"01-00500-001": 1}),  # R2
            lambda: self.op("set_licenses", account_id, pbx_id=pbx_id, base_revision=self.revision(account_id, pbx_id),
                            items={"01-00030-001": 10**6}),  # R14 or bad-op (too many)
            lambda: self.op("set_licenses", account_id, pbx_id=pbx_id, base_revision=-1, items={"01-00010-001": -3}),
            lambda: self.op("set_licenses", account_id, pbx_id=pbx_id, base_revision=0, items={"01-00010-001": 1.5}),
            lambda: self.op("redeem_key", account_id, key="ISC1-NOT-A-KEY"),
            lambda: self.op("redeem_key", account_id, key=FORGER.issue_key(999_000, 1_767_225_600)),  # forged
            lambda: self.op("redeem_key", rng.choice(self.others), key=rng.choice(self.keys)),  # another partner's account
            lambda: self.op("set_licenses", rng.choice(self.others), pbx_id="p", base_revision=1, items={}),
            lambda: self.op("delete_account", account_id, confirm_forfeit_milli=0),  # R13 while it holds credit
            lambda: self.op("frobnicate", account_id),
            lambda: {"op_id": "not-a-uuid", "kind": "create_account", "account_id": account_id},
            lambda: ["not", "an", "op"],
            lambda: self.reused_op(),
        ]
        return rng.choice(choices)()

    def reused_op(self) -> dict:
        """An op_id seen before, with other content: op-reuse, never applied."""
        with self.tally.lock:
            known = [op for op in list(self.tally.sent_ops.values())[-200:] if isinstance(op, dict)]
        if not known:
            return self.op("frobnicate", str(uuid.uuid4()))
        op = dict(self.rng.choice(known))
        op["account_id"] = str(uuid.uuid4())
        return op

    # ----------------------------------------------------------------- traffic
    def send(self, client: httpx.Client, ops: list) -> None:
        started = time.perf_counter()
        try:
            response = client.post("/sync", json={"client_id": self.client_id, "ops": ops})
        except httpx.HTTPError as exc:
            with self.tally.lock:
                self.tally.transport_errors.append(repr(exc))
            return
        elapsed = time.perf_counter() - started
        with self.tally.lock:
            self.tally.requests += 1
            self.tally.latencies.append(elapsed)
            self.tally.statuses[response.status_code] = self.tally.statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                self.tally.five_xx.append(f"{response.status_code}: {response.text[:300]}")
        if response.status_code != 200:
            return
        answer = response.json()
        for envelope in answer["results"]:
            payload = self.keyring.verify_envelope(envelope, "op-result")
            self.record(payload, envelope)
        for envelope in answer["accounts"]:
            payload = self.keyring.verify_envelope(envelope, "account")
            if payload["partner"] != self.partner:
                with self.tally.lock:
                    self.tally.foreign_accounts_seen.append(payload["account_id"])
            if payload["account_id"] in self.accounts:
                self.accounts[payload["account_id"]] = payload

    def record(self, payload: dict, envelope: dict) -> None:
        op_id = payload["op_id"]
        tally = self.tally
        with tally.lock:
            tally.op_status[payload["status"]] = tally.op_status.get(payload["status"], 0) + 1
            if payload.get("rule"):
                tally.rules[payload["rule"]] = tally.rules.get(payload["rule"], 0) + 1
            if not isinstance(op_id, str) or len(op_id) != 36:
                return  # an op with no valid op_id is answered but never stored
            tally.results.setdefault(op_id, payload)
            tally.envelopes.setdefault(op_id, envelope)
            tally.answers.setdefault(op_id, []).append((payload, envelope))

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.url + "/api/v1", headers={"Authorization": f"Bearer {self.token}"},
                              timeout=60) as client:
                while time.monotonic() < self.deadline:
                    if self.history and self.rng.random() < 0.1:
                        self.send(client, self.rng.choice(self.history))  # a resend: same op_ids, same answers
                        continue
                    ops = [self.valid_op() if self.rng.random() < 0.75 else self.invalid_op()
                           for _ in range(self.rng.randint(1, 8))]
                    with self.tally.lock:
                        for op in ops:
                            if isinstance(op, dict) and isinstance(op.get("op_id"), str):
                                self.tally.sent_ops.setdefault(op["op_id"], op)
                    self.history.append(ops)
                    self.send(client, ops)
        except BaseException as exc:  # surfaced by the test, never swallowed
            self.error = exc


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@pytest.mark.parametrize("seconds", [pytest.param(180, marks=pytest.mark.slow, id="soak") if SOAK else
                                     pytest.param(20, id="short")])
def test_fifty_laptops_syncing_at_once_lose_nothing_and_break_no_balance(tmp_path, postgres_url, seconds):
    server = GunicornLicenseServer(postgres_url, tmp_path, workers=4).start()
    engine = create_engine(postgres_url)
    try:
        tokens = [(f"Partner {i % PARTNERS}", server.add_technician(f"Partner {i % PARTNERS}", f"Tech {i}"))
                  for i in range(LAPTOPS)]
        keys = server.issue_keys("150", 400)
        keys += server.issue_keys("0.5", 50)  # small keys: some accounts run dry and get suspended (R18)
        # An account of another partner that every laptop will poke at (isolation under load).
        outsider = str(uuid.uuid4())
        with server.client(server.add_technician("Outsider", "Olga")) as client:
            assert client.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [
                {"op_id": str(uuid.uuid4()), "kind": "create_account", "account_id": outsider, "name": "Secret Co",
                 "contact_email": "secret@example.com", "cloud_contract": False}]}).status_code == 200
        tally = Tally()
        keyring = demo_keyring()
        started = time.monotonic()
        laptops = [Laptop(i, server.url, token, partner, keys, [outsider], tally, started + seconds, keyring, seed=i)
                   for i, (partner, token) in enumerate(tokens)]
        for laptop in laptops:
            laptop.start()
        for laptop in laptops:
            laptop.join(seconds + 120)
        elapsed = time.monotonic() - started
        errors = [repr(laptop.error) for laptop in laptops if laptop.error is not None]
        assert not errors, errors[:3]
        assert not any(laptop.is_alive() for laptop in laptops), "a laptop hung"

        assert tally.five_xx == [], tally.five_xx[:5]
        assert tally.transport_errors == [], tally.transport_errors[:5]
        assert tally.foreign_accounts_seen == [], "another partner's account was shown"

        with engine.connect() as conn:
            stored = {row.op_id: row for row in conn.execute(text("SELECT op_id, partner, result FROM ops"))}
            outsider_lines = conn.execute(text("SELECT count(*) FROM ledger WHERE account_id = :a"),
                                          {"a": outsider}).scalar()
            redeemed = conn.execute(text("SELECT count(*) FROM redeemed_keys")).scalar()
        # Nothing lost: every op answered with a valid op_id (other than op-reuse) is stored, with that answer.
        lost = [op_id for op_id, payload in tally.results.items()
                if payload.get("rule") not in ("op-reuse", "bad-op") and op_id not in stored]
        assert not lost, f"{len(lost)} answered ops are not stored: {lost[:5]}"
        # Exactly once: every answer for a stored op_id (first send and resends) is the stored result itself,
        # except the op-reuse refusals of the same op_id with other content; an op never stored was never applied.
        differ, resends = [], 0
        for op_id, answers in tally.answers.items():
            if op_id in stored:
                expected = json.loads(stored[op_id].result)
                differ += [op_id for payload, envelope in answers
                           if payload.get("rule") != "op-reuse" and envelope != expected]
                resends += len(answers) - 1
            else:
                assert all(payload["status"] != "applied" for payload, _ in answers), op_id
        assert not differ, f"an answer differs from the stored result for {differ[:5]}"
        # Every key redeemed at most once, whatever the race: one applied redeem per redeemed key.
        applied_keys: dict[str, int] = {}
        for op_id, payload in tally.results.items():
            op = tally.sent_ops.get(op_id)
            if payload["status"] == "applied" and isinstance(op, dict) and op.get("kind") == "redeem_key":
                applied_keys[op["key"]] = applied_keys.get(op["key"], 0) + 1
        assert all(count == 1 for count in applied_keys.values()), "a key was redeemed twice"
        assert redeemed == len(applied_keys)
        assert outsider_lines == 0, "another partner's laptops moved money on the outsider's account"
        audit = audit_database(engine)
        audit.assert_clean()

        ops_answered = sum(tally.op_status.values())
        figures = {
            "laptops": LAPTOPS, "partners": PARTNERS, "seconds": round(elapsed, 1), "requests": tally.requests,
            "ops_answered": ops_answered, "ops_per_s": round(ops_answered / elapsed, 1),
            "requests_per_s": round(tally.requests / elapsed, 1),
            "p50_ms": round(sorted(tally.latencies)[len(tally.latencies) // 2] * 1000, 1),
            "p99_ms": round(p99(tally.latencies) * 1000, 1), "status_codes": tally.statuses,
            "op_statuses": tally.op_status, "rules": tally.rules, "keys_redeemed": redeemed,
            "accounts": audit.accounts, "ledger_lines": audit.ledger_lines,
            "ops_resent": resends, "five_xx": 0, "lost": 0, "duplicated": 0, "balance_mismatches": 0,
            "gunicorn_workers": 4, "database": "PostgreSQL 15",
        }
        record("load", **figures)
        print(json.dumps(figures))
        assert tally.op_status.get("applied", 0) > 0 and tally.op_status.get("rejected", 0) > 0
    finally:
        engine.dispose()
        server.stop()
