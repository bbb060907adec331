"""Sync against a real license server on 127.0.0.1 (DESIGN §5, §6): offline work, lost answers, a killed app,
tampered and replayed answers, two laptops. The server's clock is moved, never slept on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import httpx
import pytest

from app import services, sync, transport
from app.clock import MovableClock
from rental.money import SECONDS_PER_DAY, TICKS_PER_MILLI
from tests.support.faults import FaultProxy

from .conftest import FAST_KDF, PASSPHRASE, ROOT

IP_PORT = "01-00010-001"  # 0.500 iSC a month
UC = "01-00020-001"  # 1.250 iSC a month


@pytest.fixture
def server_clock(clock):
    """One clock for the server and the laptops: the server's time decides money (SPEC)."""
    return clock


@pytest.fixture
def laptop(tmp_path, server, token):
    """laptop("a") is a technician's laptop: its own encrypted store, pointed at the server."""
    made = []

    def make(name: str, url: str | None = None, *, synced: bool = True):
        """synced: it synced once at the office already (it holds the price list)."""
        store = services.initialise(tmp_path / f"laptop-{name}", PASSPHRASE, url or server.url, token, demo=True,
                                    kdf=FAST_KDF)
        made.append(store)
        if synced:
            assert services.sync_now(store, MovableClock(server.clock.now())).ok
        return store

    yield make
    for store in made:
        store.close()


def sync_now(store, clock, **kwargs):
    return services.sync_now(store, clock, **kwargs)


def server_account(server, token, account_id):
    """The account as the server signs it now (verified with the demo key)."""
    with server.client(token) as client:
        return server.keyring.verify_envelope(client.get(f"/accounts/{account_id}").json(), "account")


def ops_of(store, clock, account_id):
    return services.account_detail(store.unit_of_work(), clock, account_id).ops


def prepare_customer(store, clock, server, *, key_isc="100", items=None):
    """The day's work on site: an account, a PBX, a key, licenses (all queued)."""
    account = services.create_account(store.unit_of_work(), clock, "Acme Dental", "office@acme-dental.example")
    pbx = services.register_pbx(store.unit_of_work(), clock, account.account_id, name="Lobby", serial="SN-1",
                                platform="vmware", firmware="13r2")
    [key] = server.issue_keys(key_isc, 1)
    services.load_key(store.unit_of_work(), clock, account.account_id, key)
    return account.account_id, pbx.pbx_id, key


# --------------------------------------------------------------------------- first sync, offline day


def test_a_first_sync_on_a_fresh_laptop_pulls_the_partners_accounts_and_the_price_list(server, laptop, clock):
    first = laptop("a")
    account_id, _, _ = prepare_customer(first, clock, server)
    assert sync_now(first, clock).ok
    fresh = laptop("b", synced=False)
    assert services.current_pricelist(fresh.unit_of_work()) is None
    report = sync_now(fresh, clock)
    assert report.ok and report.sent == 0
    assert [a.account_id for a in services.list_accounts(fresh.unit_of_work(), clock)] == [account_id]
    assert services.current_pricelist(fresh.unit_of_work()).version == "2026-11"


def test_an_offline_day_of_work_is_kept_then_applied_by_one_sync(server, laptop, clock, token):
    store = laptop("a")
    assert sync_now(store, clock).ok  # the price list came with an earlier sync, at the office
    server.stop()  # the customer site has no network
    offline = sync_now(store, clock)
    assert not offline.ok and "cannot be reached" in offline.error
    account_id, pbx_id, _ = prepare_customer(store, clock, server)
    clock.advance(3600)
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10, UC: 4})
    services.update_account(store.unit_of_work(), clock, account_id, name="Acme Dental Care")
    assert not sync_now(store, clock).ok
    assert services.sync_status(store.unit_of_work()).queued == 5
    view = services.account_detail(store.unit_of_work(), clock, account_id)
    assert view.pending.monthly_milli == 10 * 500 + 4 * 1250 and view.pending_credit_milli == 100_000

    clock.advance(8 * 3600)  # back at the office in the evening
    server.start()
    report = sync_now(store, clock)
    assert report.ok and report.sent == 5 and report.applied == 5 and report.rejected == report.conflicts == 0
    view = services.account_detail(store.unit_of_work(), clock, account_id)
    assert view.ops == () and view.pending is None and view.is_confirmed
    assert view.name == "Acme Dental Care" and view.confirmed.status == "active"
    assert [(l.ref, l.qty) for l in view.pbxs[0].licenses] == [(IP_PORT, 10), (UC, 4)]
    truth = server_account(server, token, account_id)
    assert view.confirmed.balance_ticks == truth["balance_ticks"]
    assert view.confirmed.ends_at == truth["depletes_at"]


