"""Metrics at /metrics (DESIGN §5 METRICS): requests, /sync time, op results, refused tokens, the sweep and its
mails — over real HTTP, and added up across 2 real gunicorn workers (prometheus-client's multiprocess mode).

No label ever carries account data: the tests look through every label for the ids, names and tokens they used.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError

from license_server import create_app
from license_server.config import SettingsError, load_settings
from tests.support.license_server import DEMO_KEY, GunicornLicenseServer, LiveLicenseServer, migrated_sqlite
from tests.support.postgres import free_port

from .helpers import DAY, IP_PORT, Api, new_id
from .smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, ((label, value), ...)): value} of a Prometheus text page."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(page: dict, name: str, **labels) -> float:
    return page.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(url: str) -> tuple[str, dict]:
    response = httpx.get(url + "/metrics", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text, samples(response.text)


@pytest.fixture
def sink():
    made = SmtpSink().start()
    yield made
    made.stop()


@pytest.fixture
def metered(tmp_path, sink):
    """A live server with METRICS on, mailing through the sink; its Api over real HTTP."""
    server = LiveLicenseServer(tmp_path / "server", config={
        "METRICS": True, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": sink.port}).start()
    http = httpx.Client(base_url=server.url, timeout=30)
    api = Api.for_http(http, server.add_technician("Acme Telecom", "Ann Technician"), server.ctx, server.clock,
                       server.keyring)
    yield server, api
    http.close()
    server.stop()


def test_metrics_are_a_404_unless_the_setting_turns_them_on(tmp_path):
    with LiveLicenseServer(tmp_path / "off") as server:
        response = httpx.get(server.url + "/metrics")
        assert response.status_code == 404
        assert response.json()["error"] == "not-found"


def test_the_metrics_setting_reads_true_and_false_from_the_environment_and_refuses_anything_else():
    assert load_settings({}, {"LICENSE_SERVER_METRICS": "1"}).METRICS is True
    assert load_settings({}, {"LICENSE_SERVER_METRICS": "true"}).METRICS is True
    assert load_settings({}, {"LICENSE_SERVER_METRICS": "0"}).METRICS is False
    assert load_settings({}, {}).METRICS is False
    with pytest.raises(SettingsError, match="LICENSE_SERVER_METRICS must be true or false"):
        load_settings({}, {"LICENSE_SERVER_METRICS": "maybe"})


def test_requests_are_counted_by_route_template_and_status_never_by_path(metered):
    server, api = metered
    account_id = api.new_account(name="Boulangerie Émile")
    assert api.call("GET", f"/accounts/{account_id}")[0] == 200
    assert api.call("GET", f"/accounts/{new_id()}")[0] == 404
    assert httpx.get(server.url + "/no/such/" + account_id).status_code == 404
    assert httpx.request("BREW", server.url + "/api/v1/health").status_code == 405  # a method nobody uses
    text, page = scrape(server.url)
    route = "/api/v1/accounts/<account_id>"
    assert value(page, "license_server_requests_total", route=route, method="GET", status="200") == 1
    assert value(page, "license_server_requests_total", route=route, method="GET", status="404") == 1
    assert value(page, "license_server_requests_total", route="unmatched", method="GET", status="404") == 1
    assert value(page, "license_server_requests_total", route="unmatched", method="other", status="405") == 1
    assert "BREW" not in text  # clients choose methods: a label takes only the usual ones
    assert value(page, "license_server_requests_total", route="/api/v1/sync", method="POST", status="200") == 1
    assert account_id not in text and "Émile" not in text and "Acme" not in text and api.token not in text


def test_sync_time_and_op_results_by_kind_status_and_code(metered):
    server, api = metered
    account_id = api.running_account("100")  # create, redeem, register, set_licenses: 4 syncs, all applied
    [key] = server.issue_keys("10", 1)
    assert api.redeem(account_id, key)["status"] == "applied"
    assert api.redeem(account_id, key)["code"] == "key-used"  # the same key again, another op
    op = api.set_licenses_op(account_id, {IP_PORT: 11}, base_revision=1)  # a stale revision
    assert api.sync(op).result["status"] == "conflict"
    assert api.sync(op).result["status"] == "conflict"  # the stored result, answered again, counts again
    # the stored op's id on another op: refused and not stored (a result signed in this request, with no record)
    assert api.sync({**op, "items": {IP_PORT: 12}}).result["code"] == "op-reuse"
    assert api.sync({"op_id": new_id(), "kind": "mint_money", "account_id": account_id}).result["code"] == \
        "kind-unknown"
    text, page = scrape(server.url)
    count = lambda kind, status, code: value(page, "license_server_op_results_total", kind=kind, status=status,
                                             code=code)  # noqa: E731
    assert count("create_account", "applied", "none") == 1
    assert count("redeem_key", "applied", "none") == 2
    assert count("redeem_key", "rejected", "key-used") == 1
    conflicts = {labels: n for (name, labels), n in page.items()
                 if name == "license_server_op_results_total" and ("status", "conflict") in labels}
    assert sum(conflicts.values()) == 2 and all(dict(labels)["kind"] == "set_licenses" for labels in conflicts)
    assert count("set_licenses", "rejected", "op-reuse") == 1
    assert count("unknown", "rejected", "kind-unknown") == 1  # a kind nobody declared is not a label value
    assert "mint_money" not in text and key not in text
    syncs = value(page, "license_server_sync_duration_seconds_count")
    assert syncs == value(page, "license_server_requests_total", route="/api/v1/sync", method="POST", status="200")
    assert syncs == 10
    assert value(page, "license_server_sync_duration_seconds_sum") > 0


def test_refused_tokens_are_counted_by_reason(tmp_path):
    with LiveLicenseServer(tmp_path / "server", config={"METRICS": True, "TOKEN_GUESS_LIMIT": 2}) as server:
        base = server.url + "/api/v1/accounts"
        assert httpx.get(base).status_code == 401  # no token
        for guess in ("guess-1", "guess-2", "guess-3"):
            httpx.get(base, headers={"Authorization": f"Bearer {guess}"})
        _, page = scrape(server.url)
    assert value(page, "license_server_token_failures_total", reason="missing") == 1
    assert value(page, "license_server_token_failures_total", reason="unknown") == 2
    assert value(page, "license_server_token_failures_total", reason="throttled") == 1  # the third: 429


def test_revoked_and_expired_tokens_are_counted_by_their_own_reason(tmp_path):
    """Issue 23's 401 codes (token-revoked, token-expired) flow through the same hook as unknown tokens."""
    from license_server import admin

    with LiveLicenseServer(tmp_path / "server", config={"METRICS": True}) as server:
        revoked = server.add_technician("Acme Telecom", "Ann")
        expiring = admin.add_technician(server.ctx, "Acme Telecom", "Bob", expires_days=1)
        [ann] = [row.id for row in admin.list_technicians(server.ctx) if row.name == "Ann"]
        admin.revoke_technician(server.ctx, ann)
        server.clock.advance(2 * DAY)
        base = server.url + "/api/v1/accounts"
        assert httpx.get(base, headers={"Authorization": f"Bearer {revoked}"}).json()["error"] == "token-revoked"
        assert httpx.get(base, headers={"Authorization": f"Bearer {expiring}"}).json()["error"] == "token-expired"
        text, page = scrape(server.url)
    assert value(page, "license_server_token_failures_total", reason="revoked") == 1
    assert value(page, "license_server_token_failures_total", reason="expired") == 1
    assert revoked not in text and expiring not in text and "Ann" not in text


