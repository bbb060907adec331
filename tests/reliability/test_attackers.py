"""Attackers on the license server: another partner, a token guesser, and anyone reading the logs.

A live server over HTTP on 127.0.0.1 (in-process, FakeClock, SQLite) for isolation and
guessing; gunicorn in a subprocess with its access and error logs on for the log check.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from license_server.opschema import OPS
from tests.support.faults import KillableProcess
from tests.support.license_server import GunicornLicenseServer, LiveLicenseServer, demo_keyring
from tests.support.postgres import free_port

from .figures import record

ROOT = Path(__file__).resolve().parents[2]
KEYRING = demo_keyring()


def payload_of(envelope: dict) -> dict:
    return KEYRING.verify_envelope(envelope)


def sync(client: httpx.Client, *ops: dict) -> dict:
    answer = client.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": list(ops)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def op(kind: str, account_id: str, **fields) -> dict:
    return {"op_id": str(uuid.uuid4()), "kind": kind, "account_id": account_id, **fields}


@pytest.fixture
def server(tmp_path):
    with LiveLicenseServer(tmp_path / "ls") as server:
        yield server


@pytest.fixture
def victim(server):
    """Partner Acme's account with a PBX, licenses and credit: what the other partner must not see or touch."""
    token = server.add_technician("Acme Telecom", "Ann")
    account = str(uuid.uuid4())
    [key, held] = server.issue_keys("300", 1) + server.issue_keys("20", 1)
    with server.client(token) as client:
        answer = sync(client,
                      op("create_account", account, name="Secret Dental", contact_email="boss@secret-dental.example",
                         cloud_contract=False),
                      op("redeem_key", account, key=key),
                      op("register_pbx", account, pbx_id="pbx-secret", name="Reception", serial="SN-SECRET-42",
                         platform="vmware", firmware="14r1", mode="rental"),
                      op("set_licenses", account, pbx_id="pbx-secret", base_revision=1, items={"01-00010-001": 4}),
                      op("deposit_key", account, key=held))  # R24: a key held, which only Acme may withdraw
        assert [payload_of(r)["status"] for r in answer["results"]] == ["applied"] * 5, answer
        snapshot = client.get(f"/accounts/{account}").json()
        ledger = client.get(f"/accounts/{account}/ledger").json()
    return {"token": token, "account": account, "snapshot": payload_of(snapshot), "ledger": ledger,
            "op_ids": [payload_of(r)["op_id"] for r in answer["results"]]}


SECRETS = ("Secret Dental", "secret-dental", "SN-SECRET-42", "Reception", "pbx-secret")


