"""Bad input gets the error of DESIGN §5, a message naming the problem, and changes nothing."""

from __future__ import annotations

import json

import pytest

from .helpers import IP_PORT, new_id


@pytest.fixture
def account_id(api):
    return api.running_account()


def _sync_raw(api, raw: bytes, token="mine"):
    return api.call("POST", "/sync", raw=raw, token=token)


def test_a_body_that_is_not_json_is_400(api, account_id):
    before = api.snapshot()
    status, body = _sync_raw(api, b'{"client_id": "x", "ops": [')
    assert (status, body["error"]) == (400, "bad-json")
    assert "not JSON" in body["message"]
    assert api.snapshot() == before


def test_a_body_that_is_not_utf8_is_400(api, account_id):
    before = api.snapshot()
    raw = json.dumps({"client_id": new_id(), "ops": [api.op("update_account", account_id, name="X")]}).encode()
    status, body = _sync_raw(api, raw.replace(b'"X"', b'"\xff\xfe"'))
    assert (status, body["error"]) == (400, "bad-json")
    assert "not UTF-8" in body["message"]
    assert api.snapshot() == before


@pytest.mark.parametrize("where", ["op", "top", "items"])
def test_a_key_named_twice_in_one_object_is_400_naming_it_and_nothing_is_applied(api, account_id, where):
    """JSON leaves a repeated name's meaning open (Python keeps the last one, another parser the first): refused."""
    before = api.snapshot()
    op = json.dumps(api.set_licenses_op(account_id, {IP_PORT: 3}))
    if where == "op":
        op = op.replace('"items":', '"base_revision": 1, "items":')
    elif where == "items":
        op = op.replace(f'"{IP_PORT}": 3', f'"{IP_PORT}": 3, "{IP_PORT}": 300')
    body = f'{{"client_id": "{new_id()}", "ops": [{op}]' + (', "ops": []' if where == "top" else "") + "}"
    status, answer = _sync_raw(api, body.encode())
    key = {"op": "base_revision", "top": "ops", "items": IP_PORT}[where]
    assert (status, answer["error"], answer["code"], answer["params"]) == (400, "bad-json", "api-duplicate-key",
                                                                           {"key": key})
    assert f"names '{key}' twice" in answer["message"] and "send each field once" in answer["message"]
    assert api.snapshot() == before


@pytest.mark.parametrize("payload", [
    [], {"ops": []}, {"client_id": "not-a-uuid", "ops": []}, {"client_id": None, "ops": {}}, "ops",
])
def test_json_of_the_wrong_shape_is_422(api, payload):
    status, body = api.call("POST", "/sync", payload)
    assert (status, body["error"]) == (422, "bad-request")
    assert "client_id" in body["message"]


def test_a_batch_over_the_limit_is_413_with_the_limit_stated(api, account_id):
    before = api.snapshot()
    ops = [api.op("update_account", account_id, name=f"N{i}") for i in range(10_000)]
    status, body = api.call("POST", "/sync", {"client_id": new_id(), "ops": ops})
    assert (status, body["error"]) == (413, "too-large")
    assert "at most 1000 ops" in body["message"]
    assert api.snapshot() == before


def test_a_body_over_the_size_limit_is_413(api):
    status, body = _sync_raw(api, b'{"client_id": "' + b"x" * (5 * 1024 * 1024) + b'"}')
    assert (status, body["error"]) == (413, "too-large")


@pytest.mark.parametrize("token", [None, "", "wrong-token", "x" * 500])
def test_a_missing_or_unknown_token_is_401_and_changes_nothing(api, account_id, token):
    before = api.snapshot()
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    status, body = api.transport("POST", "/sync", {"client_id": new_id(), "ops": [
        api.op("update_account", account_id, name="Hacked")]}, headers)
    assert (status, body["error"]) == (401, "unauthorized")
    assert api.snapshot() == before
    assert api.transport("GET", f"/accounts/{account_id}", None, headers)[0] == 401


def test_another_scheme_than_bearer_is_401(api):
    status, body = api.transport("GET", "/accounts", None, {"Authorization": f"Basic {api.token}"})
    assert (status, body["error"]) == (401, "unauthorized")


