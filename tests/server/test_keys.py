"""Activation keys (R11): a genuine key credits once, anywhere; forged, truncated and reused keys change nothing."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest

from license_server import admin, models
from rental.signing import SigningKey, _pack_key_fields, _sign_key_fields
from tests.support.license_server import LiveLicenseServer, demo_keyring

from .helpers import new_id, ticks

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def test_a_key_credits_its_amount_once(api, ctx):
    account_id = api.new_account()
    [key] = admin.issue_keys(ctx, 250_000, 1)
    result = api.redeem(account_id, key)
    assert result["status"] == "applied"
    assert api.account(account_id)["balance_ticks"] == ticks(250_000)
    credit = api.ledger_rows(account_id)[-1]
    assert (credit["kind"], credit["ticks"]) == ("credit", ticks(250_000))
    assert credit["key_id"] == demo_keyring().read_key(key).key_id_hex


def test_a_key_typed_in_lower_case_with_spaces_is_the_same_key(api, ctx):
    account_id = api.new_account()
    key = ctx.signer.issue_key(1_000, ctx.now())
    assert api.redeem(account_id, key.lower().replace("-", " "))["status"] == "applied"
    assert api.redeem(account_id, key)["rule"] == "key-used"


def test_a_key_redeemed_on_one_account_is_used_for_every_other(api, ctx):
    first, second = api.new_account(), api.new_account()
    key = ctx.signer.issue_key(5_000, ctx.now())
    api.redeem(first, key)
    before = api.account(second)
    result = api.redeem(second, key)
    assert (result["status"], result["rule"]) == ("rejected", "key-used")
    assert "Use another key" in result["message"]
    assert api.account(second) == before


@pytest.mark.parametrize("damage", ["truncated", "forged", "flipped", "garbage", "other-kid"])
def test_a_key_that_is_not_genuine_is_refused_and_changes_nothing(api, ctx, damage):
    account_id = api.new_account()
    genuine = ctx.signer.issue_key(100_000, ctx.now())
    if damage == "truncated":
        key = genuine[:-6]
    elif damage == "forged":  # well formed, signed by a key the server does not trust
        key = SigningKey.generate("demo").issue_key(100_000, ctx.now())
    elif damage == "flipped":
        last = genuine[-1]
        key = genuine[:-1] + ("1" if last != "1" else "2")
    elif damage == "garbage":
        key = "ISC1-HELLO-WORLD-UUUUU"
    else:
        key = SigningKey.generate("other").issue_key(100_000, ctx.now())
    before = api.snapshot()
    result = api.redeem(account_id, key)
    assert (result["status"], result["rule"]) == ("rejected", "key-invalid")
    assert result["code"] in ("key-not-genuine", "key-untrusted", "key-has-u", "key-incomplete")
    assert result["problems"][0]["code"] == result["code"]
    assert api.snapshot() == before


def test_a_key_claiming_an_absurd_amount_is_refused(api, ctx):
    account_id = api.new_account()
    fields = _pack_key_fields(b"\x01" * 10, 2**40, ctx.now(), "demo")
    key = _sign_key_fields(ctx.signer._private_key, fields)
    assert api.redeem(account_id, key)["rule"] == "key-invalid"


def test_two_clients_racing_one_key_get_exactly_one_credit(database_url, tmp_path):
    """Two technicians redeem the same key on two accounts at the same moment: the database decides once."""
    with LiveLicenseServer(tmp_path / "live", database_url=database_url) as server:
        token = server.add_technician("Acme Telecom", "Racer")
        [key] = server.issue_keys("75", 1)
        accounts = [str(uuid.uuid4()) for _ in range(8)]
        with server.client(token) as http:
            for account_id in accounts:
                http.post("/sync", json={"client_id": new_id(), "ops": [
                    {"op_id": new_id(), "kind": "create_account", "account_id": account_id, "name": "Racer",
                     "contact_email": "r@example.com", "cloud_contract": False}]}).raise_for_status()
        barrier = threading.Barrier(len(accounts))
        statuses: list[str] = []

        def redeem(account_id: str) -> None:
            with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                              timeout=30) as http:
                barrier.wait()
                body = http.post("/sync", json={"client_id": new_id(), "ops": [
                    {"op_id": new_id(), "kind": "redeem_key", "account_id": account_id, "key": key}]}).json()
                statuses.append(server.keyring.verify_envelope(body["results"][0])["rule"] or "applied")

        threads = [threading.Thread(target=redeem, args=(a,)) for a in accounts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == ["applied"] + ["key-used"] * (len(accounts) - 1)
        with server.ctx.engine.connect() as connection:
            credits = connection.execute(models.ledger.select().where(models.ledger.c.kind == "credit")).all()
        assert len(credits) == 1


def test_the_same_batch_sent_twice_at_once_is_applied_once_and_answered_alike(database_url, tmp_path):
    """A laptop resends a batch whose answer it never got while the first is still running: exactly once."""
    with LiveLicenseServer(tmp_path / "live", database_url=database_url) as server:
        token = server.add_technician("Acme Telecom", "Twice")
        keys = server.issue_keys("30", 4)
        ops = []
        for key in keys:
            account_id = str(uuid.uuid4())
            ops += [{"op_id": new_id(), "kind": "create_account", "account_id": account_id, "name": "Twice",
                     "contact_email": "t@example.com", "cloud_contract": False},
                    {"op_id": new_id(), "kind": "redeem_key", "account_id": account_id, "key": key}]
        body = {"client_id": new_id(), "ops": ops}
        barrier = threading.Barrier(3)
        answers: list[list[dict]] = []

        def send() -> None:
            with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                              timeout=30) as http:
                barrier.wait()
                answer = http.post("/sync", json=body).json()
                answers.append([server.keyring.verify_envelope(e) for e in answer["results"]])

        threads = [threading.Thread(target=send) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answers) == 3 and answers[0] == answers[1] == answers[2]
        assert {result["status"] for result in answers[0]} == {"applied"}
        with server.ctx.engine.connect() as connection:
            credits = connection.execute(models.ledger.select().where(models.ledger.c.kind == "credit")).all()
        assert len(credits) == 4
