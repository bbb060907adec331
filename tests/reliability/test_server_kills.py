"""The license server SIGKILLed at random points of a sync batch loses nothing and applies nothing twice.

gunicorn on PostgreSQL, killed as a whole process group before, during and after it commits
a batch the real app core (SQLCipher store, outbox, sync) is sending through the fault proxy;
sometimes the answer alone is cut after the commit. After restarts and resends: every op has
exactly one result, every key credited at most once, and every balance equals the ledger's
independent recomputation, to the tick — on the server and in the app's verified replica.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from app import services
from app.clock import MovableClock
from tests.support.faults import FaultProxy, KillableProcess
from tests.support.license_server import START, GunicornLicenseServer
from tests.support.postgres import free_port

from .app_worker import FAST_KDF
from .figures import record
from .ledger import audit_database
from .server_entry import FileClock

ROOT = Path(__file__).resolve().parents[2]
SOAK = bool(os.environ.get("RENTDESK_SOAK"))
PASSPHRASE = "correct horse battery staple"
REFS = ["01-00010-001", "01-00020-001", "01-00022-001", "01-00030-001", "01-00036-001"]


class Rig:
    """gunicorn (killable) behind the fault proxy, the app core's store, and both clocks kept equal."""

    def __init__(self, tmp_path: Path, database_url: str):
        self.admin = GunicornLicenseServer(database_url, tmp_path)  # migrates; its ctx does the vendor's admin
        self.admin.publish_prices(__import__("license_server.admin", fromlist=["x"]).demo_pricelist())
        self.server_clock = FileClock(tmp_path / "clock")
        self.server_clock.set(START)
        self.app_clock = MovableClock(START)
        port = free_port()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.server = KillableProcess(
            [str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}", "tests.reliability.server_entry:create_app()"],
            port=port, cwd=str(ROOT), log_path=str(tmp_path / "gunicorn.log"),
            env={**self.admin.env, "RENTDESK_TEST_CLOCK_FILE": str(tmp_path / "clock")})
        self.proxy = FaultProxy(("127.0.0.1", port))
        self.token = self.admin.add_technician("Acme Telecom", "Ann")
        self.keys = self.admin.issue_keys("400", 200)
        self.engine = create_engine(database_url)
        self.home = tmp_path / "laptop"

    def start(self) -> "Rig":
        self.server.start()
        self.proxy.start()
        self.store = services.initialise(self.home, PASSPHRASE, server_url=self.proxy.url, token=self.token,
                                         demo=True, kdf=FAST_KDF)
        return self

    def close(self) -> None:
        self.store.close()
        self.proxy.close()
        self.server.kill()
        self.engine.dispose()
        self.admin.ctx.engine.dispose()

    def advance(self, seconds: int) -> None:
        self.server_clock.advance(seconds)
        self.app_clock.advance(seconds)

    def sync(self):
        return services.sync_now(self.store, self.app_clock)

    def ops_on_server(self, op_ids) -> int:
        if not op_ids:
            return 0
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM ops WHERE op_id = ANY(:ids)"), {"ids": list(op_ids)}).scalar()

    def pending_op_ids(self) -> list[str]:
        with self.store.unit_of_work() as uow:
            return [op.op_id for op in uow.outbox.pending()]