@pytest.mark.parametrize("op_change, words", [
    ({"kind": "launch_rocket"}, "kind 'launch_rocket' is unknown"),
    ({"op_id": "42"}, "op_id must be a UUID"),
    ({"account_id": 7}, "account_id must be a UUID"),
    ({"items": {IP_PORT: -1}}, "from 0 to 100000"),
    ({"items": {IP_PORT: 10**9}}, "from 0 to 100000"),
    ({"items": {IP_PORT: 2.5}}, "from 0 to 100000"),
    ({"items": {IP_PORT: "3"}}, "from 0 to 100000"),
    ({"items": {IP_PORT: True}}, "from 0 to 100000"),
    ({"items": [IP_PORT]}, "must be an object"),
    ({"base_revision": "2"}, "base_revision must be a whole number"),
    ({"pbx_id": None}, "pbx_id must be text, not null"),
    ({"colour": "red"}, "has no field 'colour'"),
])
def test_an_op_with_wrong_fields_is_rejected_as_bad_op_and_changes_nothing(api, account_id, op_change, words):
    before = api.snapshot()
    op = {**api.set_licenses_op(account_id, {IP_PORT: 3}), **op_change}
    answer = api.sync(op)
    assert answer.status_code == 200
    assert (answer.result["status"], answer.result["rule"]) == ("rejected", "bad-op")
    assert words in answer.result["message"]
    assert api.snapshot() == before


@pytest.mark.parametrize("fields, words", [
    ({"name": ""}, "name must be 1 to 200"),
    ({"name": 12}, "name must be text"),
    ({"contact_email": "nobody"}, "not an e-mail address"),
    ({"cloud_contract": "yes"}, "true or false"),
    ({"language": "de"}, "'en' or 'fr'"),
])
def test_account_fields_of_the_wrong_kind_are_bad_ops(api, fields, words):
    base = {"name": "Café", "contact_email": "cafe@example.com", "cloud_contract": False}
    result = api.sync(api.op("create_account", new_id(), **{**base, **fields})).result
    assert (result["status"], result["rule"]) == ("rejected", "bad-op")
    assert words in result["message"]


@pytest.mark.parametrize("days", [14.0, 28.0, 0.0])
def test_automatic_reload_days_written_as_a_decimal_are_a_bad_op_not_a_server_error(api, account_id, days):
    """14.0 equals 14 to Python: once taken, the float reached the signed snapshot and the whole batch was a 500."""
    answer = api.sync(api.op("update_account", account_id, auto_reload_days=days),
                      api.op("update_account", account_id, name="Still applied"))
    assert answer.status_code == 200, answer.body
    assert [(r["status"], r["rule"], r["code"]) for r in answer.results] == [
        ("rejected", "bad-op", "reload-days-invalid"), ("applied", None, None)]
    assert "choose 14 or 28 days, or 0" in answer.results[0]["message"]
    held = api.account(account_id)
    assert (held["auto_reload_days"], held["name"]) == (0, "Still applied")  # the rest of the batch applies


def test_a_negative_forfeit_confirmation_is_a_bad_op(api, account_id):
    result = api.sync(api.op("delete_account", account_id, confirm_forfeit_milli=-5)).result
    assert result["rule"] == "bad-op"


def test_an_op_that_is_not_an_object_is_rejected_without_stopping_the_batch(api, account_id):
    answer = api.sync("hello", api.op("update_account", account_id, name="Still applied"))
    assert [(r["status"], r["rule"]) for r in answer.results] == [("rejected", "bad-op"), ("applied", None)]


def test_unknown_paths_and_methods_answer_json_errors(api):
    assert api.call("GET", "/nowhere")[1]["error"] == "not-found"
    status, body = api.call("DELETE", "/sync")
    assert (status, body["error"]) == (405, "method-not-allowed")


@pytest.mark.parametrize("method, path", [("GET", "/api/v1/nowhere"), ("PUT", "/api/v1/sync"), ("GET", "/"),
                                          ("GET", "/api/v1/whoami"), ("GET", "/api/v1/health")])
def test_every_answer_refusals_of_unknown_paths_included_is_never_cached_nor_sniffed(app, method, path):
    answer = app.test_client().open(path, method=method)
    assert answer.mimetype == "application/json"
    assert (answer.headers.get("Cache-Control"), answer.headers.get("X-Content-Type-Options")) == (
        "no-store", "nosniff")


