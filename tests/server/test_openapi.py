"""GET /api/v1/openapi.json describes the API truthfully: every route, and real answers match its schemas."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest

from .helpers import IP_PORT, new_id


@pytest.fixture
def spec(api):
    status, body = api.call("GET", "/openapi.json", token=None)
    assert status == 200
    return body


def validator(spec, name):
    return jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": spec["components"]})


def response_validator(spec, path, method="get", status="200"):
    schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


def test_it_is_openapi_3_1_and_needs_no_token(spec):
    assert spec["openapi"].startswith("3.1")
    assert spec["paths"]["/health"]["get"]["security"] == []


def test_every_route_of_the_app_is_described_and_nothing_else(app, spec):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
            routes |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert routes == described


def test_every_op_kind_the_server_knows_has_a_schema(spec):
    from license_server.opschema import OPS

    assert set(spec["components"]["schemas"]["Op"]["discriminator"]["mapping"]) == set(OPS)


def test_real_ops_match_their_schema_and_wrong_ones_do_not(api, spec):
    account_id = api.running_account()
    good = api.set_licenses_op(account_id, {IP_PORT: 3})
    assert validator(spec, "Op").is_valid(good)
    assert not validator(spec, "Op").is_valid({**good, "items": {IP_PORT: -1}})
    assert not validator(spec, "Op").is_valid({**good, "colour": "red"})


def test_a_sync_answer_and_its_payloads_match_the_description(api, spec):
    account_id = new_id()
    op = api.op("create_account", account_id, name="Café", contact_email="cafe@example.com", cloud_contract=True)
    status, body = api.call("POST", "/sync", {"client_id": new_id(), "ops": [op, api.op("redeem_key", account_id, key="x")]})
    assert status == 200
    response_validator(spec, "/sync", "post").validate(body)
    answer = api.sync(api.op("update_account", account_id, name="Café du Port"))
    validator(spec, "OpResultPayload").validate(answer.result)
    validator(spec, "AccountPayload").validate(answer.accounts[account_id])
    validator(spec, "PricelistPayload").validate(answer.pricelist)


def test_reads_and_errors_match_the_description(api, spec):
    account_id = api.running_account()
    for path, url in [("/accounts", "/accounts"), ("/accounts/{account_id}", f"/accounts/{account_id}"),
                      ("/accounts/{account_id}/ledger", f"/accounts/{account_id}/ledger"), ("/pricelist", "/pricelist")]:
        status, body = api.call("GET", url)
        assert status == 200
        response_validator(spec, path).validate(body)
    validator(spec, "AccountPayload").validate(api.account(account_id))
    for status, body in [api.call("GET", "/accounts", token="nope"), api.call("GET", f"/accounts/{new_id()}"),
                         api.call("POST", "/sync", raw=b"{"), api.call("POST", "/sync", [])]:
        validator(spec, "Error").validate(body)
        assert str(status) in {"400", "401", "404", "422"}


def test_whoami_says_whose_token_it_is_signed_and_a_wrong_token_is_401(api, spec, keyring):
    status, body = api.call("GET", "/whoami")
    assert status == 200 and response_validator(spec, "/whoami").is_valid(body)
    payload = keyring.verify_envelope(body, "technician")
    assert payload["technician"] and payload["partner"]
    status, _body = api.call("GET", "/whoami", token="not-a-token")
    assert status == 401
