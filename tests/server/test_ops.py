"""Every op kind through /sync: what it changes, revisions, idempotency, conflicts and partner isolation (DESIGN §5)."""

from __future__ import annotations

import pytest

from license_server import models

from .helpers import IP_PORT, UC, new_id

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def test_create_account_answers_the_new_account_signed(api, clock):
    account_id = new_id()
    answer = api.sync(api.op("create_account", account_id, name="Hôtel du Lac", contact_email="lac@example.fr",
                             cloud_contract=False, language="fr"))
    assert answer.result["status"] == "applied"
    assert answer.result["revision"] == 1
    account = answer.accounts[account_id]
    assert (account["name"], account["language"], account["partner"]) == ("Hôtel du Lac", "fr", "Acme Telecom")
    assert (account["status"], account["balance_ticks"], account["revision"]) == ("idle", 0, 1)
    assert account["as_of"] == clock.now
    assert answer.pricelist["version"] == "2026-11"


def test_language_defaults_to_english(api):
    account_id = new_id()
    answer = api.applied(api.op("create_account", account_id, name="X", contact_email="x@example.com",
                                cloud_contract=False))
    assert answer.accounts[account_id]["language"] == "en"


def test_update_account_changes_only_the_fields_given_and_raises_the_revision(api):
    account_id = api.new_account()
    answer = api.applied(api.op("update_account", account_id, contact_email="new@example.com", language="fr"))
    account = answer.accounts[account_id]
    assert (account["contact_email"], account["language"], account["name"]) == \
        ("new@example.com", "fr", "Boulangerie Émile")
    assert account["revision"] == 2


def test_update_pbx_edits_the_pbx_and_raises_both_revisions(api):
    account_id = api.new_account()
    api.register(account_id)
    answer = api.applied(api.op("update_pbx", account_id, pbx_id="pbx-1", base_revision=1, name="Head office",
                                firmware="14r1", hardware_model="IPVA"))
    pbx = answer.accounts[account_id]["pbxs"][0]
    assert (pbx["name"], pbx["firmware"], pbx["hardware_model"], pbx["revision"]) == ("Head office", "14r1", "IPVA", 2)
    assert answer.accounts[account_id]["revision"] == 3


def test_set_licenses_runs_the_desired_state_on_the_pbx(api):
    account_id = api.running_account("100", {IP_PORT: 10, UC: 4})
    pbx = api.account(account_id)["pbxs"][0]
    assert pbx["status"] == "active"
    assert [(line["ref"], line["qty"], line["monthly_milli"]) for line in pbx["licenses"]] == \
        [(IP_PORT, 10, 500), (UC, 4, 1250)]
    assert api.set_licenses(account_id, {IP_PORT: 2, UC: 0})["status"] == "applied"
    assert [(line["ref"], line["qty"]) for line in api.account(account_id)["pbxs"][0]["licenses"]] == [(IP_PORT, 2)]


def test_remove_pbx_ends_its_rent_and_forgets_it(api):
    account_id = api.running_account()
    answer = api.applied(api.op("remove_pbx", account_id, pbx_id="pbx-1", base_revision=api.pbx_revision(account_id)))
    account = answer.accounts[account_id]
    assert (account["pbxs"], account["rate_ticks_per_s"], account["status"]) == ([], 0, "idle")


def test_a_change_made_on_an_old_revision_of_the_pbx_is_a_conflict_and_changes_nothing(api):
    account_id = api.running_account()
    stale = api.pbx_revision(account_id)
    api.set_licenses(account_id, {IP_PORT: 12})
    before = api.account(account_id)
    result = api.set_licenses(account_id, {IP_PORT: 1}, base_revision=stale)
    assert result["status"] == "conflict"
    assert "sync" in result["message"]
    assert api.account(account_id) == before


def test_an_unknown_pbx_is_not_found(api):
    account_id = api.new_account()
    result = api.set_licenses(account_id, {IP_PORT: 1}, pbx_id="nowhere", base_revision=1)
    assert (result["status"], result["rule"]) == ("rejected", "not-found")


def test_ops_on_an_unknown_account_are_not_found(api):
    result = api.redeem(new_id(), "ISC1-AAAAA")
    assert (result["status"], result["rule"], result["revision"]) == ("rejected", "not-found", None)


def test_registering_a_pbx_id_twice_is_refused(api):
    account_id = api.new_account()
    api.register(account_id)
    assert api.register(account_id)["rule"] == "bad-op"


def test_the_same_op_sent_again_gets_the_stored_result_and_changes_nothing(api, clock):
    account_id = api.new_account()
    key = api.ctx.signer.issue_key(50_000, clock.now)
    op = api.op("redeem_key", account_id, key=key)
    first = api.sync(op)
    clock.advance(60)
    again = api.sync(op)
    assert again.result == first.result
    assert again.accounts[account_id]["balance_ticks"] == first.accounts[account_id]["balance_ticks"]
    assert [row["kind"] for row in api.ledger_rows(account_id)] == ["credit"]


