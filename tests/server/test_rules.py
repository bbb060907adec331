"""Every rule the server enforces answers `rejected` with its code and a message that says what would fix it.

Rules: R1, R2, R3, R6, R7, R8, R14 (in test_billing), with the app-side wording from rental.rules.
"""

from __future__ import annotations

import pytest

from .helpers import DAY, HARDWARE, IP_PORT, MAINTENANCE, THIRD_PARTY, UC

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def test_a_pbx_older_than_13r1_cannot_be_registered_for_rental(api):
    account_id = api.new_account()
    result = api.register(account_id, firmware="12r2sr9")
    assert (result["status"], result["rule"]) == ("rejected", "R1")
    assert "13r1 or later" in result["message"]
    assert api.account(account_id)["pbxs"] == []


def test_a_purchased_pbx_on_old_firmware_may_be_registered(api):
    account_id = api.new_account()
    assert api.register(account_id, firmware="12r2", mode="purchased")["status"] == "applied"


def test_a_rental_pbx_cannot_be_downgraded_below_13r1(api):
    account_id = api.running_account()
    revision = api.pbx_revision(account_id)
    result = api.sync(api.op("update_pbx", account_id, pbx_id="pbx-1", base_revision=revision, firmware="11r1")).result
    assert (result["status"], result["rule"]) == ("rejected", "R1")
    assert api.account(account_id)["pbxs"][0]["firmware"] == "13r2sr5"


@pytest.mark.parametrize("ref, rule, words", [
    (HARDWARE, "R2", "hardware license"),
    (THIRD_PARTY, "R2", "third-party"),
    (MAINTENANCE, "R3", "included in the rent"),
])
def test_items_that_are_never_rented_are_refused_with_their_rule(api, ref, rule, words):
    account_id = api.running_account()
    result = api.set_licenses(account_id, {IP_PORT: 10, ref: 1})
    assert (result["status"], result["rule"]) == ("rejected", rule)
    assert words in result["message"] and ref in result["message"]
    assert api.account(account_id)["pbxs"][0]["licenses"][0]["qty"] == 10


def test_a_reference_not_on_the_price_list_is_not_found(api):
    account_id = api.running_account()
    result = api.set_licenses(account_id, {"01-99999-999": 1})
    assert (result["status"], result["rule"]) == ("rejected", "not-found")
    assert "01-99999-999" in result["message"]


def test_a_rental_pbx_on_an_unknown_platform_is_refused(api):
    account_id = api.new_account()
    result = api.register(account_id, platform="raspberry-pi")
    assert (result["status"], result["rule"]) == ("rejected", "R7")
    assert "VMware or Hyper-V" in result["message"]


def test_a_cloud_pbx_needs_a_cloud_contract_on_the_account(api):
    account_id = api.new_account(cloud_contract=False)
    result = api.register(account_id, platform="cloud")
    assert (result["status"], result["rule"]) == ("rejected", "R7")
    assert "cloud contract" in result["message"]
    api.applied(api.op("update_account", account_id, cloud_contract=True))
    assert api.register(account_id, platform="cloud")["status"] == "applied"


def test_the_cloud_contract_cannot_be_dropped_while_a_cloud_pbx_runs_rented_licenses(api):
    account_id = api.running_account(cloud_contract=True)
    api.register(account_id, "pbx-cloud", platform="cloud")
    assert api.set_licenses(account_id, {UC: 1}, pbx_id="pbx-cloud")["status"] == "applied"
    result = api.sync(api.op("update_account", account_id, cloud_contract=False)).result
    assert (result["status"], result["rule"]) == ("rejected", "R7")
    assert api.account(account_id)["cloud_contract"] is True


def test_rented_licenses_cannot_be_put_on_a_purchased_pbx(api):
    account_id = api.new_account()
    api.load(account_id, "100")
    api.register(account_id, mode="purchased")
    result = api.set_licenses(account_id, {IP_PORT: 1})
    assert (result["status"], result["rule"]) == ("rejected", "R8")
    assert result["code"] == "purchased-mixing"
    assert "register a separate rental PBX" in result["message"]


def test_reduce_then_restore_is_warned_recorded_and_refused_the_third_time(api, clock, ctx):
    account_id = api.running_account("500", {IP_PORT: 10})
    for occurrence in (1, 2):
        assert api.set_licenses(account_id, {IP_PORT: 5})["status"] == "applied"  # Friday: reduce
        clock.advance(2 * DAY)
        restored = api.set_licenses(account_id, {IP_PORT: 10})  # Monday: restore
        assert restored["status"] == "applied"
        assert [(w["rule"], w["code"], w["params"]) for w in restored["warnings"]] == [
            ("R6", "toggle-warning", {"refs": [IP_PORT]})]
        clock.advance(5 * DAY)
    assert api.count_occurrences(account_id) == 2
    api.set_licenses(account_id, {IP_PORT: 5})
    clock.advance(2 * DAY)
    third = api.set_licenses(account_id, {IP_PORT: 10})
    assert (third["status"], third["rule"]) == ("rejected", "R6")
    assert "run continuously" in third["message"]
    assert api.account(account_id)["pbxs"][0]["licenses"][0]["qty"] == 5


def test_raising_an_item_long_after_reducing_it_is_no_toggling(api, clock):
    account_id = api.running_account("500", {IP_PORT: 10})
    api.set_licenses(account_id, {IP_PORT: 5})
    clock.advance(8 * DAY)
    result = api.set_licenses(account_id, {IP_PORT: 10})
    assert result["status"] == "applied" and result["warnings"] == []
