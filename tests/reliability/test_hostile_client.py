"""A hostile client against the license server (issue 14, items 6-8): lone surrogates, Unicode digits,
oversized chunked bodies, upper-case UUIDs, huge numbers and deep nesting, oversized headers, and the
SQLite file's mode. Real HTTP on 127.0.0.1: the in-process server, `license-server serve` and gunicorn.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from license_server.opschema import OPS
from tests.support.license_server import DEMO_KEY, GunicornLicenseServer, LiveLicenseServer, demo_keyring
from tests.support.postgres import free_port

from .figures import record

ROOT = Path(__file__).resolve().parents[2]
KEYRING = demo_keyring()
SOAK = bool(os.environ.get("RENTDESK_SOAK"))
SURROGATE = "\ud800"
UNICODE_DIGITS = ("²", "①", "٣", "𝟗", "¹⁰")
#: Python's own words, which must never reach a client (they name internals, not the fix).
INTERNALS = ("sys.set_int_max_str_digits", "maximum recursion depth", "Traceback", "Exceeds the limit")


def payload_of(envelope: dict) -> dict:
    return KEYRING.verify_envelope(envelope)


def op(kind: str, account_id: str, **fields) -> dict:
    return {"op_id": str(uuid.uuid4()), "kind": kind, "account_id": account_id, **fields}


def post_json(client: httpx.Client, body) -> httpx.Response:
    """A body as Python's json writes it: a lone surrogate travels as the escape "\\ud800", as an attacker sends it."""
    return client.post("/sync", content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LiveLicenseServer(tmp_path_factory.mktemp("ls")) as server:
        yield server


@pytest.fixture(scope="module")
def token(server):
    return server.add_technician("Acme Telecom", "Ann")


@pytest.fixture(scope="module")
def account(server, token):
    """An account with a PBX, for ops that need one."""
    account = str(uuid.uuid4())
    with server.client(token) as client:
        answer = post_json(client, {"client_id": str(uuid.uuid4()), "ops": [
            op("create_account", account, name="Hotel du Lac", contact_email="it@lac.example", cloud_contract=False),
            op("register_pbx", account, pbx_id="pbx-1", name="Reception", serial="SN-1", platform="vmware",
               firmware="14r1", mode="rental")]})
    assert [payload_of(r)["status"] for r in answer.json()["results"]] == ["applied", "applied"], answer.text
    return account


def valid_op(kind: str, account: str) -> dict:
    """A well-formed op of kind, on account (a new one for create_account)."""
    fields = {
        "create_account": dict(name="Hotel", contact_email="it@hotel.example", cloud_contract=False, language="en"),
        "update_account": dict(name="Hotel", contact_email="it@hotel.example", cloud_contract=False, language="fr"),
        "register_pbx": dict(pbx_id=f"pbx-{uuid.uuid4().hex[:8]}", name="Desk", serial="SN-9", platform="vmware",
                             hardware_model="x", firmware="14r1", mode="rental"),
        "update_pbx": dict(pbx_id="pbx-1", base_revision=1, name="Desk", firmware="14r1", platform="vmware",
                           hardware_model="x"),
        "set_licenses": dict(pbx_id="pbx-1", base_revision=1, items={"01-00010-001": 1}),
        "remove_pbx": dict(pbx_id="pbx-1", base_revision=99),
        "redeem_key": dict(key="ISC1-AAAAA-BBBBB"),
        "deposit_key": dict(key="ISC1-AAAAA-BBBBB"),
        "withdraw_key": dict(key_id="00" * 10),
        "delete_account": dict(confirm_forfeit_milli=0),
    }[kind]
    return op(kind, str(uuid.uuid4()) if kind == "create_account" else account, **fields)


# ------------------------------------------------------------------ item 6: lone surrogates and Unicode digits


@pytest.mark.parametrize("kind", sorted(OPS))
def test_a_lone_surrogate_in_any_text_field_is_refused_as_bad_op_and_the_rest_of_the_batch_applies(
        server, token, account, kind):
    texts = [f.name for f in OPS[kind] if f.kind in ("text", "email", "firmware", "pbx_id", "key", "platform", "mode",
                                                      "language")]
    with server.client(token) as client:
        for name in texts:
            bad = valid_op(kind, account)
            bad[name] = "Hotel " + SURROGATE
            fine = valid_op("update_account", account)
            answer = post_json(client, {"client_id": str(uuid.uuid4()), "ops": [bad, fine]})
            assert answer.status_code == 200, f"{kind}.{name}: {answer.status_code} {answer.text[:300]}"
            first, second = (payload_of(r) for r in answer.json()["results"])
            assert (first["status"], first["rule"]) == ("rejected", "bad-op"), (name, first)
            assert "UTF-8" in first["message"] or "must be" in first["message"]
            assert second["status"] == "applied", "one bad op rolled back the whole batch"


def test_a_lone_surrogate_in_an_item_reference_is_refused_as_bad_op(server, token, account):
    with server.client(token) as client:
        bad = op("set_licenses", account, pbx_id="pbx-1", base_revision=1, items={"01-" + SURROGATE: 1})
        answer = post_json(client, {"client_id": str(uuid.uuid4()), "ops": [bad, valid_op("update_account", account)]})
        assert answer.status_code == 200, answer.text[:300]
        first, second = (payload_of(r) for r in answer.json()["results"])
        assert (first["status"], first["rule"]) == ("rejected", "bad-op") and "UTF-8" in first["message"]
        assert second["status"] == "applied"


@pytest.mark.parametrize("digits", UNICODE_DIGITS)
@pytest.mark.parametrize("name", ["limit", "before"])
def test_unicode_digits_in_the_ledgers_paging_are_a_422_naming_the_field(server, token, account, name, digits):
    with server.client(token) as client:
        answer = client.get(f"/accounts/{account}/ledger", params={name: digits})
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["error"] == "bad-request" and f"'{name}'" in answer.json()["message"]


def test_a_number_of_thousands_of_digits_in_the_ledgers_paging_is_a_422(server, token, account):
    with server.client(token) as client:
        answer = client.get(f"/accounts/{account}/ledger", params={"before": "9" * 5000})
    assert answer.status_code == 422, answer.text[:300]


# a value for any field: what JSON can carry, with the characters that broke the server before
_TEXT = st.text(alphabet=st.sampled_from(["a", "Z", "0", "9", "-", " ", "é", SURROGATE, "\udfff", "²", "①", "\x00",
                                          "\n", "=", "\u202e", "😀"]), max_size=12)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70), _TEXT,
                    st.sampled_from(["14r1", "vmware", "rental", "en", "pbx-1", "it@lac.example"]))