def test_an_answer_that_says_its_own_caching_and_type_policy_keeps_it_once(app):
    """The hook adds no-store and nosniff only where an answer says nothing of them (issue 27 made it one pass over
    the headers), whatever the case of the names, and never a second copy."""

    @app.get("/own-policy")
    def own_policy():
        return "x", 200, {"cache-control": "private, max-age=0", "X-CONTENT-TYPE-OPTIONS": "other"}

    answer = app.test_client().get("/own-policy")
    assert answer.headers.getlist("Cache-Control") == ["private, max-age=0"]
    assert answer.headers.getlist("X-Content-Type-Options") == ["other"]


def test_http_refusals_carry_their_reason_as_a_code_with_params_beside_the_english_message(api):
    """Issue 20: HTTP's own refusals are reasons too (rental.reasons.API_ERRORS), extended onto the error
    document of DESIGN §5 ({"error", "message"} unchanged), so clients word them from the code."""
    status, body = api.call("GET", "/nowhere")
    assert (status, body["error"], body["code"], body["params"]) == (404, "not-found", "api-no-such-path", {})
    assert body["message"] == "No such path: see /api/v1/openapi.json for the API."
    status, body = api.call("DELETE", "/sync")
    assert (body["code"], body["params"]) == ("api-method-not-allowed", {"allowed": "OPTIONS, POST"})
    assert body["message"] == "This method is not allowed on this path: use OPTIONS, POST."


def test_ledger_paging_arguments_are_checked(api, account_id):
    status, body = api.call("GET", f"/accounts/{account_id}/ledger?limit=0")
    assert (status, body["error"]) == (422, "bad-request")
    assert "'limit'" in body["message"]


def test_an_op_missing_a_required_field_names_it(api, account_id):
    op = api.set_licenses_op(account_id, {IP_PORT: 3})
    del op["items"]
    result = api.sync(op).result
    assert (result["rule"], result["message"]) == ("bad-op", "set_licenses needs 'items'.")


@pytest.mark.parametrize("op_change, code, params", [
    ({"kind": "launch_rocket"}, "kind-unknown", {"kind": "launch_rocket"}),
    ({"op_id": "42"}, "op-id-not-uuid", {}),
    ({"account_id": 7}, "account-id-not-uuid", {}),
    ({"colour": "red"}, "op-field-unknown", {"kind": "set_licenses", "name": "colour"}),
    ({"items": [IP_PORT]}, "items-not-object", {"field": "set_licenses.items", "got": "list"}),
    ({"items": {"X" * 41: 1}}, "ref-too-long", {"field": "set_licenses.items", "max": 40, "ref": "X" * 40}),
    ({"items": {IP_PORT: -1}}, "quantity-invalid", {"ref": IP_PORT, "max": 100_000}),
])
def test_each_shape_problem_of_an_op_is_a_code_with_its_values_not_another_programs_sentence(
        api, account_id, op_change, code, params):
    result = api.sync({**api.set_licenses_op(account_id, {IP_PORT: 3}), **op_change}).result
    assert (result["rule"], result["code"]) == ("bad-op", code)
    assert params.items() <= result["params"].items() and "detail" not in result["params"]
    assert result["problems"] == [{"rule": "bad-op", "code": code, "params": result["params"],
                                   "message": result["message"]}]


def test_an_unknown_kind_names_every_kind_there_is_as_a_list(api, account_id):
    from license_server.opschema import OPS

    result = api.sync(api.op("launch_rocket", account_id)).result
    assert result["params"] == {"kind": "launch_rocket", "kinds": list(OPS)}
    assert result["message"].startswith("kind 'launch_rocket' is unknown: one of create_account, update_account, ")


def test_an_op_that_is_not_an_object_says_what_it_is_as_a_code(api, account_id):
    answer = api.sync("hello", api.op("update_account", account_id, name="Still applied"))
    first = answer.results[0]
    assert (first["code"], first["params"]) == ("op-not-object", {"got": "text"})
    assert first["message"] == "An op is an object with op_id, kind and account_id, not text."


def test_a_missing_field_and_a_bad_held_key_id_are_codes_too(api, account_id):
    op = api.set_licenses_op(account_id, {IP_PORT: 3})
    del op["items"]
    missing = api.sync(op).result
    assert (missing["code"], missing["params"]) == ("op-field-missing", {"kind": "set_licenses", "name": "items"})
    withdrawn = api.sync(api.op("withdraw_key", account_id, key_id="not hex")).result
    assert (withdrawn["code"], withdrawn["params"]) == ("key-id-invalid", {"field": "withdraw_key.key_id", "max": 20})
