"""Policy checks: firmware (R1), rentability (R2, R3), platform (R7), mixing (R8), credit (R14), toggling (R6)."""

import pytest

from rental.errors import PriceListError, RuleViolation
from rental.money import SECONDS_PER_DAY, TICKS_PER_MILLI
from rental.pricing import PriceItem, PriceList, is_rentable
from rental.rules import (
    Firmware, Policy, Reduction, check_firmware, check_items, check_mode, check_pbx, check_platform,
    credit_shortfall_milli,
    parse_firmware, reductions, restored_refs, toggle_problem,
)

T0 = 1_767_225_600


@pytest.mark.parametrize("text, parsed", [
    ("13r1", Firmware(13, 1, 0)), ("13r2sr5", Firmware(13, 2, 5)), ("14R1", Firmware(14, 1, 0)),
    (" 14r2sr12 ", Firmware(14, 2, 12)),
])
def test_firmware_strings_are_read(text, parsed):
    assert parse_firmware(text) == parsed


def test_firmware_compares_major_then_release_then_service_release():
    order = ["12r2sr30", "13r1", "13r1sr2", "13r2", "13r2sr5", "13r2sr12", "14r1"]
    assert sorted(order, key=parse_firmware) == order
    assert str(parse_firmware("13r2sr5")) == "13r2sr5"


@pytest.mark.parametrize("bad", ["13", "v13r1", "13r", "r1", "", "13r1sr", "thirteen"])
def test_a_malformed_firmware_says_how_it_should_look(bad):
    with pytest.raises(RuleViolation, match="13r1, 13r2sr5 or 14r1") as error:
        parse_firmware(bad)
    assert error.value.rule == "bad-op"


def test_rental_needs_firmware_13r1_or_later():
    assert check_firmware("13r1") == Firmware(13, 1)
    with pytest.raises(RuleViolation, match="Update the PBX to 13r1") as error:
        check_firmware("12r2sr30")
    assert error.value.rule == "R1"


@pytest.mark.parametrize("platform", ["vmware", "hyper-v", "hardware"])
def test_virtualised_and_vendor_hardware_platforms_are_accepted(platform):
    check_platform(platform, cloud_contract=False)


def test_cloud_needs_a_cloud_contract():
    check_platform("cloud", cloud_contract=True)
    with pytest.raises(RuleViolation, match="cloud contract") as error:
        check_platform("cloud", cloud_contract=False)
    assert error.value.rule == "R7"


@pytest.mark.parametrize("mode, platform, firmware, codes", [
    ("rental", "cloud", "12r2sr30", [("R1", "firmware-too-old"), ("R7", "cloud-needs-contract")]),
    ("rental", "virtualbox", "13r", [("bad-op", "firmware-invalid"), ("R7", "platform-refused")]),
    ("purchased", "virtualbox", "13r", [("bad-op", "firmware-invalid"), ("bad-op", "platform-unknown")]),
    ("rental", "cloud", "14r1", [("R7", "cloud-needs-contract")]),
])
def test_a_pbx_is_refused_with_every_problem_at_once_the_firmwares_first(mode, platform, firmware, codes):
    """Both sides decide a PBX with check_pbx: a technician fixing the firmware is not told only then of the
    platform; the first problem names the refusal (an op result's rule and code)."""
    with pytest.raises(RuleViolation) as error:
        check_pbx(mode, platform, firmware, cloud_contract=False)
    assert [(problem.rule, problem.code) for problem in error.value.problems] == codes
    assert (error.value.rule, error.value.code) == codes[0]


def test_any_other_platform_is_refused():
    with pytest.raises(RuleViolation, match="VMware or Hyper-V") as error:
        check_platform("virtualbox", cloud_contract=True)
    assert error.value.rule == "R7"


def test_rented_licenses_cannot_go_on_a_purchased_pbx():
    check_mode("rental", {"a": 1})
    check_mode("purchased", {})
    with pytest.raises(RuleViolation, match="separate rental PBX") as error:
        check_mode("purchased", {"a": 1})
    assert (error.value.rule, error.value.code) == ("R8", "purchased-mixing")


PRICES = PriceList("v1", T0, {
    "01-00010-001": PriceItem("01-00010-001", "IP ports", "port", 1234),
    "01-00500-001": PriceItem("01-00500-001", "Gateway hardware license", "port", 900, rentable=True),
    "99-00001-001": PriceItem("99-00001-001", "Partner fax app", "third-party", 800, rentable=False),
    "01-00090-001": PriceItem("01-00090-001", "Software service agreement", "maintenance", 300),
})