_VALUE = st.recursive(_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(_TEXT, inner, max_size=3)), max_leaves=6)
FUZZED: dict[str, int] = {"requests": 0, "5xx": 0}


@settings(max_examples=2000 if SOAK else 150, deadline=None, derandomize=not SOAK,
          suppress_health_check=list(HealthCheck))
@given(kind=st.sampled_from(sorted(OPS)), data=st.data())
def test_no_value_in_any_field_of_any_op_gives_a_5xx(server, token, account, kind, data):
    """The property: whatever one field holds (id, kind, any op field, item refs and quantities), no 5xx."""
    base = valid_op(kind, account)
    name = data.draw(st.sampled_from(sorted(base) + ["items-ref", "items-qty", "client_id", "extra"]), label="field")
    value = data.draw(_VALUE, label="value")
    body = {"client_id": str(uuid.uuid4()), "ops": [base]}
    if name == "items-ref":
        base["items"] = {value if isinstance(value, str) else str(value): 1}
    elif name == "items-qty":
        base["items"] = {"01-00010-001": value}
    elif name == "client_id":
        body["client_id"] = value
    elif name == "extra":
        base[value if isinstance(value, str) else "x"] = value
    else:
        base[name] = value
    with server.client(token) as client:
        answer = post_json(client, body)
    FUZZED["requests"] += 1
    assert answer.status_code < 500, f"{name}={value!r}: {answer.status_code} {answer.text[:300]}"
    assert not any(word in answer.text for word in INTERNALS)
    record("hostile_client_fuzz", **FUZZED)


# ------------------------------------------------------------------ item 7: chunked bodies over MAX_BODY_BYTES


def _oversized_chunked_body(account: str, limit: int, extra: int):
    """A chunked body whose first `limit` bytes are a valid /sync request creating `account`; then `extra` more."""
    head = json.dumps({"client_id": str(uuid.uuid4()), "ops": [
        op("create_account", account, name="Truncated", contact_email="t@t.example", cloud_contract=False)]}).encode()
    body = head + b" " * (limit - len(head)) + b"x" * extra

    def chunks():
        for at in range(0, len(body), 1 << 16):
            yield body[at:at + (1 << 16)]

    return chunks


def _assert_refused_and_not_applied(url: str, token: str, limit: int) -> None:
    account = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=60) as client:
        answer = client.post("/sync", content=_oversized_chunked_body(account, limit, 900 * 1024)())
        assert "content-length" not in {k.lower() for k in answer.request.headers}  # it went chunked
        assert answer.status_code == 413, answer.text[:300]
        assert answer.json()["error"] == "too-large"
        assert client.get(f"/accounts/{account}").status_code == 404, "the truncated body was applied"
        # the control: the same body cut at the limit (chunked, valid) is applied
        fine = _oversized_chunked_body(account, limit, 0)
        assert client.post("/sync", content=fine()).status_code == 200
        assert client.get(f"/accounts/{account}").status_code == 200


def test_a_chunked_body_over_the_limit_is_refused_413_by_the_in_process_server(server, token):
    _assert_refused_and_not_applied(server.url, token, server.ctx.settings.MAX_BODY_BYTES)


def test_a_chunked_body_over_the_limit_is_refused_413_by_gunicorn(tmp_path):
    with GunicornLicenseServer(f"sqlite:///{tmp_path}/ls.sqlite3", tmp_path, workers=1) as gunicorn:
        token = gunicorn.add_technician("Acme Telecom", "Ann")
        _assert_refused_and_not_applied(gunicorn.url, token, 4 * 1024 * 1024)