class Technician:
    """Random, mostly valid work on the laptop; offline refusals are fine (they queue nothing)."""

    def __init__(self, rig: Rig, rng: random.Random):
        self.rig, self.rng = rig, rng
        self.queued: list[str] = []  # every op_id the app accepted, in order
        self.accounts: list[str] = []
        self.pbxs: dict[str, list[str]] = {}
        self.keys_used: list[str] = []
        self.offline_refusals = 0
        self.superseded: set[str] = set()

    def unsent_set_licenses(self, pbx_id: str) -> set[str]:
        with self.rig.store.unit_of_work() as uow:
            return {op.op_id for op in uow.outbox.pending()
                    if op.kind == "set_licenses" and op.pbx_id == pbx_id and op.attempts == 0}

    def _call(self, fn, *args, **kwargs):
        try:
            queued = fn(self.rig.store.unit_of_work(), self.rig.app_clock, *args, **kwargs)
        except (services.RuleViolation, services.NeedsConfirmation, services.NotFound):
            self.offline_refusals += 1
            return None
        self.queued.append(queued.op_id)
        return queued

    def work(self, count: int) -> None:
        rng = self.rng
        for _ in range(count):
            roll = rng.random()
            if not self.accounts or roll < 0.08:
                queued = self._call(services.create_account, f"Client {len(self.accounts)}",
                                    f"c{len(self.accounts)}@example.com")
                if queued:
                    self.accounts.append(queued.account_id)
                    self.pbxs[queued.account_id] = []
            elif roll < 0.3:
                account = rng.choice(self.accounts)
                if rng.random() < 0.15 and self.keys_used:
                    key = rng.choice(self.keys_used)  # a key already loaded: the server must say key-used
                else:
                    key = self.rig.keys[len(self.keys_used) % len(self.rig.keys)]
                    self.keys_used.append(key)
                self._call(services.load_key, account, key)
            elif roll < 0.45:
                account = rng.choice(self.accounts)
                queued = self._call(services.register_pbx, account, name=f"PBX {rng.randrange(100)}",
                                    serial=f"SN{rng.randrange(10**8)}", platform=rng.choice(["vmware", "hyper-v"]),
                                    firmware=rng.choice(["13r1", "14r2sr3"]), mode="rental")
                if queued:
                    self.pbxs[account].append(queued.pbx_id)
            elif roll < 0.9:
                account = rng.choice(self.accounts)
                if self.pbxs[account]:
                    pbx_id = rng.choice(self.pbxs[account])
                    items = {ref: rng.randint(1, 8) for ref in rng.sample(REFS, rng.randint(0, 3))}
                    unsent = self.unsent_set_licenses(pbx_id)
                    if self._call(services.set_licenses, account, pbx_id, items, confirm=True):
                        self.superseded |= unsent  # DESIGN §6: an unsent desired state collapses into the newer
            else:
                self._call(services.update_account, rng.choice(self.accounts), name=f"Renamed {rng.randrange(999)}")


def run_rounds(rig: Rig, rounds: int, seed: int) -> dict:
    rng = random.Random(seed)
    tech = Technician(rig, rng)
    tech.work(10)
    first = rig.sync()  # a clean first sync: prices and the accounts the rest builds on
    assert first.ok, first.error
    outcomes = {"before_commit": 0, "mid_batch": 0, "after_commit": 0, "answer_cut": 0, "kills": 0,
                "server_starts": 0}
    batch_s = 0.05
    timers: list = []
    for round_ in range(rounds):
        rig.advance(rng.randint(60, 20 * 86_400))
        tech.work(rng.randint(4, 25))
        batch = rig.pending_op_ids()
        mode = rng.choice(["kill", "kill", "kill", "kill_after_commit", "cut"])
        if mode == "kill":
            # SIGKILL at a random moment of the batch: from its first byte to past its expected end.
            rig.proxy.plan("on_request", hook=lambda delay=rng.uniform(0, 1.5 * batch_s):
                           timers.append(rig.server.kill_after(delay)))
        elif mode == "kill_after_commit":  # everything committed, the answer about to leave: SIGKILL
            rig.proxy.plan("on_answer", hook=rig.server.kill)
        else:
            rig.proxy.plan("cut_response", after=rng.randint(0, 400))
        started = time.monotonic()
        report = rig.sync()
        elapsed = time.monotonic() - started
        if report.ok:
            batch_s = max(batch_s, elapsed)  # the kill came too late to matter: aim earlier next time
        deadline = time.monotonic() + 10
        while mode == "kill" and rig.server.running and rig.server.kills == outcomes["kills"] \
                and time.monotonic() < deadline:
            time.sleep(0.01)  # the kill timer may still be pending: let it land before looking
        for timer in timers:  # a kill that has not landed by now must not hit a later round or the final check
            timer.cancel()
        timers.clear()
        if not rig.server.running:
            outcomes["kills"] += 1
            done = rig.ops_on_server(batch)
            if not batch:
                pass
            elif done == 0:
                outcomes["before_commit"] += 1
            elif done < len(batch):
                outcomes["mid_batch"] += 1
            else:
                outcomes["after_commit"] += 1
            rig.server.start()
            outcomes["server_starts"] += 1
        elif not report.ok:
            outcomes["answer_cut"] += 1
    # Healed: resend until nothing is pending (each sync resends the same op_ids).
    for _ in range(5):
        report = rig.sync()
        if report.ok and not rig.pending_op_ids():
            break
    assert report.ok and not rig.pending_op_ids(), f"ops still queued after healing: {report.error}"
    return {"tech": tech, "outcomes": outcomes}


