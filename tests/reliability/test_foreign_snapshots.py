"""Another partner's genuine snapshot slipped into an answer (issue 14, item 5): a man in the middle, or a
server bug. Every envelope is genuine (signed by the server's key), so signatures alone cannot refuse it; the
app learns its token's partner from the server's signed GET /whoami, bound to that token, and keeps only that
partner's accounts.

Real parts: the license server over HTTP on 127.0.0.1, the app core on a SQLCipher store, and a tampering
transport between them that swaps in genuine documents fetched with the other partner's token.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from app import services, transport
from app.clock import MovableClock
from tests.support.license_server import LiveLicenseServer

PASSPHRASE = "correct horse battery"
FAST_KDF = {"name": "scrypt", "n": 2**10, "r": 8, "p": 1}


@pytest.fixture
def server(tmp_path):
    with LiveLicenseServer(tmp_path / "ls") as server:
        yield server


@pytest.fixture
def partners(server):
    """Two partners' technicians; partner B has an account whose genuine snapshot the attacker holds."""
    acme, rival = server.add_technician("Acme Telecom", "Ann"), server.add_technician("Rival Networks", "Rob")
    rival_account = str(uuid.uuid4())
    with server.client(rival) as client:
        answer = client.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [
            {"op_id": str(uuid.uuid4()), "kind": "create_account", "account_id": rival_account,
             "name": "Rival Customer", "contact_email": "it@rival.example", "cloud_contract": False}]})
        snapshot = answer.json()["accounts"][0]
        whoami = client.get("/whoami").json()
    return {"acme": acme, "rival": rival, "rival_account": rival_account, "rival_snapshot": snapshot,
            "rival_whoami": whoami}


class SlipIn(httpx.HTTPTransport):
    """Real HTTP to the server; the answers on `paths` get another partner's genuine documents slipped in."""

    def __init__(self, snapshot: dict | None = None, whoami: dict | None = None, paths=("/sync", "/accounts")):
        super().__init__()
        self.snapshot, self.whoami, self.paths = snapshot, whoami, paths

    def handle_request(self, request):
        response = super().handle_request(request)
        path = request.url.path
        if self.whoami is not None and path.endswith("/whoami"):
            response.read()
            response.close()
            return httpx.Response(200, json=self.whoami)
        if self.snapshot is not None and path.endswith(self.paths):
            body = json.loads(response.read())
            response.close()
            body["accounts"] = body["accounts"] + [self.snapshot]
            return httpx.Response(response.status_code, json=body)
        return response


def sync_through(store, clock, server, token, slip: SlipIn):
    api = transport.HttpTransport(server.url, token, transport=slip)
    try:
        return services.sync_now(store, clock, transport=api)
    finally:
        api.close()


def laptop(tmp_path, server, token):
    return services.initialise(tmp_path / "laptop", PASSPHRASE, server.url, token, demo=True, kdf=FAST_KDF)


def held_accounts(store) -> set[str]:
    from app import replica

    with store.unit_of_work() as uow:
        return {row.account_id for row in uow.session.query(replica.AccountReplica)}


def test_another_partners_genuine_snapshot_in_the_account_list_is_refused_and_not_listed(tmp_path, server, partners):
    store = laptop(tmp_path, server, partners["acme"])
    clock = MovableClock(server.clock.now)
    try:
        mine = services.create_account(store.unit_of_work(), clock, "Hotel du Lac", "it@lac.example").account_id
        report = sync_through(store, clock, server, partners["acme"],
                              SlipIn(partners["rival_snapshot"], paths=("/accounts",)))
        assert partners["rival_account"] not in held_accounts(store), "another partner's account is listed as ours"
        assert held_accounts(store) == {mine}
        assert report.refused
        reasons = " ".join(r.reason for r in services.sync_status(store.unit_of_work()).refusals)
        assert "another partner" in reasons
        names = [a.name for a in services.list_accounts(store.unit_of_work(), clock)]
        assert "Rival Customer" not in names and "Hotel du Lac" in names
    finally:
        store.close()


def test_another_partners_genuine_snapshot_in_a_sync_answer_refuses_the_answer_whole(tmp_path, server, partners):
    """As for a forged envelope: nothing of that answer is believed, the op stays queued and the honest resend
    gets the stored result."""
    store = laptop(tmp_path, server, partners["acme"])
    clock = MovableClock(server.clock.now)
    try:
        mine = services.create_account(store.unit_of_work(), clock, "Hotel du Lac", "it@lac.example").account_id
        report = sync_through(store, clock, server, partners["acme"], SlipIn(partners["rival_snapshot"], paths=("/sync",)))
        assert not report.ok and "another partner" in report.error
        assert held_accounts(store) == set() and services.sync_status(store.unit_of_work()).queued == 1
        assert services.sync_now(store, clock).ok
        assert held_accounts(store) == {mine} and services.sync_status(store.unit_of_work()).queued == 0
    finally:
        store.close()


def test_an_honest_sync_of_the_same_laptop_is_untouched(tmp_path, server, partners):
    """The control: without the slipped document, the laptop holds its own accounts and no refusal."""
    store = laptop(tmp_path, server, partners["acme"])
    clock = MovableClock(server.clock.now)
    try:
        mine = services.create_account(store.unit_of_work(), clock, "Hotel du Lac", "it@lac.example").account_id
        report = services.sync_now(store, clock)
        assert report.ok and not report.refused and held_accounts(store) == {mine}
    finally:
        store.close()


def test_another_technicians_genuine_whoami_replayed_is_refused_and_nothing_is_believed(tmp_path, server, partners):
    """The attacker also swaps in the rival's genuine, signed whoami: it answers another token, so it is refused."""
    store = laptop(tmp_path, server, partners["acme"])
    clock = MovableClock(server.clock.now)
    try:
        services.create_account(store.unit_of_work(), clock, "Hotel du Lac", "it@lac.example")
        report = sync_through(store, clock, server, partners["acme"],
                              SlipIn(partners["rival_snapshot"], partners["rival_whoami"]))
        assert not report.ok and "another token" in report.error
        assert held_accounts(store) == set()
        assert services.sync_status(store.unit_of_work()).queued == 1  # the op waits for an honest answer
    finally:
        store.close()


def test_whoami_is_signed_and_bound_to_the_token_that_asked(server, partners):
    from rental.signing import token_binding

    with server.client(partners["acme"]) as client:
        payload = server.keyring.verify_envelope(client.get("/whoami").json(), "technician")
    assert payload["partner"] == "Acme Telecom" and payload["token_binding"] == token_binding(partners["acme"])
    assert partners["acme"] not in json.dumps(payload)
    assert httpx.get(server.url + "/api/v1/whoami").status_code == 401