def test_the_projection_suspends_at_the_very_second_the_server_does(server, laptop, clock, token):
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server, key_isc="10")
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {UC: 4})  # 5 iSC/month: 2 months
    assert sync_now(store, clock).ok
    ends_at = services.account_detail(store.unit_of_work(), clock, account_id).confirmed.ends_at
    assert ends_at == server_account(server, token, account_id)["depletes_at"]
    server.stop()  # offline from now on
    clock.set(ends_at - 1)
    assert services.account_detail(store.unit_of_work(), clock, account_id).confirmed.status == "active"
    clock.set(ends_at)
    offline_view = services.account_detail(store.unit_of_work(), clock, account_id).confirmed
    assert offline_view.status == "suspended"
    server.start()
    truth = server_account(server, token, account_id)
    assert (truth["status"], truth["balance_ticks"]) == ("suspended", offline_view.balance_ticks)


# --------------------------------------------------------------------------- failures in flight


def test_an_answer_lost_after_the_server_committed_is_resent_and_applied_once(server, laptop, clock, token):
    with FaultProxy(("127.0.0.1", server.port)) as proxy:
        store = laptop("a", proxy.url)
        account_id, _, key = prepare_customer(store, clock, server, key_isc="100")
        op_ids = [op.op_id for op in ops_of(store, clock, account_id)]
        proxy.plan("cut_response", after=40)  # the server acts on the whole batch, the answer is cut
        lost = sync_now(store, clock)
        assert not lost.ok and proxy.injected["cut_response"] == 1
        assert [op.op_id for op in ops_of(store, clock, account_id)] == op_ids  # nothing lost, same op_ids
        assert server_account(server, token, account_id)["balance_ticks"] == 100_000 * TICKS_PER_MILLI
        again = sync_now(store, clock)
    assert again.ok and again.applied == 3
    assert ops_of(store, clock, account_id) == ()
    truth = server_account(server, token, account_id)
    assert truth["balance_ticks"] == 100_000 * TICKS_PER_MILLI  # the key was loaded once
    with server.client(token) as client:
        credits = [l for l in client.get(f"/accounts/{account_id}/ledger").json()["lines"] if l["kind"] == "credit"]
    assert len(credits) == 1


CHILD = """
import sys
from app import services
from app.clock import MovableClock
store = services.unlock(sys.argv[1], sys.argv[2], demo=True)
print("syncing", flush=True)
services.sync_now(store, MovableClock(int(sys.argv[3])))
print("finished", flush=True)
"""


def test_the_app_killed_mid_sync_loses_nothing(server, laptop, clock, token, tmp_path):
    with FaultProxy(("127.0.0.1", server.port)) as proxy:
        store = laptop("a", proxy.url)
        account_id, pbx_id, _ = prepare_customer(store, clock, server)
        services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 3})
        store.close()
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(store.home), PASSPHRASE, str(clock.now())],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
        killed = threading.Event()

        def kill_the_app():
            child.send_signal(signal.SIGKILL)
            killed.set()

        proxy.plan("on_request", hook=kill_the_app)  # SIGKILL once the batch is on its way
        out, err = child.communicate(timeout=60)
        assert killed.is_set() and child.returncode == -signal.SIGKILL and b"finished" not in out, err
        again = services.unlock(store.home, PASSPHRASE, demo=True)  # the store survived the kill
        try:
            report = services.sync_now(again, clock)
            assert report.ok, report.error
            view = services.account_detail(again.unit_of_work(), clock, account_id)
        finally:
            again.close()
    assert view.ops == () and [(l.ref, l.qty) for l in view.pbxs[0].licenses] == [(IP_PORT, 3)]
    assert server_account(server, token, account_id)["balance_ticks"] == view.confirmed.balance_ticks


