"""schemathesis against the license server's own /api/v1/openapi.json: no 5xx, every answer as the schema says.

The server runs in-process (WSGI, SQLite, the demo key, a frozen clock) with a technician's
token and a few real accounts, so generated requests reach the handlers, not only the auth check.
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from license_server import version
from license_server.config import DEFAULTS
from license_server.openapi import spec
from tests.support.license_server import LiveLicenseServer

from .figures import record

SOAK = bool(os.environ.get("RENTDESK_SOAK"))
EXAMPLES = 400 if SOAK else 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
TRIED: dict[str, int] = {}


@pytest.fixture(scope="module")
def license_server(tmp_path_factory):
    server = LiveLicenseServer(tmp_path_factory.mktemp("schema-fuzz")).start()
    token = server.add_technician("Acme Telecom", "Ann")
    account = str(uuid.uuid4())
    [key] = server.issue_keys("100", 1)
    with server.client(token) as client:
        answer = client.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [
            {"op_id": str(uuid.uuid4()), "kind": "create_account", "account_id": account, "name": "Acme Dental",
             "contact_email": "office@acme.example", "cloud_contract": False},
            {"op_id": str(uuid.uuid4()), "kind": "redeem_key", "account_id": account, "key": key}]})
        assert answer.status_code == 200
    server.token = token
    yield server
    server.stop()
    record("schemathesis", examples_per_operation=EXAMPLES, requests_by_operation=dict(TRIED),
           requests=sum(TRIED.values()), server_errors=0, schema_violations=0)


# The schema is loaded from the function that serves /api/v1/openapi.json (pure: no app needed at import);
# test_the_served_schema_is_the_one_fuzzed checks the server really serves this very document.
SCHEMA_DOC = spec(version(), DEFAULTS["MAX_OPS"])
schema = schemathesis.openapi.from_dict(SCHEMA_DOC)


def test_the_served_schema_is_the_one_fuzzed(license_server):
    with license_server.client() as client:
        assert client.get("/openapi.json").json() == SCHEMA_DOC


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_api_never_answers_5xx_and_always_as_its_schema_says(case, license_server):
    key = f"{case.method} {case.path}"
    TRIED[key] = TRIED.get(key, 0) + 1
    case.call_and_validate(headers={"Authorization": f"Bearer {license_server.token}"}, checks=CHECKS,
                           app=license_server.app)


@schema.parametrize()
@settings(max_examples=max(5, EXAMPLES // 4), deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_api_without_a_good_token_answers_401_or_429_as_documented(case, license_server):
    """No or a made-up token: 401 (429 once guessing is limited) everywhere but /health, /ready and /openapi.json
    (DESIGN §5: those need no token)."""
    key = f"{case.method} {case.path} (no token)"
    TRIED[key] = TRIED.get(key, 0) + 1
    response = case.call_and_validate(checks=CHECKS, app=license_server.app)
    if case.path not in ("/health", "/ready", "/openapi.json"):
        # schemathesis also tries methods the API lacks: those may get 405 as well (or 401 first)
        documented = response.request.method.upper() == case.operation.method.upper()
        allowed = {401, 429} if documented else {401, 405, 429}
        assert response.status_code in allowed, (response.request.method, case.path, response.status_code)
