"""The differential property of the one decider (rental/ops.py): random sequences of ops, time steps, price-list
publications and policy values, applied (a) by the app offline, as its screens show them, and (b) by the real
license server over HTTP on 127.0.0.1 with the same injected clock, agree op by op on status, refusal code,
warnings, balance to the tick, depletes_at, the account's status and each PBX's status.

Automatic reload (R24) is in the mix: keys deposited and withdrawn, reload switched to 0, 14 or 28 days, and time
moved to the very second of the next reload (and the one before): after every op and every wait, the app's
projection, offline, equals the server's answer as of its now to the tick, with the keys held, the next reload
second and the end of credit counting the keys. Price rises are drawn between reloads: a reload is a connection
event at its second (R24, R23), so both sides re-rate the account there at the list then in force.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app import projection, services
from license_server import admin
from rental import reload
from rental.money import SECONDS_PER_DAY, ticks_to_milli_floor

from .conftest import FAST_KDF, PASSPHRASE

IP_PORT, UC, DEVICE = "01-00010-001", "01-00020-001", "02-00700-001"
DAY = SECONDS_PER_DAY

WAIT = st.tuples(st.just("wait"), st.sampled_from([0, 1, 3_600, DAY, 6 * DAY, 20 * DAY, 45 * DAY]))
LICENSES = st.tuples(st.just("licenses"), st.fixed_dictionaries({
    IP_PORT: st.integers(0, 12), UC: st.integers(0, 4), DEVICE: st.integers(0, 1)}))
LOAD = st.tuples(st.just("load"), st.sampled_from([50, 500, 2_000, 9_000, 30_000]))
RELOAD = st.tuples(st.just("reload"), st.sampled_from([0, 14, 28]))
DEPOSIT = st.tuples(st.just("deposit"), st.sampled_from([100, 2_000, 9_000]))
TO_RELOAD = st.tuples(st.just("to_reload"), st.sampled_from([-1, 0, 1]))
#: The very second the credit runs out (R10, R18) or left-over credit expires (R19), the one before or after.
TO_END = st.tuples(st.sampled_from(["to_end", "to_expiry"]), st.sampled_from([-1, 0, 1]))
#: A price rise, then time moved to the next reload's second (or a day past it): it re-rates there (R24, R23).
RISE = st.tuples(st.just("rise"), st.sampled_from([0, DAY]))
#: Money moves most: waits, licenses and loads are drawn three times as often as the rest; deletion rarely.
STEPS = st.one_of(
    WAIT, WAIT, WAIT, LICENSES, LICENSES, LICENSES, LOAD, LOAD, RELOAD, DEPOSIT, DEPOSIT, TO_RELOAD, TO_RELOAD, RISE,
    TO_END,
    st.tuples(st.just("withdraw"), st.just(None)),
    st.tuples(st.just("remove"), st.just(None)),
    st.tuples(st.just("register"), st.sampled_from(["rental", "purchased"])),
    st.tuples(st.just("mode"), st.sampled_from(["rental", "purchased"])),
    st.tuples(st.just("prices"), st.sampled_from([300, 500, 800])),
    st.tuples(st.just("policy"), st.tuples(st.sampled_from([7, 30, 45]), st.sampled_from([1, 3]))),
)
STEPS_WITH_DELETE = st.lists(STEPS, min_size=6, max_size=18).flatmap(
    lambda steps: st.sampled_from([steps, steps + [("delete", None), ("load", 500)]]))


@pytest.fixture
def server_clock(clock):
    """One clock for the server and the laptop: the server's time decides money (SPEC)."""
    return clock


@pytest.fixture
def world(tmp_path, server, token, clock):
    store = services.initialise(tmp_path / "laptop", PASSPHRASE, server.url, token, demo=True, kdf=FAST_KDF)
    assert services.sync_now(store, clock).ok
    yield store
    store.close()