class Tampering(httpx.HTTPTransport):
    """Real HTTP to the server; the answers to POST /sync get one byte of their first account payload changed."""

    def handle_request(self, request):
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/sync"):
            body = json.loads(response.read())
            envelope = body["accounts"][0]
            payload = envelope["payload"]
            envelope["payload"] = payload[:20] + ("A" if payload[20] != "A" else "B") + payload[21:]
            return httpx.Response(response.status_code, json=body)
        return response


class Replaying(httpx.HTTPTransport):
    """Real HTTP to the server, except GET /accounts, answered with an old recorded listing."""

    def __init__(self, recorded: dict):
        super().__init__()
        self.recorded = recorded

    def handle_request(self, request):
        if request.method == "GET" and request.url.path.endswith("/accounts"):
            return httpx.Response(200, json=self.recorded)
        return super().handle_request(request)


def test_a_tampered_answer_is_refused_whole_and_the_ops_stay_queued(server, laptop, clock, token):
    store = laptop("a")
    account_id, _, _ = prepare_customer(store, clock, server)
    report = sync_now(store, clock, transport=transport.HttpTransport(server.url, token, transport=Tampering()))
    assert not report.ok and "refused" in report.error
    assert len(ops_of(store, clock, account_id)) == 3  # nothing of the answer was believed
    status = services.sync_status(store.unit_of_work())
    assert status.refusals and "nothing of it was believed" in status.refusals[0].reason
    assert sync_now(store, clock).ok  # the honest resend: the server answers the stored results
    assert ops_of(store, clock, account_id) == ()
    assert server_account(server, token, account_id)["balance_ticks"] == 100_000 * TICKS_PER_MILLI


def test_a_tampered_answer_is_refused_with_the_verifiers_reason_as_data(server, laptop, clock, token):
    store = laptop("a")
    prepare_customer(store, clock, server)
    report = sync_now(store, clock, transport=sync.HttpTransport(server.url, token, transport=Tampering()))
    reason = report.error_reason
    assert (reason.rule, reason.code) == ("sync", "sync-answer-refused-cause")
    assert dict(reason.params) == {"cause": "envelope-bad-signature", "type": "account", "kid": "demo"}
    assert reason.message == ("The server's answer was refused, nothing of it was believed: bad signature on "
                              "'account' envelope from key 'demo': refused.")


def test_a_replayed_older_snapshot_is_refused_and_the_newer_one_kept(server, laptop, clock, token):
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server)
    assert sync_now(store, clock).ok
    with server.client(token) as client:
        old_listing = client.get("/accounts").json()
    old_revision = server_account(server, token, account_id)["revision"]
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 2})
    assert sync_now(store, clock).ok
    held = services.account_detail(store.unit_of_work(), clock, account_id).revision
    assert held > old_revision
    report = sync_now(store, clock, transport=transport.HttpTransport(server.url, token,
                                                                 transport=Replaying(old_listing)))
    assert report.refused  # the sync itself completes; the old snapshot is not believed
    view = services.account_detail(store.unit_of_work(), clock, account_id)
    assert view.revision == held and [(l.ref, l.qty) for l in view.pbxs[0].licenses] == [(IP_PORT, 2)]
    reason = services.sync_status(store.unit_of_work()).refusals[0].reason
    assert f"revision {old_revision}" in reason and f"older than revision {held}" in reason


# --------------------------------------------------------------------------- two laptops