def check_exactly_once(rig: Rig, tech: Technician) -> dict:
    """Every op the technician queued has one result on the server and in the app; credits match redemptions."""
    with rig.engine.connect() as conn:
        rows = {row.op_id: row for row in conn.execute(text("SELECT op_id, kind, result FROM ops"))}
        credit_lines = conn.execute(text("SELECT count(*) FROM ledger WHERE kind = 'credit'")).scalar()
    # An unsent set_licenses replaced by a newer one for the same PBX is meant never to leave (DESIGN §6).
    sent = [op_id for op_id in tech.queued if op_id not in tech.superseded]
    lost = [op_id for op_id in sent if op_id not in rows]
    assert not lost, f"{len(lost)} ops never reached the server: {lost[:5]}"
    assert not [op_id for op_id in tech.superseded if op_id in rows], "a superseded op was sent after all"
    statuses = {}
    for op_id in sent:
        envelope = json.loads(rows[op_id].result)
        payload = json.loads(__import__("base64").urlsafe_b64decode(envelope["payload"] + "=="))
        statuses[op_id] = (rows[op_id].kind, payload["status"], payload.get("rule"))
    applied_redeems = sum(1 for kind, status, _ in statuses.values() if kind == "redeem_key" and status == "applied")
    assert credit_lines == applied_redeems, "a credit without its redemption, or a redemption credited twice"
    # The app holds the very result the server stored, for every op (none dropped, none left pending).
    with rig.store.unit_of_work() as uow:
        from app.models import OpResult

        held = {row.op_id: row.status for row in uow.session.query(OpResult)}
        waiting = {op.op_id: op.state for op in uow.outbox.all_ops()}
    for op_id, (kind, status, _) in statuses.items():
        assert held.get(op_id, waiting.get(op_id)) in (status, status.replace("conflict", "conflict")), \
            f"op {op_id} ({kind}): server says {status}, the app holds {held.get(op_id)} / {waiting.get(op_id)}"
    key_used = sum(1 for _, status, rule in statuses.values() if rule == "key-used")
    return {"ops": len(statuses), "applied": sum(1 for _, s, _ in statuses.values() if s == "applied"),
            "key_used_refusals": key_used, "credits": credit_lines}


def check_replica_matches_server(rig: Rig) -> int:
    """The app's verified replica shows, to the tick, what the server holds at the same second."""
    # straight to the server: this reads state, and the fault proxy may still hold a planned fault
    with httpx.Client(base_url=f"http://127.0.0.1:{rig.server.port}/api/v1",
                      headers={"Authorization": f"Bearer {rig.token}"}, timeout=30) as client:
        server = {}
        for envelope in client.get("/accounts").json()["accounts"]:
            payload = json.loads(__import__("base64").urlsafe_b64decode(envelope["payload"] + "=="))
            server[payload["account_id"]] = payload
    for account_id, payload in server.items():
        view = services.account_detail(rig.store.unit_of_work(), rig.app_clock, account_id)
        assert view.confirmed.balance_ticks == payload["balance_ticks"], account_id
        assert view.confirmed.status == payload["status"], account_id
    return len(server)


@pytest.mark.parametrize("rounds", [pytest.param(120, marks=pytest.mark.slow, id="soak") if SOAK else
                                    pytest.param(14, id="short")])
def test_the_server_killed_at_random_points_of_batches_applies_every_op_exactly_once(tmp_path, postgres_url, rounds):
    rig = Rig(tmp_path, postgres_url).start()
    try:
        result = run_rounds(rig, rounds, seed=2026)
        outcomes, tech = result["outcomes"], result["tech"]
        audit = audit_database(rig.engine)
        audit.assert_clean()
        once = check_exactly_once(rig, tech)
        accounts = check_replica_matches_server(rig)
        assert outcomes["kills"] >= rounds // 2, outcomes  # the faults really happened
        record("server_killed_during_sync", rounds=rounds, **outcomes, ops_sent=once["ops"],
               ops_applied=once["applied"], key_reuse_refused=once["key_used_refusals"], credits=once["credits"],
               ledger_lines=audit.ledger_lines, accounts=accounts, offline_refusals=tech.offline_refusals,
               ops_lost=0, ops_applied_twice=0, balance_mismatches=0)
    finally:
        rig.close()