def test_the_sweep_counts_what_it_suspended_expired_and_mailed_and_how_long_it_took(metered, sink):
    server, api = metered
    ending = api.running_account("6")  # a little credit: it runs out in about five weeks
    idle = api.new_account(name="Hôtel du Lac")
    api.load(idle, "10")  # credit and nothing rented: kept for the retention period, then expired (R19)
    reloading = api.running_account("10", name="Garage Martin")  # ~61 days, a key held for 28 days before (R24)
    [held] = server.issue_keys("5", 1)
    assert api.sync(api.op("deposit_key", reloading, key=held)).result["status"] == "applied"
    assert api.sync(api.op("update_account", reloading, auto_reload_days=28)).result["status"] == "applied"
    end = api.account(ending)["depletes_at"]
    assert api.account(reloading)["reload_at"] < end
    server.clock.set(end + 1)
    report = server.sweep()
    assert report.suspended == 1 and report.reloads == 1 and report.mails_sent >= 1
    _, page = scrape(server.url)
    assert value(page, "license_server_sweep_changes_total", change="suspended") == 1
    assert value(page, "license_server_sweep_changes_total", change="reloaded") == 1
    assert value(page, "license_server_sweep_changes_total", change="expired") == 0
    assert value(page, "license_server_mails_total", result="sent") == report.mails_sent == len(sink.take())
    assert value(page, "license_server_sweeps_total", result="ok") == 1
    assert value(page, "license_server_sweep_duration_seconds_count") == 1
    # the retention period passes with the idle account's credit unused: it expires (R19)
    server.clock.advance(server.ctx.policy.retention_s + DAY)
    assert server.sweep().expired == 1
    _, page = scrape(server.url)
    assert value(page, "license_server_sweep_changes_total", change="expired") == 1
    assert value(page, "license_server_sweeps_total", result="ok") == 2


