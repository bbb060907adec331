"""What a sync says it did (issue 21, items 3 and 5; DESIGN §5): an op decided at another price list than the
one the technician saw warns ``rerated`` (R23), and two laptops editing one account's fields clash only on the
fields both changed (``edit-conflict``), the others merging."""

from __future__ import annotations

import pytest

from .helpers import IP_PORT, new_id, publish

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

LAPTOP_A, LAPTOP_B = new_id(), new_id()


def test_r23_a_change_queued_on_the_old_list_and_applied_at_a_newer_one_warns_rerated_with_both_monthlies(
        api, clock, ctx):
    account_id = api.running_account("100", {IP_PORT: 10})  # 10 ports at 500: 5.000 iSC a month
    seen = api.account(account_id)["price_version"]
    publish(ctx, "2027-02", **{IP_PORT: 600})  # published while the technician was offline
    op = api.set_licenses_op(account_id, {IP_PORT: 12})
    result = api.sync({**op, "pricelist_version": seen}).result
    assert result["status"] == "applied", result
    [warning] = [w for w in result["warnings"] if w["code"] == "rerated"]
    assert warning["rule"] == "R23"
    # the whole account's monthly after the op: 12 ports at the list seen, and at the list it was decided at
    assert warning["params"] == {"from": seen, "to": "2027-02", "old_monthly_milli": 12 * 500,
                                 "new_monthly_milli": 12 * 600}
    assert "6.000 iSC → 7.200 iSC a month" in warning["message"]


def test_r23_no_rerated_warning_when_the_new_list_leaves_the_accounts_monthly_unchanged(api, clock, ctx):
    account_id = api.running_account("100", {IP_PORT: 10})
    seen = api.account(account_id)["price_version"]
    publish(ctx, "2027-02")  # a new version, the same prices
    result = api.sync({**api.set_licenses_op(account_id, {IP_PORT: 12}), "pricelist_version": seen}).result
    assert result["status"] == "applied" and result["warnings"] == [], result


def test_r23_no_rerated_warning_when_the_technician_saw_the_list_it_was_decided_at(api, clock, ctx):
    account_id = api.running_account("100", {IP_PORT: 10})
    publish(ctx, "2027-02", **{IP_PORT: 600})
    result = api.sync({**api.set_licenses_op(account_id, {IP_PORT: 12}), "pricelist_version": "2027-02"}).result
    assert result["status"] == "applied" and result["warnings"] == [], result


def rename(api, account_id, name, base, laptop, **more):
    return api.sync(api.op("update_account", account_id, name=name, base_revision=base, **more),
                    client_id=laptop).result


def test_two_laptops_renaming_one_account_offline_the_second_is_an_edit_conflict_naming_the_field(api):
    account_id = api.new_account(name="Boulangerie Émile")
    base = api.account(account_id)["revision"]
    assert rename(api, account_id, "Boulangerie Émile & Fils", base, LAPTOP_A)["status"] == "applied"
    second = rename(api, account_id, "Émile SARL", base, LAPTOP_B, language="fr")
    assert (second["status"], second["rule"], second["code"]) == ("conflict", "conflict", "edit-conflict")
    assert second["params"] == {"fields": ["name"], "applied": ["language"],
                                "held": [{"field": "name", "to": "Boulangerie Émile & Fils"}]}
    assert "the server holds name → Boulangerie Émile & Fils" in second["message"]
    account = api.account(account_id)
    # A's name stands; B's other field is applied all the same, and the revision rose for it
    assert (account["name"], account["language"]) == ("Boulangerie Émile & Fils", "fr")
    assert second["revision"] == account["revision"] == base + 2


def test_an_edit_conflict_on_every_field_changes_nothing_and_keeps_the_revision(api):
    account_id = api.new_account(name="Boulangerie Émile")
    base = api.account(account_id)["revision"]
    rename(api, account_id, "A's name", base, LAPTOP_A)
    second = rename(api, account_id, "B's name", base, LAPTOP_B)
    assert (second["status"], second["params"]["fields"], second["params"]["applied"]) == ("conflict", ["name"], [])
    account = api.account(account_id)
    assert (account["name"], account["revision"]) == ("A's name", base + 1)


def test_one_laptop_renames_the_other_changes_the_email_both_applied_without_conflict(api):
    account_id = api.new_account(name="Boulangerie Émile", email="emile@example.com")
    base = api.account(account_id)["revision"]
    assert rename(api, account_id, "Boulangerie Émile & Fils", base, LAPTOP_A)["status"] == "applied"
    other = api.sync(api.op("update_account", account_id, contact_email="compta@example.com", base_revision=base),
                     client_id=LAPTOP_B).result
    assert other["status"] == "applied" and other["warnings"] == [], other
    account = api.account(account_id)
    assert (account["name"], account["contact_email"]) == ("Boulangerie Émile & Fils", "compta@example.com")


def test_a_laptops_own_earlier_rename_never_clashes_with_its_next_one_on_the_same_base(api):
    account_id = api.new_account(name="Boulangerie Émile")
    base = api.account(account_id)["revision"]
    first = api.op("update_account", account_id, name="First", base_revision=base)
    again = api.op("update_account", account_id, name="Second", base_revision=base)
    assert [r["status"] for r in api.sync(first, again, client_id=LAPTOP_A).results] == ["applied", "applied"]
    assert api.account(account_id)["name"] == "Second"