def reveals(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


# ------------------------------------------------------------------ partner isolation


def test_another_partner_sees_nothing_of_an_account_on_any_read(server, victim):
    """DESIGN §5: another partner's account answers exactly as an account that does not exist."""
    intruder = server.add_technician("Rival Networks", "Rex")
    nobody = str(uuid.uuid4())
    with server.client(intruder) as client:
        listing = client.get("/accounts")
        assert listing.status_code == 200 and listing.json()["accounts"] == [] and not reveals(listing.text)
        for path in ("/accounts/{}", "/accounts/{}/ledger", "/accounts/{}/ledger?limit=1000",
                     "/accounts/{}/ledger?before=1000000"):
            theirs, missing = client.get(path.format(victim["account"])), client.get(path.format(nobody))
            assert theirs.status_code == missing.status_code == 404, path
            assert theirs.json() == missing.json(), f"{path}: another partner's account answers unlike a missing one"


@pytest.mark.parametrize("kind", sorted(OPS))
def test_another_partner_can_apply_no_op_of_any_kind_to_an_account(server, victim, kind):
    """Every op kind on another partner's account is refused, changes nothing and reveals nothing."""
    intruder = server.add_technician("Rival Networks", "Rex")
    [key] = server.issue_keys("50", 1)
    fields = {
        "create_account": dict(name="Takeover", contact_email="x@rival.example", cloud_contract=True),
        "update_account": dict(name="Hijacked", contact_email="x@rival.example"),
        "register_pbx": dict(pbx_id="pbx-rival", name="R", serial="S", platform="vmware", firmware="14r1",
                             mode="rental"),
        "update_pbx": dict(pbx_id="pbx-secret", base_revision=2, name="Hijacked"),
        "set_licenses": dict(pbx_id="pbx-secret", base_revision=2, items={}),
        "remove_pbx": dict(pbx_id="pbx-secret", base_revision=2),
        "redeem_key": dict(key=key),
        "deposit_key": dict(key=key),
        "withdraw_key": dict(key_id=victim["snapshot"]["deposits"][0]["key_id"]),
        "delete_account": dict(confirm_forfeit_milli=victim["snapshot"]["balance_ticks"] // 31_557_600),
    }[kind]
    with server.client(intruder) as client:
        answer = sync(client, op(kind, victim["account"], **fields))
    [result] = [payload_of(envelope) for envelope in answer["results"]]
    assert result["status"] == "rejected" and result["rule"] == "access", result
    assert result["revision"] is None and answer["accounts"] == [], "the refusal shows the account"
    assert not reveals(json.dumps(answer)) and not reveals(result["message"])
    with server.client(victim["token"]) as client:
        after = payload_of(client.get(f"/accounts/{victim['account']}").json())
        ledger = client.get(f"/accounts/{victim['account']}/ledger").json()
    assert after == victim["snapshot"], "another partner changed the account"
    assert ledger == victim["ledger"]


def test_reusing_another_partners_op_id_learns_nothing_and_changes_nothing(server, victim):
    intruder = server.add_technician("Rival Networks", "Rex")
    own = str(uuid.uuid4())
    with server.client(intruder) as client:
        stolen = {"op_id": victim["op_ids"][0], "kind": "create_account", "account_id": own, "name": "Mine",
                  "contact_email": "m@rival.example", "cloud_contract": False}
        answer = sync(client, stolen)
    [result] = [payload_of(envelope) for envelope in answer["results"]]
    assert result["status"] == "rejected" and result["rule"] == "op-reuse"
    assert result["account_id"] == own and not reveals(json.dumps(answer))
    assert answer["accounts"] == []


# ------------------------------------------------------------------ token guessing


def test_guessing_tokens_is_cut_off_after_a_few_tries_and_the_lockout_ends_with_the_window(server, victim):
    """An attacker trying tokens gets 429 with Retry-After after a few guesses, even for the right one."""
    answers = []
    with httpx.Client(base_url=server.url + "/api/v1", timeout=10) as client:
        for _ in range(200):
            guess = secrets.token_urlsafe(32)
            answers.append(client.get("/accounts", headers={"Authorization": f"Bearer {guess}"}))
        locked = client.get("/accounts", headers={"Authorization": f"Bearer {victim['token']}"})
        unauthorized = sum(1 for answer in answers if answer.status_code == 401)
        limited = [answer for answer in answers if answer.status_code == 429]
        assert unauthorized + len(limited) == len(answers)
        assert 1 <= unauthorized <= 30, f"{unauthorized} guesses were checked before any limit"
        assert limited and all(int(answer.headers["Retry-After"]) > 0 for answer in limited)
        assert limited[0].json()["error"] == "too-many-requests"
        # During the lockout even the right token is not checked: guessing learns nothing.
        assert locked.status_code == 429
        server.clock.advance(int(limited[-1].headers["Retry-After"]))
        assert client.get("/accounts", headers={"Authorization": f"Bearer {victim['token']}"}).status_code == 200
    record("token_guessing", guesses_sent=len(answers), guesses_checked=unauthorized,
           guesses_refused_429=len(limited), lockout_s=int(limited[0].headers["Retry-After"]))


def test_a_technician_with_a_good_token_is_never_limited(server, victim):
    with server.client(victim["token"]) as client:
        assert all(client.get("/accounts").status_code == 200 for _ in range(100))


def _guesses(client: httpx.Client, path: str, forwarded_for, count: int = 30, bearer: bool = True) -> list[int]:
    """count wrong tokens (or customer links) sent as nginx passes them on: X-Forwarded-For ends with the client's
    address; forwarded_for(i) is the header of the i-th request."""
    answers = []
    for i in range(count):
        guess = secrets.token_urlsafe(32)
        headers = {"X-Forwarded-For": forwarded_for(i)}
        if bearer:
            headers["Authorization"] = f"Bearer {guess}"
        answers.append(client.get(path if bearer else path + guess, headers=headers).status_code)
    return answers


def test_behind_the_documented_proxy_a_guesser_locks_out_only_their_own_address(tmp_path):
    """deploy/: nginx in front, so every request reaches the server from 127.0.0.1. Counted on that address, a few
    wrong tokens or links locked every technician and every customer out; with PROXY_HOPS=1 (deploy/
    license-server.env) they are counted on the client's address nginx appended, which the client cannot forge."""
    config = {"PROXY_HOPS": 1, "PUBLIC_URL": "https://licenses.example.com"}
    with LiveLicenseServer(tmp_path / "ls", config=config) as server:
        token = server.add_technician("Acme Telecom", "Ann")
        account = str(uuid.uuid4())
        with server.client(token) as technician:
            technician.headers["X-Forwarded-For"] = "198.51.100.7"
            sync(technician, op("create_account", account, name="Dental", contact_email="it@dental.example",
                                cloud_contract=False))
            link = technician.post(f"/accounts/{account}/customer-link").json()["url"]
        with httpx.Client(base_url=server.url, timeout=10) as client:
            # the attacker also writes an X-Forwarded-For of their own, a new one each time: nginx appends theirs
            tokens = _guesses(client, "/api/v1/accounts", lambda i: f"192.0.2.{i}, 203.0.113.9")
            links = _guesses(client, "/customer/", lambda i: f"192.0.2.{i}, 203.0.113.9", bearer=False)
            assert 429 in tokens and 429 in links
            assert client.get("/api/v1/accounts", headers={"X-Forwarded-For": "198.51.100.7",
                                                           "Authorization": f"Bearer {token}"}).status_code == 200
            page = client.get("/customer/" + link.rsplit("/", 1)[1], headers={"X-Forwarded-For": "198.51.100.8"})
            assert page.status_code == 200 and "Dental" in page.text


def test_without_a_proxy_in_front_a_forwarded_for_header_is_not_believed(server, victim):
    """PROXY_HOPS 0 (the default): a guesser writing another X-Forwarded-For each time is still one address."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert 429 in _guesses(client, "/api/v1/accounts", lambda i: f"192.0.2.{i}")


def test_proxy_hops_counts_the_proxies_in_front_and_a_wrong_value_says_what_it_is():
    from license_server.config import SettingsError, load_settings

    assert load_settings({}, {"LICENSE_SERVER_PROXY_HOPS": "1"}).PROXY_HOPS == 1
    assert load_settings({}, {}).PROXY_HOPS == 0
    with pytest.raises(SettingsError, match=r"PROXY_HOPS must be 0 to 5: the reverse proxies .* \(nginx alone: 1\)"):
        load_settings({}, {"LICENSE_SERVER_PROXY_HOPS": "9"})
    with pytest.raises(SettingsError, match="LICENSE_SERVER_PROXY_HOPS must be a whole number, not 'one'"):
        load_settings({}, {"LICENSE_SERVER_PROXY_HOPS": "one"})


# ------------------------------------------------------------------ tokens never logged


def test_tokens_never_appear_in_the_servers_logs(tmp_path, postgres_url):
    """gunicorn with access and error logs at debug, real traffic, guesses, errors: no token in any log line."""
    admin = GunicornLicenseServer(postgres_url, tmp_path)
    admin.publish_prices(__import__("license_server.admin", fromlist=["x"]).demo_pricelist())
    token = admin.add_technician("Acme Telecom", "Ann")
    port = free_port()
    log = tmp_path / "gunicorn.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = KillableProcess(
        [str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "debug", "--access-logfile", "-",
         "--error-logfile", "-", "license_server:create_app()"],
        port=port, cwd=str(ROOT), env=admin.env, log_path=str(log))
    process.start()
    guesses = [secrets.token_urlsafe(32) for _ in range(5)]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=20) as client:
            auth = {"Authorization": f"Bearer {token}"}
            account = str(uuid.uuid4())
            client.post("/sync", headers=auth, json={"client_id": str(uuid.uuid4()), "ops": [
                op("create_account", account, name="A", contact_email="a@example.com", cloud_contract=False),
                op("redeem_key", account, key="ISC1-BAD"), ["junk"]]})
            client.get(f"/accounts/{account}", headers=auth)
            client.post("/sync", headers=auth, content=b"{not json")
            client.post("/sync", headers=auth, json={"ops": "nope"})
            client.get("/nowhere", headers=auth)
            for guess in guesses:
                client.get("/accounts", headers={"Authorization": f"Bearer {guess}"})
                client.get("/accounts", headers={"Authorization": guess})
    finally:
        process.kill()
        admin.ctx.engine.dispose()
    text = log.read_text(errors="replace")
    assert text.count("/api/v1/") >= 10, "the access log captured nothing: the check would prove nothing"
    leaked = [secret for secret in [token, *guesses] if secret in text]
    assert not leaked, "a token was written to the server log"
    record("tokens_in_logs", server_log_lines=len(text.splitlines()), tokens_tried=1 + len(guesses), tokens_found=0)


def test_tokens_never_appear_in_the_apps_logs_or_messages(tmp_path, caplog):
    """The app core syncing (good token, then a revoked one) logs and shows no token."""
    from app import services
    from app.clock import MovableClock

    from .app_worker import FAST_KDF

    caplog.set_level(logging.DEBUG)
    with LiveLicenseServer(tmp_path / "ls") as server:
        token = server.add_technician("Acme Telecom", "Ann")
        store = services.initialise(tmp_path / "laptop", "correct horse battery", server_url=server.url,
                                    token=token, demo=True, kdf=FAST_KDF)
        clock = MovableClock(server.clock.now)
        try:
            services.create_account(store.unit_of_work(), clock, "Acme Dental", "office@acme.example")
            assert services.sync_now(store, clock).ok
            wrong = secrets.token_urlsafe(32)
            services.set_settings(store.unit_of_work(), token=wrong)
            report = services.sync_now(store, clock)
            assert not report.ok
            status = services.sync_status(store.unit_of_work())
        finally:
            store.close()
    shown = json.dumps([str(report), str(status)])
    assert token not in caplog.text and wrong not in caplog.text
    assert token not in shown and wrong not in shown
    assert base64.b64encode(token.encode()).decode() not in caplog.text


def test_resending_a_refused_create_account_or_reusing_an_op_id_answers_without_a_server_error(server, victim):
    """A stored refusal names an account that never came to be; the answer must still be 200 (was a 500)."""
    with server.client(victim["token"]) as client:
        refused = op("create_account", str(uuid.uuid4()), name="", contact_email="nope", cloud_contract=False)
        for _ in range(2):  # the second time it is answered from the stored result
            [result] = [payload_of(envelope) for envelope in sync(client, refused)["results"]]
            assert result["status"] == "rejected" and result["rule"] == "bad-op"
        reused = {**refused, "account_id": str(uuid.uuid4())}
        [result] = [payload_of(envelope) for envelope in sync(client, reused)["results"]]
        assert result["rule"] == "op-reuse"
