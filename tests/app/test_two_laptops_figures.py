"""R16, R18, R19, R24, R23: one account, two laptops. Ann does the day's work on site and syncs; Bob only syncs when
the vendor publishes a price list. At every second drawn (reloads at their seconds, price rises between them, the
stop, years idle until the left-over credit expires), Bob's figures, computed offline from the signed snapshot with
rental/, are the server's signed figures for that second, to the tick."""

from __future__ import annotations

from app import services
from license_server import admin
from rental.money import SECONDS_PER_DAY

from .test_sync import IP_PORT, UC, laptop, prepare_customer, server_account, server_clock, sync_now  # noqa: F401

DAY = SECONDS_PER_DAY


def figures(store, clock, account_id: str) -> dict:
    shown = services.account_detail(store.unit_of_work(), clock, account_id).confirmed
    return {"balance_ticks": shown.balance_ticks, "ends_at": shown.ends_at, "status": shown.status}


def test_a_second_laptop_shows_the_servers_signed_figures_at_every_second_through_reloads_rises_stop_and_expiry(
        server, laptop, clock, token):
    ann, bob = laptop("ann"), laptop("bob")
    account_id, pbx_id, _ = prepare_customer(ann, clock, server, key_isc="20")
    services.set_licenses(ann.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10, UC: 2})
    services.set_auto_reload(ann.unit_of_work(), clock, account_id, 28)
    for amount in ("3", "7"):
        [key] = server.issue_keys(amount, 1)
        services.deposit_key(ann.unit_of_work(), clock, account_id, key)
    assert sync_now(ann, clock).ok and sync_now(bob, clock).ok
    seen = set()
    for step, wait in enumerate([DAY, 3 * DAY, 9 * DAY, 13 * DAY, 20 * DAY, 7, 40 * DAY, 400 * DAY, 800 * DAY]):
        clock.advance(wait)
        if step in (2, 5):  # a rise Bob learns at once; the reloads after it re-rate at their seconds (R24)
            data = admin.demo_pricelist()
            data["version"] = f"rise-{step}"
            for item in data["items"]:
                item["monthly_milli"] = item["monthly_milli"] * (step + 3) // 3
            server.publish_prices(data)
            assert sync_now(bob, clock).ok
        signed = server_account(server, token, account_id)
        assert figures(bob, clock, account_id) == {
            "balance_ticks": signed["balance_ticks"], "ends_at": signed["ends_at"], "status": signed["status"]}, step
        seen.add((signed["status"], len(signed["deposits"]), signed["balance_ticks"] == 0))
    # the walk went from two keys held, through the reloads, to the stop and the expiry of the remainder (R19)
    assert {("active", 2, False), ("suspended", 0, False), ("suspended", 0, True)} <= seen, seen