def test_two_laptops_load_the_same_key_offline_and_only_one_wins(server, laptop, clock, token):
    ann, bob = laptop("ann"), laptop("bob")
    account = services.create_account(ann.unit_of_work(), clock, "Acme Dental", "office@acme-dental.example")
    assert sync_now(ann, clock).ok and sync_now(bob, clock).ok
    [key] = server.issue_keys("40", 1)
    server.stop()  # both are on site, offline
    services.load_key(ann.unit_of_work(), clock, account.account_id, key)
    services.load_key(bob.unit_of_work(), clock, account.account_id, key)
    assert services.account_detail(bob.unit_of_work(), clock, account.account_id).pending_credit_milli == 40_000
    server.start()
    assert sync_now(ann, clock).applied == 1
    report = sync_now(bob, clock)
    assert report.ok and report.rejected == 1
    view = services.account_detail(bob.unit_of_work(), clock, account.account_id)
    assert view.pending_credit_milli == 0 and view.pending is None  # bob's pending credit is gone...
    [op] = view.ops  # ...with the server's reason shown until bob decides
    assert (op.state, op.rule) == ("rejected", "key-used") and "redeemed before" in op.message
    assert view.confirmed.balance_ticks == 40_000 * TICKS_PER_MILLI  # ann's load, seen by bob
    assert services.resolve(bob.unit_of_work(), clock, op.op_id, "discard") is None
    assert services.account_detail(bob.unit_of_work(), clock, account.account_id).ops == ()


def test_a_conflicting_edit_from_a_second_laptop_waits_for_a_decision(server, laptop, clock, token):
    ann, bob = laptop("ann"), laptop("bob")
    account_id, pbx_id, _ = prepare_customer(ann, clock, server)
    assert sync_now(ann, clock).ok and sync_now(bob, clock).ok
    services.set_licenses(bob.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 20})
    services.set_licenses(ann.unit_of_work(), clock, account_id, pbx_id, {UC: 2})  # ann has not seen bob's
    assert sync_now(bob, clock).applied == 1
    report = sync_now(ann, clock)
    assert report.ok and report.conflicts == 1
    view = services.account_detail(ann.unit_of_work(), clock, account_id)
    [op] = view.ops
    assert op.state == "conflict" and "changed meanwhile" in op.message
    assert [(l.ref, l.qty) for l in view.pbxs[0].licenses] == [(IP_PORT, 20)]  # bob's change, now seen by ann
    # issue 21: never re-applied unseen; the review says, against the server's state now, what mine changes there
    with pytest.raises(services.Changed):
        services.resolve(ann.unit_of_work(), clock, op.op_id, "reapply")
    review = services.review_reapply(ann.unit_of_work(), clock, op.op_id)
    assert review.pbx_name == "Lobby" and review.changes == (
        {"field": "IP port license (per device)", "from": 20, "to": 0},
        {"field": "UC license (myApps, per user)", "from": 0, "to": 2})
    requeued = services.resolve(ann.unit_of_work(), clock, op.op_id, "reapply", seen=str(review.revision))
    assert requeued.op_id != op.op_id
    assert sync_now(ann, clock).applied == 1
    final = services.account_detail(ann.unit_of_work(), clock, account_id)
    assert final.ops == () and [(l.ref, l.qty) for l in final.pbxs[0].licenses] == [(UC, 2)]


def test_a_rule_the_server_applies_rejects_an_op_with_its_reason(server, laptop, clock, token):
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server, key_isc="1")
    # offline the pending key counts; the server has it too, so ask for more than it covers (R14)
    with pytest.raises(services.RuleViolation) as caught:
        services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {UC: 100})
    assert caught.value.rule == "R14"
    assert sync_now(store, clock).ok


def test_the_servers_r6_warning_is_kept_with_the_result_and_shown(server, laptop, clock, token):
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server)
    for qty in (10, 5):  # a reduction...
        services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: qty})
        assert sync_now(store, clock).ok and not sync_now(store, clock).warnings
    with pytest.raises(services.NeedsConfirmation, match="reduce-then-restore"):  # ...then a restore: warned first
        services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10})
    restore = services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10}, confirm=True)
    report = sync_now(store, clock)
    assert report.ok and report.applied == 1
    assert [(w.rule, w.code) for w in report.warnings] == [("R6", "toggle-warning")]  # the server's own reason
    latest = services.sync_status(store.unit_of_work(), clock).results[0]
    assert (latest.op_id, latest.status, latest.warnings) == (restore.op_id, "applied", report.warnings)
    assert latest.account_name == "Acme Dental"
    results = services.account_detail(store.unit_of_work(), clock, account_id).results
    assert results[0] == latest and not any(r.warnings for r in results[1:])