# ------------------------------------------------------------------ item 8: UUID case, messages, 431, file mode


def test_an_account_id_in_upper_case_names_the_same_account(server, token, account):
    with server.client(token) as client:
        assert client.get(f"/accounts/{account.upper()}").status_code == 200
        assert client.get(f"/accounts/{account.upper()}/ledger").status_code == 200
        answer = post_json(client, {"client_id": str(uuid.uuid4()), "ops": [
            op("update_account", account.upper(), name="Hotel du Lac et du Parc")]})
        [result] = answer.json()["results"]
        assert payload_of(result)["status"] == "applied", payload_of(result)
        assert payload_of(result)["account_id"] == account
        [snapshot] = answer.json()["accounts"]
        assert payload_of(snapshot)["name"] == "Hotel du Lac et du Parc"
        # and an upper-case create_account of an existing account is the same account, refused
        again = post_json(client, {"client_id": str(uuid.uuid4()), "ops": [
            op("create_account", account.upper(), name="Twin", contact_email="t@t.example", cloud_contract=False)]})
        assert payload_of(again.json()["results"][0])["status"] == "rejected"


def test_a_resent_op_with_its_op_id_in_upper_case_is_the_same_op(server, token, account):
    first = op("update_account", account, name="Hotel du Lac")
    with server.client(token) as client:
        one = post_json(client, {"client_id": str(uuid.uuid4()), "ops": [first]}).json()["results"][0]
        two = post_json(client, {"client_id": str(uuid.uuid4()), "ops": [
            {**first, "op_id": first["op_id"].upper()}]}).json()["results"][0]
    assert one == two  # the stored result, not a second application


@pytest.mark.parametrize("body", [b'{"client_id": ' + b"9" * 5000 + b"}", b"[" * 100_000 + b"]" * 100_000,
                                  b'{"a": NaN}'], ids=["huge-int", "deep-nesting", "nan"])
def test_bad_json_is_explained_without_pythons_internals(server, token, body):
    with server.client(token) as client:
        answer = client.post("/sync", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"] == "bad-json", answer.text[:300]
    assert not any(word in answer.text for word in INTERNALS), answer.text


def _raw_request(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(data)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    return got


def test_headers_too_large_are_answered_with_the_json_error_document_by_the_development_server(tmp_path):
    port = free_port()
    env = {**os.environ, "LICENSE_SERVER_DATABASE_URL": f"sqlite:///{tmp_path}/ls.sqlite3",
           "LICENSE_SERVER_SIGNING_KEY_PATH": str(DEMO_KEY), "LICENSE_SERVER_INSTANCE_PATH": str(tmp_path)}
    cli = [str(Path(sys.executable).with_name("license-server"))]
    subprocess.run(cli + ["init-db"], env=env, check=True, capture_output=True, timeout=120)
    process = subprocess.Popen(cli + ["serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        for line in process.stderr:  # werkzeug says "Running on …" once it listens: wait for that, not for time
            if b"Running on" in line:
                break
        health = _raw_request(port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b" 200 " in health.split(b"\r\n", 1)[0]
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
        long = b"X-Long: " + b"v" * 70_000 + b"\r\n"
        for extra in (many, long):
            answer = _raw_request(port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
            head, _, body = answer.partition(b"\r\n\r\n")
            assert b" 431 " in head.split(b"\r\n", 1)[0], head[:200]
            assert b"application/json" in head
            assert json.loads(body)["error"] == "headers-too-large"
    finally:
        process.terminate()
        process.wait(20)
        process.stderr.close()


def test_init_db_makes_the_sqlite_file_private_under_umask_022(tmp_path):
    folder = tmp_path / "instance"
    env = {**os.environ, "LICENSE_SERVER_INSTANCE_PATH": str(folder), "LICENSE_SERVER_SIGNING_KEY_PATH": str(DEMO_KEY)}
    env.pop("LICENSE_SERVER_DATABASE_URL", None)
    cli = str(Path(sys.executable).with_name("license-server"))
    done = subprocess.run(["sh", "-c", f'umask 022 && exec "{cli}" init-db'], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    files = sorted(p for p in folder.iterdir() if p.name.startswith("license_server.sqlite3"))
    assert files, list(folder.iterdir())
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name} is {oct(path.stat().st_mode)}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_init_db_tightens_an_existing_world_readable_sqlite_file(tmp_path):
    folder = tmp_path / "instance"
    folder.mkdir()
    database = folder / "license_server.sqlite3"
    database.touch(mode=0o644)
    os.chmod(database, 0o644)
    env = {**os.environ, "LICENSE_SERVER_INSTANCE_PATH": str(folder), "LICENSE_SERVER_SIGNING_KEY_PATH": str(DEMO_KEY)}
    env.pop("LICENSE_SERVER_DATABASE_URL", None)
    done = subprocess.run([str(Path(sys.executable).with_name("license-server")), "init-db"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
