"""The guide's money rules as SPEC states them, decided once in rental/ops.py and proved over the API.

R6 (follows the serial), R8 (mode switch), R9 (connection events), R13 (device rental), R14 (only a change
that adds, at current prices), R18 (resumption at RESUME_MIN_DAYS), R19 (retained_until), policy in the list.
"""

from __future__ import annotations

import pytest

from rental.money import TICKS_PER_MILLI

from .helpers import DAY, HARDWARE, IP_PORT, MONTH, UC, publish, ticks

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

DEVICE = "02-00700-001"  # vendor hardware rented with iSC, 2,500 milli-iSC a month


def short_of_credit(api, clock, items, *, days_left: int) -> str:
    """A running account whose credit covers items for days_left days more (less than R14's 30)."""
    monthly = sum(qty * {IP_PORT: 500, UC: 1250}[ref] for ref, qty in items.items())
    account_id = api.running_account(f"{2 * monthly // 1000}.{2 * monthly % 1000:03d}", items)  # two months
    clock.advance(2 * MONTH - days_left * DAY)
    return account_id


def test_r14_a_reduction_after_a_price_rise_is_never_refused_for_credit(api, clock, ctx):
    account_id = short_of_credit(api, clock, {IP_PORT: 10}, days_left=10)
    publish(ctx, "2027-01", **{IP_PORT: 800})  # dearer: at the new list 9 ports cost more than 10 did
    reduced = api.set_licenses(account_id, {IP_PORT: 9})
    assert reduced["status"] == "applied", reduced
    account = api.account(account_id)
    assert account["rate_ticks_per_s"] == 12 * 800 * 9  # a connection event: re-rated at the new list (R23)


def test_r14_ending_one_pbx_while_another_is_rerated_upwards_is_applied(api, clock, ctx):
    account_id = api.running_account("11", {IP_PORT: 10})  # 10 ports here, 1 on the second PBX: 2 months
    assert api.register(account_id, "pbx-2")["status"] == "applied"
    assert api.set_licenses(account_id, {IP_PORT: 1}, "pbx-2")["status"] == "applied"
    clock.advance(2 * MONTH - 10 * DAY)  # 10 days of credit left
    publish(ctx, "2027-01", **{IP_PORT: 900})
    ended = api.set_licenses(account_id, {}, "pbx-2")
    assert ended["status"] == "applied", ended