# --------------------------------------------------------------------------- statement, background, transport


class Counting(httpx.HTTPTransport):
    """Real HTTP to the server, noting the path of every request."""

    def __init__(self):
        super().__init__()
        self.paths: list[str] = []

    def handle_request(self, request):
        self.paths.append(request.url.path)
        return super().handle_request(request)

    def ledgers(self) -> list[str]:
        return [path.split("/")[-2] for path in self.paths if path.endswith("/ledger")]


def counted_sync(store, clock, server, token) -> tuple:
    counting = Counting()
    api = transport.HttpTransport(server.url, token, transport=counting)
    try:
        return sync_now(store, clock, transport=api), counting
    finally:
        api.close()


def test_a_sync_pulls_only_the_ledgers_of_accounts_that_changed(server, laptop, clock, token):
    store = laptop("a")
    ids = [services.create_account(store.unit_of_work(), clock, name, f"office@{name.split()[0].lower()}.example"
                                   ).account_id for name in ("Acme Dental", "Bistro Nord", "Cafe Sud")]
    report, counting = counted_sync(store, clock, server, token)
    assert report.ok and sorted(counting.ledgers()) == sorted(ids)  # named by the ops sent
    report, counting = counted_sync(store, clock, server, token)
    assert report.ok and counting.ledgers() == []  # nothing changed: no ledger request at all
    services.update_account(store.unit_of_work(), clock, ids[1], name="Bistro Nord et Fils")
    report, counting = counted_sync(store, clock, server, token)
    assert report.ok and counting.ledgers() == [ids[1]]
    other = laptop("b")
    services.update_account(other.unit_of_work(), clock, ids[2], name="Cafe Sud-Ouest")
    assert sync_now(other, clock).ok
    report, counting = counted_sync(store, clock, server, token)
    assert report.ok and counting.ledgers() == [ids[2]]  # changed elsewhere: its revision rose




def test_the_statement_matches_the_servers_ledger_to_the_tick(server, laptop, clock, token):
    store = laptop("a")
    account_id, pbx_id, _ = prepare_customer(store, clock, server)
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10})
    assert sync_now(store, clock).ok
    start = clock.now()
    clock.advance(10 * SECONDS_PER_DAY)
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10, UC: 2})
    assert sync_now(store, clock).ok
    clock.advance(5 * SECONDS_PER_DAY)
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {UC: 2})
    assert sync_now(store, clock).ok
    view = services.statement(store.unit_of_work(), account_id, start, clock.now())
    with server.client(token) as client:
        lines = client.get(f"/accounts/{account_id}/ledger").json()["lines"]
    charged = sum(l["ticks"] for l in lines if l["kind"] == "charge" and start <= l["start"] and l["end"] <= clock.now())
    assert view.charged_ticks == charged > 0
    ip = next(r for r in view.rows if r.ref == IP_PORT)
    assert ip.seconds == 15 * SECONDS_PER_DAY and ip.rates == (12 * 500 * 10,)


def test_the_background_syncer_syncs_as_soon_as_the_server_answers(server, laptop, clock, token):
    server.stop()
    store = laptop("a", synced=False)
    account = services.create_account(store.unit_of_work(), clock, "Acme Dental", "office@acme-dental.example")
    reports, waits = [], []

    def wait(seconds):
        """Instead of waiting: note the delay; the server comes back during the second wait."""
        waits.append(seconds)
        if len(waits) == 2:
            server.start()
        if reports[-1].ok:
            syncer.request_stop()

    syncer = services.BackgroundSyncer(store, clock, interval_s=60, min_backoff_s=5, max_backoff_s=300,
                                       on_report=reports.append, wait=wait)
    try:
        assert syncer.start().join(timeout=60)  # it stops itself once synced
    finally:
        syncer.stop()
    assert [r.ok for r in reports] == [False, False, True]  # down, down, back: the next attempt reaches it
    assert waits == [5, 10, 60]  # back-off doubles while offline, then the normal interval
    assert services.account_detail(store.unit_of_work(), clock, account.account_id).is_confirmed