def test_hardware_licenses_are_refused_by_reference_whatever_the_list_says():
    problems = check_items({"01-00500-001": 1}, PRICES)
    assert [(p.rule, p.ref) for p in problems] == [("R2", "01-00500-001")]
    assert "hardware" in problems[0].message


def test_third_party_items_are_refused():
    assert [p.rule for p in check_items({"99-00001-001": 2}, PRICES)] == ["R2"]


def test_maintenance_is_included_in_the_rent_and_never_billed():
    problems = check_items({"01-00090-001": 1}, PRICES)
    assert [p.rule for p in problems] == ["R3"]
    assert not is_rentable(PRICES.items["01-00090-001"])


def test_every_problem_of_a_configuration_is_reported_next_to_its_item():
    problems = check_items({"01-00010-001": 3, "01-00500-001": 1, "nope": 1, "99-00001-001": -1}, PRICES)
    assert sorted((p.ref, p.rule) for p in problems) == [
        ("01-00500-001", "R2"), ("99-00001-001", "bad-op"), ("nope", "not-found")]


def test_removing_an_unrentable_item_is_not_a_problem():
    assert check_items({"01-00500-001": 0}, PRICES) == []


def test_the_credit_shortfall_for_thirty_days_is_rounded_up_to_the_milli_isc():
    # 10 × 1.234 iSC/month = 148,080 ticks/s; 30 days = 2,592,000 s → 383,823,360,000 ticks
    # = 12,162.739... milli → 12,163 milli needed; with 10 iSC held, 2.163 iSC are missing (R14)
    rate = 12 * 1234 * 10
    balance = 10_000 * TICKS_PER_MILLI
    assert credit_shortfall_milli(balance, rate) == 2_163
    assert credit_shortfall_milli(balance + 2_163 * TICKS_PER_MILLI, rate) == 0


def test_reduce_then_restore_within_seven_days_is_detected():
    history = reductions("SN-1", {"A": 10, "B": 2}, {"A": 4, "B": 2}, T0)
    assert history == [Reduction(T0, "SN-1", "A", 10, 4)]
    assert restored_refs(history, "SN-1", {"A": 4}, {"A": 10}, T0 + 2 * SECONDS_PER_DAY) == ["A"]
    assert restored_refs(history, "SN-1", {"A": 4}, {"A": 10}, T0 + 8 * SECONDS_PER_DAY) == []
    assert restored_refs(history, "SN-2", {"A": 4}, {"A": 10}, T0 + SECONDS_PER_DAY) == []


def test_the_third_restore_in_the_period_is_refused():
    assert toggle_problem(["A"], occurrences_in_period=1) is None  # the 2nd is recorded, not refused
    refused = toggle_problem(["A"], occurrences_in_period=2)
    assert (refused.rule, refused.code, refused.params["count"]) == ("R6", "toggle-refused", 3)
    assert "run continuously" in refused.message
    assert toggle_problem([], occurrences_in_period=9) is None


def test_the_policy_travels_in_the_price_list_and_ignores_what_it_cannot_use():
    policy = Policy(min_credit_days=14, resume_min_days=2)
    assert Policy.from_dict(policy.to_dict()) == policy
    assert Policy.from_dict({"min_credit_days": "30", "resume_min_days": -1, "other": 3}) == Policy()
    assert Policy.from_dict(None) == Policy()


def test_a_price_list_is_validated_with_messages_naming_the_bad_item():
    good = {"version": "2026-11", "items": [
        {"ref": "01-00010-001", "name": "IP port", "category": "port", "monthly_milli": 1234, "rentable": True, "note": ""}]}
    assert PriceList.from_dict(good).items["01-00010-001"].monthly_milli == 1234
    bad = {"version": "x", "items": [good["items"][0], dict(good["items"][0], ref="01-00011-001", monthly_milli=1.5)]}
    with pytest.raises(PriceListError, match=r"Item #2 \(01-00011-001\).*float"):
        PriceList.from_dict(bad)
    with pytest.raises(PriceListError, match="twice"):
        PriceList.from_dict({"version": "x", "items": [good["items"][0]] * 2})
    with pytest.raises(PriceListError, match="version"):
        PriceList.from_dict({"items": good["items"]})


def test_a_hardware_reference_on_the_list_is_never_rentable():
    data = {"version": "v", "items": [{"ref": "01-00500-007", "name": "HW", "category": "port",
                                       "monthly_milli": 10, "rentable": True}]}
    assert PriceList.from_dict(data).items["01-00500-007"].rentable is False