def test_mails_the_smtp_server_refuses_count_failed_and_stay_queued(tmp_path):
    closed = free_port()  # nothing listens there
    with LiveLicenseServer(tmp_path / "server", config={"METRICS": True, "SMTP_HOST": "127.0.0.1",
                                                        "SMTP_PORT": closed}) as server:
        http = httpx.Client(base_url=server.url, timeout=30)
        api = Api.for_http(http, server.add_technician(), server.ctx, server.clock, server.keyring)
        account_id = api.running_account("6")
        server.clock.set(api.account(account_id)["depletes_at"] + 1)
        report = server.sweep()
        http.close()
        _, page = scrape(server.url)
    assert report.suspended == 1 and report.mails_failed == 1 and report.mails_sent == 0
    assert value(page, "license_server_mails_total", result="failed") == 1
    assert value(page, "license_server_mails_total", result="sent") == 0
    assert value(page, "license_server_mails_queued") == 1


def test_a_failing_sweep_is_counted_failed(tmp_path):
    with LiveLicenseServer(tmp_path / "server", config={"METRICS": True}) as server:
        with server.ctx.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE customer_mails")  # the sweep cannot record its mails
        with pytest.raises(OperationalError, match="customer_mails"):
            server.sweep()
        _, page = scrape(server.url)
    assert value(page, "license_server_sweeps_total", result="failed") == 1
    assert value(page, "license_server_sweeps_total", result="ok") == 0


def test_two_gunicorn_workers_and_the_sweep_command_add_up_in_one_metrics_page(tmp_path):
    """Multiprocess mode: whichever worker answers /metrics shows every worker's requests and every sweep run."""
    with two_metered_workers(tmp_path) as (server, folder, env, token):
        hit, sent = counting_sender(server, token, lambda http: http.get("/accounts").status_code == 200)
        per_worker = until_both_workers_counted(lambda: hit(10), folder, "/api/v1/accounts")
        assert len(per_worker) == 2 and sum(per_worker.values()) == sent[0], per_worker
        pages = [scrape(server.url)[1] for _ in range(6)]  # answered by either worker
        for page in pages:
            assert value(page, "license_server_requests_total", route="/api/v1/accounts", method="GET",
                         status="200") == sent[0]
        # the timer's `license-server sweep`, twice: its runs add up, in one file of its own
        cli = Path(sys.executable).with_name("license-server")
        for _ in range(2):
            done = subprocess.run([str(cli), "sweep"], env={**os.environ, **server.env, **env},
                                  capture_output=True, text=True, cwd=tmp_path)
            assert done.returncode == 0, done.stderr
        page = scrape(server.url)[1]
        assert value(page, "license_server_sweeps_total", result="ok") == 2
        assert value(page, "license_server_sweep_duration_seconds_count") == 2
        assert sorted(file.name for file in folder.glob("*_sweep.db")) == [
            "counter_sweep.db", "gauge_mostrecent_sweep.db", "histogram_sweep.db"]