def test_r14_a_change_that_adds_at_current_prices_needs_thirty_days_and_names_the_missing_milli(api, clock, ctx):
    account_id = short_of_credit(api, clock, {IP_PORT: 10}, days_left=10)
    balance = api.account(account_id)["balance_ticks"]
    more = api.set_licenses(account_id, {IP_PORT: 11})
    needed = 12 * 500 * 11 * 30 * DAY
    assert (more["status"], more["rule"], more["code"]) == ("rejected", "R14", "min-credit")
    assert more["params"] == {"days": 30, "missing_milli": -(-(needed - balance) // TICKS_PER_MILLI)}
    assert [p["code"] for p in more["problems"]] == ["min-credit"]


def test_r18_a_reduction_resumes_a_suspended_account_when_the_credit_pays_one_day(api, clock):
    account_id = api.running_account("10", {IP_PORT: 10})
    clock.advance(3 * MONTH)
    api.load(account_id, "0.1")  # a day of 10 ports is 0.165 iSC: still suspended
    stopped = api.account(account_id)
    assert stopped["status"] == "suspended"
    reduced = api.set_licenses(account_id, {IP_PORT: 1})  # a day of 1 port is 0.017 iSC: covered
    assert reduced["status"] == "applied" and reduced["warnings"] == []
    account = api.account(account_id)
    assert (account["status"], account["rate_ticks_per_s"]) == ("active", 12 * 500)
    assert account["depletes_at"] == clock.now + account["balance_ticks"] // (12 * 500)


def test_r6_removing_a_pbx_and_registering_its_serial_again_continues_its_history(api, clock, ctx):
    first = api.running_account("500", {IP_PORT: 10})
    second = api.new_account(name="Boulangerie Émile, second site")
    api.load(second, "500")
    removed = api.sync(api.op("remove_pbx", first, pbx_id="pbx-1", base_revision=api.pbx_revision(first)))
    assert removed.result["status"] == "applied"  # Friday: removal counts as reducing every item to zero
    clock.advance(2 * DAY)
    assert api.register(second, "pbx-9", serial="SN-pbx-1")["status"] == "applied"  # Monday, same serial
    restored = api.set_licenses(second, {IP_PORT: 10}, "pbx-9")
    assert restored["status"] == "applied"
    assert [(w["rule"], w["code"], w["params"]) for w in restored["warnings"]] == [
        ("R6", "toggle-warning", {"refs": [IP_PORT]})]
    for _ in range(1):  # a second occurrence on the same serial is recorded…
        assert api.set_licenses(second, {IP_PORT: 2}, "pbx-9")["status"] == "applied"
        clock.advance(DAY)
        assert api.set_licenses(second, {IP_PORT: 10}, "pbx-9")["status"] == "applied"
    assert api.set_licenses(second, {IP_PORT: 2}, "pbx-9")["status"] == "applied"
    clock.advance(DAY)
    third = api.set_licenses(second, {IP_PORT: 10}, "pbx-9")  # …the third in 90 days is refused
    assert (third["status"], third["rule"], third["code"], third["params"]["count"]) == (
        "rejected", "R6", "toggle-refused", 3)


def test_r9_removing_a_rental_pbx_rerates_the_others_and_a_purchased_pbx_rerates_nothing(api, clock, ctx):
    account_id = api.running_account("500", {IP_PORT: 10})
    assert api.register(account_id, "pbx-2")["status"] == "applied"
    assert api.set_licenses(account_id, {UC: 2}, "pbx-2")["status"] == "applied"
    publish(ctx, "2027-01", **{IP_PORT: 600, UC: 1500})
    purchased = api.register(account_id, "pbx-3", mode="purchased")
    assert purchased["status"] == "applied"
    assert api.account(account_id)["rate_ticks_per_s"] == 12 * (500 * 10 + 1250 * 2)  # not a connection event
    removed = api.sync(api.op("remove_pbx", account_id, pbx_id="pbx-2",
                              base_revision=api.pbx_revision(account_id, "pbx-2"))).result
    assert removed["status"] == "applied"
    account = api.account(account_id)
    assert account["rate_ticks_per_s"] == 12 * 600 * 10  # the removal was a connection event: re-rated (R23)
    assert account["price_version"] == "2027-01"


def test_r1_and_r7_refuse_a_pbx_with_both_problems_in_one_op_result(api):
    """A rental PBX on too old a firmware, in the cloud without a contract: the signed result names the firmware's
    problem (its rule and code) and lists both, so the technician fixes both in one round."""
    account_id = api.new_account()  # no cloud contract
    result = api.register(account_id, "pbx-cloud", platform="cloud", firmware="12r2sr30")
    assert (result["status"], result["rule"], result["code"]) == ("rejected", "R1", "firmware-too-old")
    assert [(p["rule"], p["code"]) for p in result["problems"]] == [("R1", "firmware-too-old"),
                                                                    ("R7", "cloud-needs-contract")]
    assert api.account(account_id)["pbxs"] == []


def test_r8_a_purchased_pbx_switches_to_rental_and_back_only_when_it_rents_nothing(api, clock):
    account_id = api.new_account()
    api.load(account_id, "100")
    assert api.register(account_id, "pbx-old", mode="purchased", firmware="12r2sr30")["status"] == "applied"
    too_old = api.sync(api.op("update_pbx", account_id, pbx_id="pbx-old", mode="rental",
                              base_revision=api.pbx_revision(account_id, "pbx-old"))).result
    assert (too_old["rule"], too_old["code"]) == ("R1", "firmware-too-old")
    unconfirmed = api.sync(api.op("update_pbx", account_id, pbx_id="pbx-old", mode="rental", firmware="13r1",
                                  base_revision=api.pbx_revision(account_id, "pbx-old"))).result
    assert (unconfirmed["status"], unconfirmed["rule"], unconfirmed["code"]) == ("rejected", "R8", "purchased-licenses")
    assert "remove them from the PBX" in unconfirmed["message"]
    assert api.account(account_id)["pbxs"][0]["mode"] == "purchased"
    clock.advance(60)
    switched = api.sync(api.op("update_pbx", account_id, pbx_id="pbx-old", mode="rental", firmware="13r1",
                               purchased_removed=True, base_revision=api.pbx_revision(account_id, "pbx-old"))).result
    assert switched["status"] == "applied"
    [event] = [e for e in api.call("GET", f"/accounts/{account_id}/history")[1]["events"] if e["kind"] == "pbx-to-rental"]
    assert (event["at"], event["technician"]) == (clock.now, "Ann")  # who and when (R8)
    assert api.set_licenses(account_id, {IP_PORT: 2}, "pbx-old")["status"] == "applied"
    back = api.sync(api.op("update_pbx", account_id, pbx_id="pbx-old", mode="purchased",
                           base_revision=api.pbx_revision(account_id, "pbx-old"))).result
    assert (back["rule"], back["code"]) == ("R8", "still-renting")
    assert api.set_licenses(account_id, {}, "pbx-old")["status"] == "applied"
    back = api.sync(api.op("update_pbx", account_id, pbx_id="pbx-old", mode="purchased",
                           base_revision=api.pbx_revision(account_id, "pbx-old"))).result
    assert back["status"] == "applied"
    assert api.account(account_id)["pbxs"][0]["mode"] == "purchased"


def test_r13_vendor_hardware_rented_with_isc_is_charged_per_second_but_hardware_licenses_stay_refused(api, clock):
    account_id = api.running_account("100", {DEVICE: 2})
    clock.advance(DAY)
    assert api.account(account_id)["balance_ticks"] == ticks(100_000) - 12 * 2500 * 2 * DAY
    refused = api.set_licenses(account_id, {DEVICE: 2, HARDWARE: 1})
    assert (refused["rule"], refused["code"], refused["params"]["ref"]) == ("R2", "hardware-license", HARDWARE)


def test_r19_an_idle_account_says_until_when_its_credit_is_kept(api, clock, ctx):
    account_id = api.running_account("100")
    assert api.account(account_id)["retained_until"] is None  # something runs
    clock.advance(DAY)
    api.set_licenses(account_id, {})
    assert api.account(account_id)["retained_until"] == clock.now + ctx.policy.retention_s


def test_the_signed_price_list_carries_the_servers_policy(api, ctx):
    pricelist = api.call("GET", "/pricelist")[1]
    payload = ctx.keyring.verify_envelope(pricelist, "pricelist")
    assert payload["policy"] == ctx.policy.to_dict()
    assert payload["policy"]["resume_min_days"] == 1 and payload["policy"]["min_credit_days"] == 30
