"""The rental terms (R26): published versioned by the vendor, served signed, accepted by every new account."""

from __future__ import annotations

import json
import subprocess

import pytest

from license_server import admin, terms
from rental.errors import SignatureError

from .helpers import new_id
from .test_cli import CLI, env, run  # noqa: F401 (fixture)

TERMS = {"version": "2027-01", "texts": {"en": "# Rental terms\n\nPay **per second**.", "fr": "# Conditions\n\nÀ la **seconde**."}}


def create_op(api, **fields):
    return api.op("create_account", new_id(), name="Boulangerie Émile", contact_email="emile@example.com",
                  cloud_contract=False, **fields)


def test_no_terms_are_answered_404_no_terms_until_the_vendor_publishes_some(api):
    status, body = api.call("GET", "/terms")
    assert (status, body["error"]) == (404, "no-terms")
    assert "publish-terms" in body["message"]


def test_published_terms_are_served_signed_with_their_version_time_and_both_languages(api, ctx, clock, keyring):
    assert terms.publish(ctx, TERMS) == "2027-01"
    status, body = api.call("GET", "/terms")
    assert status == 200
    payload = keyring.verify_envelope(body, "terms")
    assert payload == {"type": "terms", "version": "2027-01", "published_at": clock.now, "texts": TERMS["texts"]}
    with pytest.raises(SignatureError):
        keyring.verify_envelope(body, "pricelist")  # a terms envelope is nothing else


def test_a_newer_version_replaces_the_current_one_and_a_version_is_published_once(api, ctx, clock, keyring):
    terms.publish(ctx, TERMS)
    clock.advance(60)
    terms.publish(ctx, {**TERMS, "version": "2027-02"})
    assert keyring.verify_envelope(api.call("GET", "/terms")[1], "terms")["version"] == "2027-02"
    with pytest.raises(terms.TermsError, match="published before"):
        terms.publish(ctx, TERMS)


@pytest.mark.parametrize("document,complaint", [
    ({"version": "", "texts": TERMS["texts"]}, "version must be"),
    ({"version": "v1", "texts": {"en": "only English"}}, "English and the French"),
    ({"version": "v1", "texts": {"en": "text", "fr": "  "}}, "texts.fr must be"),
    ({"version": "v1", "texts": TERMS["texts"], "extra": 1}, "no field 'extra'"),
    (["not", "an", "object"], "JSON object"),
])
def test_a_terms_file_of_the_wrong_shape_is_refused_with_what_to_fix(ctx, document, complaint):
    with pytest.raises(terms.TermsError, match=complaint):
        terms.publish(ctx, document)


def test_before_any_terms_an_account_needs_no_acceptance(api):
    assert api.sync(create_op(api)).result["status"] == "applied"


def test_once_terms_are_published_an_account_without_acceptance_is_refused_naming_the_version(api, ctx):
    terms.publish(ctx, TERMS)
    op = create_op(api)
    result = api.sync(op).result
    assert (result["status"], result["rule"], result["code"], result["params"]) == (
        "rejected", "R26", "terms-not-accepted", {"version": "2027-01"})
    assert "accept the rental terms version 2027-01" in result["message"]
    status, _ = api.call("GET", f"/accounts/{op['account_id']}")
    assert status == 404  # nothing was created


def test_an_acceptance_of_an_older_version_is_refused_naming_both(api, ctx, clock):
    terms.publish(ctx, TERMS)
    clock.advance(60)
    terms.publish(ctx, {**TERMS, "version": "2027-02"})
    result = api.sync(create_op(api, terms_version="2027-01", accepted_by="Émile Durand")).result
    assert (result["status"], result["rule"], result["code"], result["params"]) == (
        "rejected", "R26", "terms-outdated", {"accepted": "2027-01", "version": "2027-02"})
    assert "accepted the rental terms version 2027-01, but version 2027-02 is current" in result["message"]


def test_the_account_records_the_version_the_signatory_and_the_time(api, ctx, clock):
    terms.publish(ctx, TERMS)
    clock.advance(3600)
    op = create_op(api, terms_version="2027-01", accepted_by="Émile Durand")
    answer = api.sync(op)
    assert answer.result["status"] == "applied"
    account = answer.accounts[op["account_id"]]
    assert (account["terms_version"], account["terms_accepted_by"], account["terms_accepted_at"]) == (
        "2027-01", "Émile Durand", clock.now)
    assert api.account(op["account_id"])["terms_accepted_by"] == "Émile Durand"


def test_an_acceptance_without_a_signatory_is_refused(api, ctx):
    terms.publish(ctx, TERMS)
    result = api.sync(create_op(api, terms_version="2027-01")).result
    assert (result["status"], result["rule"]) == ("rejected", "R26")
    result = api.sync(create_op(api, terms_version="2027-01", accepted_by="")).result
    assert (result["status"], result["rule"]) == ("rejected", "bad-op")  # an empty name is no name


def test_an_acceptance_when_no_terms_exist_is_refused(api):
    result = api.sync(create_op(api, terms_version="2027-01", accepted_by="Émile Durand")).result
    assert (result["status"], result["rule"]) == ("rejected", "R26")


def test_the_demo_terms_are_publishable(ctx):
    assert terms.publish(ctx, admin.demo_terms()).startswith("demo-")


def test_the_operator_publishes_terms_with_the_cli(tmp_path, env):  # noqa: F811
    run(env, "gen-key", "--kid", "vendor-2026", "--out", str(tmp_path / "keys"))
    run(env, "init-db")
    file = tmp_path / "terms.json"
    file.write_text(json.dumps(TERMS))
    done = run(env, "publish-terms", str(file))
    assert done.stdout == ""
    assert "rental terms 2027-01 are current from now" in done.stderr
    again = subprocess.run([CLI, "publish-terms", str(file)], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "published before" in again.stderr


def test_the_api_description_lists_the_terms_and_their_payload_matches_it(api, ctx, keyring):
    import jsonschema_rs

    spec = api.call("GET", "/openapi.json", token=None)[1]
    assert set(spec["paths"]["/terms"]["get"]["responses"]) >= {"200", "401", "404"}
    terms.publish(ctx, TERMS)
    payload = keyring.verify_envelope(api.call("GET", "/terms")[1], "terms")
    schema = {"$ref": "#/components/schemas/TermsPayload", "components": spec["components"]}
    assert jsonschema_rs.Draft202012Validator(schema).is_valid(payload)
    assert not jsonschema_rs.Draft202012Validator(schema).is_valid({**payload, "texts": {"en": "only"}})