def test_an_app_made_with_metrics_off_counts_nothing(tmp_path):
    """The hooks cost nothing when off: no registry, no /metrics route."""
    app = create_app({"DATABASE_URL": migrated_sqlite(tmp_path / "s.sqlite3"), "SIGNING_KEY_PATH": str(DEMO_KEY),
                      "INSTANCE_PATH": str(tmp_path)})
    ctx = app.extensions["license_server"]
    assert ctx.metrics.enabled is False and not hasattr(ctx.metrics, "registry")
    assert "metrics" not in app.view_functions
    ctx.engine.dispose()



# ------------------------------------------------------------------ multiprocess values (docs/benchmarks.md §31)

FORKED_WORKER = r"""
import json, os, sys
os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]  # before prometheus_client's import, as under gunicorn
from license_server.metrics import Metrics

metrics = Metrics(True)
getpids = []
sys.setprofile(lambda frame, event, arg: getpids.append(1) if event == "c_call" and arg is os.getpid else None)
metrics.request("/api/v1/sync", "POST", 200, 0.003)  # the parent counts before the fork, like gunicorn's arbiter
sys.setprofile(None)
child = os.fork()
if child == 0:  # a worker: its values go to files of its own from its first write on
    for _ in range(3):
        metrics.request("/api/v1/sync", "POST", 200, 0.003)
    os._exit(0)
os.waitpid(child, 0)
metrics.request("/api/v1/sync", "POST", 200, 0.2)
print(json.dumps({"parent": os.getpid(), "child": child, "getpid_calls": len(getpids),
                  "page": metrics.exposition()[0].decode()}))
"""


def test_values_written_after_a_fork_land_in_the_childs_own_files_and_add_up_exactly(tmp_path):
    """The multiprocess values name their files by a process id kept per process and renewed at fork (no system
    call per value written): a forked child's first value already goes to its own `counter_<pid>.db`, never into
    the parent's mapped file, and the page adds both up to the request."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    done = subprocess.run([sys.executable, "-c", FORKED_WORKER, str(folder)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["getpid_calls"] == 0  # a counter and a histogram (3 values) written without asking the kernel
    counted = counted_by_process(folder, "license_server_requests_total", route="/api/v1/sync")
    assert counted == {str(answer["parent"]): 2.0, str(answer["child"]): 3.0}
    buckets = counted_by_process(folder, "license_server_sync_duration_seconds_bucket", le="0.005")
    assert buckets == {str(answer["parent"]): 1.0, str(answer["child"]): 3.0}
    page = samples(answer["page"])
    assert value(page, "license_server_requests_total", route="/api/v1/sync", method="POST", status="200") == 5
    assert value(page, "license_server_sync_duration_seconds_count") == 5
    assert value(page, "license_server_sync_duration_seconds_bucket", le="0.005") == 4
    assert value(page, "license_server_sync_duration_seconds_bucket", le="0.25") == 5
    assert value(page, "license_server_sync_duration_seconds_sum") == pytest.approx(0.003 * 4 + 0.2)


def counted_by_process(folder: Path, sample_name: str, **labels: str) -> dict[str, float]:
    """A sample's values (every series whose labels include `labels`) added up in each process's histogram and
    counter files, by the id in the file's name."""
    from prometheus_client.mmap_dict import MmapedDict

    found = {}
    for file in [*folder.glob("counter_*.db"), *folder.glob("histogram_*.db")]:
        for key, count, _, _ in MmapedDict.read_all_values_from_file(str(file)):
            _, sample, its_labels, _ = json.loads(key)
            if sample == sample_name and labels.items() <= its_labels.items() and count:
                process = file.stem.rpartition("_")[2]
                found[process] = found.get(process, 0) + count
    return found


