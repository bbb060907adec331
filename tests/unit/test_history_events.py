"""The events an op's decision names for the account's history (R25): pure, the same call on server and app."""

from __future__ import annotations

from rental import ops
from rental.money import SECONDS_PER_MONTH
from rental.pricing import PriceList
from rental.reasons import CATALOG, EVENTS, event_code, render

T0 = 1_800_000_000
IP_PORT, UC = "01-00010-001", "01-00020-001"
PRICES = PriceList.from_dict({"version": "v1", "items": [
    {"ref": IP_PORT, "name": "IP port", "category": "ports", "monthly_milli": 500, "rentable": True, "note": ""},
    {"ref": UC, "name": "UC", "category": "uc", "monthly_milli": 1250, "rentable": True, "note": ""}]},
    published_at=T0)


def decide(kind, state, at, key=None, **fields):
    return ops.decide(kind, state, {"account_id": "a-1", **fields}, ops.Context(now=at, pricelist=PRICES, key=key))


def running(amount_milli: int = 1000, items=None):
    """A rental PBX "Standard de l'Hôtel-Dieu" running 2 IP ports (1 iSC a month) on amount_milli."""
    state = decide("create_account", None, T0, name="Thermes", contact_email="a@b.fr", cloud_contract=False).state
    state = decide("redeem_key", state, T0, key=ops.ActivationKey("k1", amount_milli)).state
    state = decide("register_pbx", state, T0, pbx_id="p1", name="Standard de l'Hôtel-Dieu", serial="SN-1",
                   platform="vmware", firmware="14r1", mode="rental").state
    return decide("set_licenses", state, T0, pbx_id="p1", items=items or {IP_PORT: 2}).state


def test_every_event_kind_has_a_wording_in_the_catalog():
    assert all(CATALOG[event_code(kind)] == ("", template) for kind, template in EVENTS.items())


def test_a_license_change_lists_only_the_items_that_moved_from_to():
    state = running(10_000, {IP_PORT: 2, UC: 1})
    decision = decide("set_licenses", state, T0 + 60, pbx_id="p1", items={IP_PORT: 5, UC: 1})
    [event] = decision.events
    assert (event.kind, event.at, event.params["changes"]) == ("licenses-changed", None, [f"{IP_PORT}: 2 → 5"])
    assert render(event.code, event.params) == f"Licenses of PBX Standard de l'Hôtel-Dieu changed: {IP_PORT}: 2 → 5"


def test_setting_the_same_licenses_again_makes_no_event():
    state = running()
    assert decide("set_licenses", state, T0 + 60, pbx_id="p1", items={IP_PORT: 2}).events == ()


def test_a_load_after_the_credit_ran_out_records_the_stop_at_its_second_then_the_load_then_the_resume():
    state = running(1000)  # 1 iSC at 1 iSC a month: it stops after one month
    ends = state.billing.depletes_at
    assert ends == T0 + SECONDS_PER_MONTH
    decision = decide("redeem_key", state, ends + 3600, key=ops.ActivationKey("k2", 5000))
    assert [(e.kind, e.at) for e in decision.events] == [("suspended", ends), ("key-loaded", None),
                                                          ("resumed", ends + 3600)]


def test_a_load_too_small_to_resume_records_the_stop_and_the_load_but_no_resume():
    state = running(1000)
    ends = state.billing.depletes_at
    decision = decide("redeem_key", state, ends + 1, key=ops.ActivationKey("k2", 1))
    assert [(e.kind, e.at) for e in decision.events] == [("suspended", ends), ("key-loaded", None)]


def test_an_edit_that_changes_nothing_of_the_money_adds_no_stop():
    state = running(1000)
    decision = decide("update_account", state, state.billing.depletes_at + 10, name="Thermes de Châtel-Guyon")
    assert [e.kind for e in decision.events] == ["account-edited"]