class Trial:
    """One example: a fresh account on the shared server and laptop, its steps, and what each side said."""

    def __init__(self, server, token, store, clock):
        self.server, self.token, self.store, self.clock = server, token, store, clock
        self.serial = f"SN-{uuid.uuid4().hex[:8]}"  # R6 follows the serial: each example its own
        self.account_id = services.create_account(store.unit_of_work(), clock, "Différentiel", "d@example.com").account_id
        self.pbx_id = self._register("rental")
        [key] = server.issue_keys("30", 1)  # a customer with credit: most changes are decided on money
        services.load_key(store.unit_of_work(), clock, self.account_id, key)
        self.sync()
        self.ops = 0
        self.rises = 0

    def uow(self):
        return self.store.unit_of_work()

    def sync(self):
        report = services.sync_now(self.store, self.clock)
        assert report.ok, report.error
        return report

    def _register(self, mode: str) -> str:
        return services.register_pbx(self.uow(), self.clock, self.account_id, name="Lobby", serial=self.serial,
                                     platform="vmware", firmware="13r2", mode=mode).pbx_id

    def server_account(self) -> dict:
        with self.server.client(self.token) as client:
            return self.server.keyring.verify_envelope(client.get(f"/accounts/{self.account_id}").json(), "account")

    def predicted(self) -> dict:
        """What the app's screens show for the account with its queued ops applied, now, offline."""
        view = services.account_detail(self.uow(), self.clock, self.account_id)
        figures = view.pending or view.confirmed
        with self.store.unit_of_work() as uow:
            book = uow.accounts.book(self.clock.now(), self.account_id)
            state = book.pending_state(self.account_id) or book.get(self.account_id)
            pbxs = {pbx_id: projection.pbx_status(state, pbx_id) for pbx_id, pbx in state.pbxs.items()
                    if not pbx.removed}
            plan = book.plan(state)
            # the current credit's own end, as the server's depletes_at names it (the held keys aside)
            done, settled = reload.forward(state.billing, plan.deposits, plan.days, plan.policy,
                                           max(self.clock.now(), state.billing.as_of), plan.prices)
        held = [d.key_id for d in state.deposits]  # with the queued ops applied, as the server will hold them
        return {"balance": figures.balance_ticks, "ends_at": figures.ends_at, "status": figures.status, "pbxs": pbxs,
                "depletes_at": settled.account.depletes_at, "deposits": held,
                "reload_at": figures.reloads[0].at if figures.reloads else None}

    def compare(self, what) -> None:
        """The app's projection (offline, as its screens show it) equals the server's answer as of now."""
        predicted, server = self.predicted(), self.server_account()
        assert server["balance_ticks"] == predicted["balance"], what
        assert server["depletes_at"] == predicted["depletes_at"], what
        assert server["ends_at"] == predicted["ends_at"], what
        assert server["status"] == predicted["status"], what
        assert {p["pbx_id"]: p["status"] for p in server["pbxs"]} == predicted["pbxs"], what
        assert [d["key_id"] for d in server["deposits"]] == predicted["deposits"], what
        assert server["reload_at"] == predicted["reload_at"], what

    def step(self, kind, value) -> None:
        if kind == "wait":
            self.clock.advance(value)
            self.compare((kind, value))  # no sync: both answer as of now, reloads included (R24)
            return
        if kind == "to_reload":  # the very second of the next automatic reload, the one before or after
            reload_at = self.server_account()["reload_at"]
            if reload_at is not None and reload_at + value >= self.clock.now():
                self.clock.set(reload_at + value)
                event(f"at a reload second {value:+d}")
                self.compare((kind, value))
            return
        if kind in ("to_end", "to_expiry"):  # the second the credit runs out or expires, the one before or after
            at = self.server_account()["depletes_at" if kind == "to_end" else "retained_until"]
            if at is not None and at + value >= self.clock.now():
                self.clock.set(at + value)
                event(f"at {'the end of credit' if kind == 'to_end' else 'an expiry'} {value:+d}")
                self.compare((kind, value))
            return
        if kind == "rise":  # every rented item dearer, then the next reload's second (or a day past it)
            self.rises += 1
            data = admin.demo_pricelist()
            data["version"] = f"rise-{uuid.uuid4().hex[:6]}"
            for item in data["items"]:
                item["monthly_milli"] += item["monthly_milli"] * self.rises // 4
            admin.publish_prices(self.server.ctx, data)
            self.sync()
            reload_at = self.server_account()["reload_at"]
            if reload_at is not None and reload_at + value >= self.clock.now():
                self.clock.set(reload_at + value)
                event("a reload after a price rise")
            self.compare((kind, value))
            return
        if kind == "prices":
            data = admin.demo_pricelist()
            data["version"] = f"v-{uuid.uuid4().hex[:6]}"
            for item in data["items"]:
                if item["ref"] == IP_PORT:
                    item["monthly_milli"] = value
            admin.publish_prices(self.server.ctx, data)
            self.sync()  # the laptop learns the list (and the policy it carries) at its next sync
            return
        if kind == "policy":  # the server's thresholds change; the signed price list carries them to the app
            min_days, resume_days = value
            self.server.ctx.policy = replace(self.server.ctx.policy, min_credit_days=min_days,
                                             resume_min_days=resume_days)
            self.server.ctx.forget_prices()
            self.sync()
            return
        if self.pbx_id is None and kind in ("licenses", "remove", "mode"):
            return
        if kind == "register" and self.pbx_id is not None:
            return
        self.held = [d["key_id"] for d in self.server_account()["deposits"]]
        if kind == "withdraw" and not self.held:
            return
        queued, refused = None, None
        try:
            queued = self._queue(kind, value)
        except services.RuleViolation as error:
            refused = error
        except services.NeedsConfirmation:
            queued = self._queue(kind, value, confirm=True)
        self.ops += 1
        if refused is not None:
            self._compare_refusal(kind, value, refused)
            event(f"refused alike: {refused.problems[0].code}")
            return
        event(f"applied alike: {kind}")
        predicted = self.predicted()
        report = self.sync()
        # the account's own answers: the examples share one laptop and often one second, so the laptop-wide
        # newest 50 (by second, then revision) need not hold this op's
        [result] = [r for r in services.account_detail(self.uow(), self.clock, self.account_id).results
                    if r.op_id == queued.op_id]
        assert (result.status, [w.code for w in result.warnings]) == ("applied", [w.code for w in queued.warnings]), (
            kind, value, result)
        server = self.server_account()
        assert server["balance_ticks"] == predicted["balance"], (kind, value)
        assert server["depletes_at"] == predicted["depletes_at"], (kind, value)
        assert server["ends_at"] == predicted["ends_at"], (kind, value)
        assert server["status"] == predicted["status"], (kind, value)
        assert {p["pbx_id"]: p["status"] for p in server["pbxs"]} == predicted["pbxs"], (kind, value)
        assert [d["key_id"] for d in server["deposits"]] == predicted["deposits"], (kind, value)
        assert server["reload_at"] == predicted["reload_at"], (kind, value)
        if kind == "remove":
            self.pbx_id = None
        if kind == "register":
            self.pbx_id = queued.pbx_id
        assert report.rejected == 0

    def _queue(self, kind, value, confirm=False):
        uow, clock, account_id = self.uow(), self.clock, self.account_id
        if kind == "licenses":
            return services.set_licenses(uow, clock, account_id, self.pbx_id, value, confirm=confirm)
        if kind == "load":
            [key] = self.server.issue_keys(f"{value // 1000}.{value % 1000:03d}", 1)
            return services.load_key(uow, clock, account_id, key)
        if kind == "remove":
            return services.remove_pbx(uow, clock, account_id, self.pbx_id)
        if kind == "register":
            pbx_id = self._register(value)
            return services.QueuedOp(services.queued_ops(self.uow(), clock)[-1].op_id, "register_pbx", account_id,
                                     pbx_id=pbx_id)
        if kind == "mode":
            return services.update_pbx(uow, clock, account_id, self.pbx_id, mode=value,
                                       purchased_removed=True)  # R8: the technician confirms
        if kind == "reload":
            return services.set_auto_reload(uow, clock, account_id, value)
        if kind == "deposit":
            [key] = self.server.issue_keys(f"{value // 1000}.{value % 1000:03d}", 1)
            return services.deposit_key(uow, clock, account_id, key)
        if kind == "withdraw":
            return services.withdraw_key(uow, clock, account_id, self.held[0])
        if kind == "delete":
            shown = ticks_to_milli_floor(services.account_detail(self.uow(), clock, account_id).confirmed.balance_ticks)
            return services.delete_account(uow, clock, account_id, shown)
        raise AssertionError(kind)

    def _compare_refusal(self, kind, value, refused: services.RuleViolation) -> None:
        """The app refused offline: the server, sent the same op, refuses it with the same code."""
        server = self.server_account()
        revision = next((p["revision"] for p in server["pbxs"] if p["pbx_id"] == self.pbx_id), 1)
        body = {"op_id": str(uuid.uuid4()), "account_id": self.account_id}
        if kind == "licenses":
            body.update(kind="set_licenses", pbx_id=self.pbx_id, base_revision=revision, items=value)
        elif kind == "mode":
            body.update(kind="update_pbx", pbx_id=self.pbx_id, base_revision=revision, mode=value,
                        purchased_removed=True)
        elif kind == "remove":
            body.update(kind="remove_pbx", pbx_id=self.pbx_id, base_revision=revision)
        elif kind == "delete":
            body.update(kind="delete_account", confirm_forfeit_milli=0)
        elif kind == "load":
            [key] = self.server.issue_keys(f"{value // 1000}.{value % 1000:03d}", 1)
            body.update(kind="redeem_key", key=key)
        elif kind == "reload":
            body.update(kind="update_account", auto_reload_days=value)
        elif kind == "deposit":
            [key] = self.server.issue_keys(f"{value // 1000}.{value % 1000:03d}", 1)
            body.update(kind="deposit_key", key=key)
        elif kind == "withdraw":
            body.update(kind="withdraw_key", key_id=self.held[0])
        elif kind == "register":
            body.update(kind="register_pbx", pbx_id=str(uuid.uuid4()), name="Lobby", serial=self.serial,
                        platform="vmware", firmware="13r2", mode=value)
        else:
            raise AssertionError(f"{kind} refused offline: {refused.problems}")
        with self.server.client(self.token) as client:
            answer = client.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [body]}).json()
        payload = self.server.keyring.verify_envelope(answer["results"][0], "op-result")
        assert (payload["status"], payload["code"]) == ("rejected", refused.problems[0].code), (kind, value, payload)
        assert [p["code"] for p in payload["problems"]] == [p.code for p in refused.problems]