@contextlib.contextmanager
def two_metered_workers(tmp_path: Path) -> Iterator[tuple[GunicornLicenseServer, Path, dict, str]]:
    """gunicorn with 2 workers in multiprocess mode on a new SQLite database: the server, its metrics folder, the
    environment that says so, a technician's token."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {"LICENSE_SERVER_METRICS": "1", "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    with GunicornLicenseServer(migrated_sqlite(tmp_path / "server.sqlite3"), tmp_path, workers=2, env=env) as server:
        yield server, folder, env, server.add_technician()


def counting_sender(server, token: str, request: Callable[[httpx.Client], bool]
                    ) -> tuple[Callable[[int], None], list[int]]:
    """send(count): `count` requests on a client of its own (each `request` must answer True), safe from several
    threads; and the list whose one item counts the requests sent."""
    sent, lock = [0], threading.Lock()

    def send(count: int) -> None:
        with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as http:
            for _ in range(count):
                assert request(http)
                with lock:
                    sent[0] += 1

    return send, sent


def until_both_workers_counted(send, folder: Path, route: str) -> dict[str, float]:
    """Four clients `send` at a time until each of the 2 workers has counted requests of `route` in its own file
    (multiprocess mode): requests, not waiting. The counts by process id."""
    for _ in range(50):
        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        counted = counted_by_process(folder, "license_server_requests_total", route=route)
        if len(counted) >= 2:
            break
    return counted


def test_syncs_answered_by_two_gunicorn_workers_add_up_exactly_on_every_page(tmp_path):
    """Multiprocess mode on /sync: the request counter, the time histogram (count, buckets) and the op results read
    exactly the syncs sent, whichever of the 2 workers answered each and whichever answers /metrics."""
    def one_sync(http: httpx.Client) -> bool:
        op = Api.op("create_account", new_id(), name="Client", contact_email="c@example.com", cloud_contract=False,
                    language="en")
        answer = http.post("/sync", json={"client_id": new_id(), "ops": [op]})
        assert answer.status_code == 200, answer.text  # each applied: the op results say so below
        return True

    with two_metered_workers(tmp_path) as (server, folder, _, token):
        sync, sent = counting_sender(server, token, one_sync)
        per_worker = until_both_workers_counted(lambda: sync(5), folder, "/api/v1/sync")
        assert len(per_worker) == 2 and sum(per_worker.values()) == sent[0], per_worker
        for _ in range(6):  # answered by either worker
            page = scrape(server.url)[1]
            assert value(page, "license_server_requests_total", route="/api/v1/sync", method="POST",
                         status="200") == sent[0]
            assert value(page, "license_server_sync_duration_seconds_count") == sent[0]
            assert value(page, "license_server_sync_duration_seconds_bucket", le="+Inf") == sent[0]
            assert value(page, "license_server_op_results_total", kind="create_account", status="applied",
                         code="none") == sent[0]


def test_op_results_of_kinds_no_one_declared_count_unknown_and_are_not_kept_one_by_one():
    """A client's kind (any JSON value) is a label only when declared (R-free: metrics); each other one counts
    `unknown`, and the hook's cache of label children keeps only label values (bounded, whatever clients send)."""
    from license_server.batch import Outcome
    from license_server.metrics import Metrics
    from prometheus_client import generate_latest

    metrics = Metrics(True)
    ops = [{"kind": f"mint_money_{n}"} for n in range(40)] + [{"kind": ["a", "list"]}, {"kind": {"a": 1}}, "no op"]
    refused = Outcome(result={}, account_id=None, counted=("rejected", "kind-unknown"))
    for _ in range(2):
        metrics.op_results_answered(ops, [refused] * len(ops))
    applied = Outcome(result={}, account_id=None, counted=("applied", None))
    metrics.op_results_answered([{"kind": "redeem_key"}] * 3, [applied] * 3)
    page = samples(generate_latest(metrics.registry).decode())
    count = lambda kind, status, code: value(page, "license_server_op_results_total", kind=kind, status=status,
                                             code=code)  # noqa: E731
    assert count("unknown", "rejected", "kind-unknown") == 2 * len(ops)
    assert count("redeem_key", "applied", "none") == 3
    assert len(metrics._op_children) <= 3  # not one entry per kind a client made up