def test_the_background_back_off_doubles_up_to_its_ceiling_and_resets_after_a_success(server, laptop, clock):
    store = laptop("a")
    server.stop()
    syncer = services.BackgroundSyncer(store, clock, interval_s=300, min_backoff_s=5, max_backoff_s=30)
    assert [syncer.step() for _ in range(5)] == [5, 10, 20, 30, 30]
    server.start()
    assert syncer.step() == 300 and syncer.last_report.ok
    server.stop()
    assert syncer.step() == 5


def test_a_server_over_plain_http_to_another_machine_is_never_called():
    with pytest.raises(services.InsecureServerUrl, match="in clear"):
        transport.HttpTransport("http://licenses.example.com", "tok")


def test_a_plain_http_server_kept_from_before_is_refused_with_its_host_as_data(store, clock):
    with store.unit_of_work(write=True) as uow:
        uow.settings.put("server_url", "http://licenses.example.com")
        uow.commit()
    report = sync_now(store, clock)
    assert (report.error_reason.code, report.error_reason.params) == (
        "url-in-clear", {"url": "http://licenses.example.com", "host": "licenses.example.com"})
    assert "in clear" in report.error


def test_a_refused_token_is_reported_and_nothing_is_lost(server, laptop, clock):
    store = laptop("a")
    services.set_settings(store.unit_of_work(), token="not-a-token")
    services.create_account(store.unit_of_work(), clock, "Acme Dental", "office@acme-dental.example")
    report = sync_now(store, clock)
    assert not report.ok and "token" in report.error
    assert services.sync_status(store.unit_of_work()).queued == 1


def test_a_manual_sync_waits_while_the_background_one_runs(server, laptop, clock):
    store = laptop("a")
    assert sync._lock_for(store.unit_of_work) is sync._lock_for(store)
    services.create_account(store.unit_of_work(), clock, "Acme Dental", "office@acme-dental.example")
    lock = sync._lock_for(store)
    with lock:
        worker = threading.Thread(target=services.sync_now, args=(store.unit_of_work, clock))
        worker.start()
        assert lock.wait_for_waiters(1, timeout=20)  # it queues behind the running sync...
        assert services.sync_status(store.unit_of_work()).queued == 1  # ...having sent nothing twice
    worker.join(20)
    assert not worker.is_alive() and services.sync_status(store.unit_of_work()).queued == 0


def test_the_first_run_check_refuses_plain_http_to_another_machine_as_data_before_calling_it():
    from rental.signing import Keyring

    check = transport.check_connection("http://licenses.example.com", "tok", Keyring())
    assert (check.ok, check.code, check.field) == (False, "insecure-url", "server_url")
    assert (check.reason.code, check.reason.params["host"]) == ("url-in-clear", "licenses.example.com")


def test_a_revoked_token_stops_the_background_retries_until_a_new_token_and_nothing_is_lost(server, laptop, clock):
    """Issue 23: a revoked token is no outage: retrying every 5 s cannot help, so the syncer waits its longest
    back-off (a new token in Settings pokes it); the queued change stays and is sent with the new token."""
    from license_server import admin

    store = laptop("a")
    account = services.create_account(store.unit_of_work(), clock, "Acme Dental", "office@acme-dental.example")
    admin.revoke_technician(server.ctx, admin.list_technicians(server.ctx)[0].id)
    syncer = services.BackgroundSyncer(store, clock, interval_s=300, min_backoff_s=5, max_backoff_s=600)
    assert syncer.step() == 600
    assert syncer.last_report.error_reason.code == "sync-token-revoked"
    assert services.sync_status(store.unit_of_work()).needs_new_token
    services.set_settings(store.unit_of_work(), token=server.add_technician("Acme Partners", "Ann again"))
    assert syncer.step() == 300 and syncer.last_report.ok
    assert services.account_detail(store.unit_of_work(), clock, account.account_id).is_confirmed
    assert not services.sync_status(store.unit_of_work()).needs_new_token