#: make test draws 25 examples (about a minute); make soak (RENTDESK_SOAK=1) draws 200
EXAMPLES = 200 if os.environ.get("RENTDESK_SOAK") else 25


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=STEPS_WITH_DELETE)
def test_the_app_offline_and_the_server_decide_every_op_alike(server, token, world, clock, steps):
    trial = Trial(server, token, world, clock)
    for kind, value in steps:
        trial.step(kind, value)
    event(f"ops in the example: {trial.ops // 4 * 4}-{trial.ops // 4 * 4 + 3}")
    json.dumps(steps)  # the example is plain data (hypothesis prints it when it fails)


#: An account that reloads (R24): licenses running, reload on at 28 days, a key held; then price rises drawn between
#: its reloads, time moved to and past them, more keys and changes.
RELOADING = [("licenses", {IP_PORT: 10, UC: 2, DEVICE: 0}), ("reload", 28), ("deposit", 9_000)]
BETWEEN_RELOADS = st.lists(st.one_of(RISE, RISE, DEPOSIT, TO_RELOAD, WAIT, LICENSES, LOAD), min_size=3, max_size=8)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=BETWEEN_RELOADS)
def test_price_rises_between_reloads_are_re_rated_at_each_reload_second_alike_R24(server, token, world, clock, steps):
    trial = Trial(server, token, world, clock)
    for kind, value in RELOADING + steps:
        trial.step(kind, value)
    json.dumps(steps)