def test_a_rejected_op_sent_again_is_rejected_the_same_way(api):
    account_id = api.new_account()
    api.register(account_id)
    op = api.set_licenses_op(account_id, {"01-00500-001": 1})
    assert api.sync(op).result == api.sync(op).result


def test_an_op_id_reused_for_other_content_is_refused(api):
    account_id = api.new_account()
    op = api.op("update_account", account_id, name="First")
    api.applied(op)
    reused = api.sync({**op, "name": "Second"}).result
    assert (reused["status"], reused["rule"]) == ("rejected", "op-reuse")
    assert api.account(account_id)["name"] == "First"


def test_results_come_in_order_and_one_refusal_does_not_undo_the_others(api):
    account_id = api.new_account()
    answer = api.sync(
        api.op("update_account", account_id, name="One"),
        api.op("update_account", account_id, language="de"),
        api.op("update_account", account_id, name="Three"),
    )
    assert [r["status"] for r in answer.results] == ["applied", "rejected", "applied"]
    assert [r["revision"] for r in answer.results] == [2, 2, 3]
    assert answer.accounts[account_id]["name"] == "Three"


def test_another_partners_account_reads_as_missing(api, rival):
    account_id = api.running_account()
    status, body = rival.call("GET", f"/accounts/{account_id}")
    missing_status, missing_body = rival.call("GET", f"/accounts/{new_id()}")
    assert (status, body) == (missing_status, missing_body) == (404, body)
    assert rival.call("GET", f"/accounts/{account_id}/ledger")[0] == 404
    assert rival.call("GET", "/accounts")[1]["accounts"] == []


def test_ops_on_another_partners_account_are_refused_and_reveal_nothing(api, rival):
    account_id = api.running_account()
    before = api.account(account_id)
    answer = rival.sync(rival.op("update_account", account_id, name="Mine now"),
                        rival.set_licenses_op(account_id, {IP_PORT: 1}, base_revision=2),
                        rival.op("create_account", account_id, name="X", contact_email="x@example.com",
                                 cloud_contract=False))
    assert [(r["status"], r["rule"], r["revision"]) for r in answer.results] == [("rejected", "access", None)] * 3
    assert all(before["name"] not in r["message"] for r in answer.results)
    assert answer.accounts == {}
    assert api.account(account_id) == before


def test_an_op_id_of_another_partner_is_not_answered_with_its_result(api, rival):
    account_id = api.new_account()
    op = api.op("update_account", account_id, name="Secret name")
    api.applied(op)
    answer = rival.sync(op)
    assert (answer.result["rule"], answer.accounts) == ("op-reuse", {})
    assert "Secret" not in str(answer.result)


def test_reads_list_the_partners_accounts_and_never_re_rate(api, ctx):
    first, second = api.new_account(name="A"), api.running_account(name="B")
    status, body = api.call("GET", "/accounts")
    names = [api.keyring.verify_envelope(e, "account")["name"] for e in body["accounts"]]
    assert status == 200 and sorted(names) == ["A", "B"]
    with ctx.engine.connect() as connection:
        revisions = connection.execute(models.accounts.select()).mappings().all()
    assert {r["id"]: r["revision"] for r in revisions} == {first: 1, second: api.account(second)["revision"]}


def test_the_ledger_pages_newest_first(api, clock):
    account_id = api.new_account()
    for amount in ("1", "2", "3"):
        api.load(account_id, amount)
    first = api.ledger(account_id, limit=2)
    assert [line["ticks"] for line in first["lines"]] == [3_000 * 31_557_600, 2_000 * 31_557_600]
    rest = api.ledger(account_id, limit=2, before=first["next_before"])
    assert [line["ticks"] for line in rest["lines"]] == [1_000 * 31_557_600]
    assert rest["next_before"] is None


def test_the_price_list_is_signed_and_lists_every_item(api):
    status, body = api.call("GET", "/pricelist")
    payload = api.keyring.verify_envelope(body, "pricelist")
    assert status == 200 and payload["version"] == "2026-11"
    hardware = [item for item in payload["items"] if item["ref"].startswith("01-00500-")]
    assert hardware and not any(item["rentable"] for item in hardware)


def test_a_refused_op_sent_again_still_reveals_nothing_of_another_partners_account(api, rival):
    account_id = api.running_account()
    op = rival.op("update_account", account_id, name="Mine now")
    first, again = rival.sync(op), rival.sync(op)
    assert again.result == first.result and again.result["rule"] == "access"
    assert again.accounts == {}


def test_an_op_on_an_unknown_account_sent_again_gets_its_stored_answer(api):
    op = api.op("update_account", new_id(), name="Nobody")
    first, again = api.sync(op), api.sync(op)
    assert again.status_code == 200 and again.result == first.result
    assert (again.result["rule"], again.accounts) == ("not-found", {})
