"""An automatic reload at its second is a connection event (SPEC R24, R23, R9): the account is re-rated there at
the price list then in force. The license server over real HTTP and the app's offline projection agree to the tick,
before the sweep wrote the reload and after."""

from __future__ import annotations

from app import services
from license_server import admin
from rental.money import SECONDS_PER_DAY, TICKS_PER_MILLI

from .test_sync import laptop, prepare_customer, server_account, server_clock  # noqa: F401 (fixtures)

IP_PORT = "01-00010-001"  # 0.500 iSC a month on the demo list


def figures(store, clock, account_id):
    view = services.account_detail(store.unit_of_work(), clock, account_id)
    shown = view.pending or view.confirmed
    return shown.balance_ticks, shown.rate_ticks_per_s, shown.ends_at, shown.status


def reloading_customer(store, clock, server) -> str:
    """An account of this laptop running 10 IP ports (5 iSC a month) on a 10 iSC key, with automatic reload on at
    28 days and a 10 iSC key held for it (all queued); answers its id."""
    account_id, pbx_id, _ = prepare_customer(store, clock, server, key_isc="10")
    services.set_licenses(store.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 10})
    services.set_auto_reload(store.unit_of_work(), clock, account_id, 28)
    [held] = server.issue_keys("10", 1)
    services.deposit_key(store.unit_of_work(), clock, account_id, held)
    return account_id


def a_newer_list_synced(server, store, clock) -> None:
    """The vendor publishes list 2027-rise (the demo prices again) and the laptop learns it at a sync (R23)."""
    newer = admin.demo_pricelist()
    newer["version"] = "2027-rise"
    admin.publish_prices(server.ctx, newer)
    assert services.sync_now(store, clock).ok


def test_a_reload_after_a_price_rise_re_rates_at_its_second_on_the_server_and_offline_alike_R24(
        server, laptop, clock, token):  # noqa: F811
    store = laptop("a")
    account_id = reloading_customer(store, clock, server)
    assert services.sync_now(store, clock).ok
    before = server_account(server, token, account_id)
    old_rate = before["rate_ticks_per_s"]
    assert old_rate == 12 * 500 * 10 and before["reload_at"] is not None

    clock.advance(SECONDS_PER_DAY)
    dearer = admin.demo_pricelist()
    dearer["version"] = "2027-rise"
    for item in dearer["items"]:
        item["monthly_milli"] = item["monthly_milli"] * 3 // 2
    admin.publish_prices(server.ctx, dearer)
    assert services.sync_now(store, clock).ok  # the laptop learns the list; the account is not re-rated yet (R23)
    assert server_account(server, token, account_id)["rate_ticks_per_s"] == old_rate
    assert figures(store, clock, account_id)[1] == old_rate

    reload_at = before["reload_at"]
    clock.set(reload_at + 3_600)  # an hour past the reload's second; nobody synced, the sweep has not run
    answer = server_account(server, token, account_id)
    assert answer["price_version"] == "2027-rise" and answer["rate_ticks_per_s"] == old_rate * 3 // 2
    expected = before["balance_ticks"] - old_rate * (reload_at - before["as_of"]) + 10_000 * TICKS_PER_MILLI \
        - old_rate * 3 // 2 * 3_600  # old prices up to the reload's second, the new ones from it
    assert answer["balance_ticks"] == expected
    assert figures(store, clock, account_id) == (answer["balance_ticks"], answer["rate_ticks_per_s"],
                                                 answer["ends_at"], answer["status"])  # offline, to the tick

    assert server.sweep().reloads == 1  # the sweep writes the same reload at the same second
    clock.advance(60)
    written = server_account(server, token, account_id)
    assert written["balance_ticks"] == expected - old_rate * 3 // 2 * 60
    assert services.sync_now(store, clock).ok
    assert figures(store, clock, account_id)[:2] == (written["balance_ticks"], written["rate_ticks_per_s"])


def test_past_a_reload_offline_the_account_says_the_list_it_is_rated_at_now_and_no_newer_list_notice_R23_R24(
        server, laptop, clock, token):  # noqa: F811
    """The facts line ("price list …") and the R23 notice are computed for now, as the figures are: once the reload's
    second has passed, the account runs at the list the reload re-rated it to, offline as the server answers."""
    store = laptop("a")
    account_id = reloading_customer(store, clock, server)
    assert services.sync_now(store, clock).ok
    reload_at = server_account(server, token, account_id)["reload_at"]
    a_newer_list_synced(server, store, clock)
    old = services.account_detail(store.unit_of_work(), clock, account_id).price_version
    assert old != "2027-rise"  # R23: not re-rated yet, and said so
    assert services.pricelist_notice(store.unit_of_work(), account_id, old).current_version == "2027-rise"

    clock.set(reload_at + 3_600)  # past the reload's second, nobody synced
    view = services.account_detail(store.unit_of_work(), clock, account_id)
    assert view.price_version == server_account(server, token, account_id)["price_version"] == "2027-rise"
    assert services.pricelist_notice(store.unit_of_work(), account_id, view.price_version) is None


def test_the_price_list_screens_accounts_on_an_older_list_are_those_of_now_a_reload_offline_re_rated_R23_R24(
        server, laptop, clock, token):  # noqa: F811
    """The R23 list of the price list screen is computed for now with the account page's own question (who runs at
    which list now): an account whose automatic reload fell due offline after a newer list arrived leaves it at the
    reload's second; an account without reload stays on it, at the list it runs at."""
    store = laptop("a")
    reloading = reloading_customer(store, clock, server)
    steady, steady_pbx, _ = prepare_customer(store, clock, server, key_isc="100")
    services.set_licenses(store.unit_of_work(), clock, steady, steady_pbx, {IP_PORT: 10})
    assert services.sync_now(store, clock).ok
    reload_at = server_account(server, token, reloading)["reload_at"]
    a_newer_list_synced(server, store, clock)
    with store.unit_of_work() as uow:  # the second the replica keeps beside each snapshot is the server's own
        kept = {row[0]: row[3] for row in uow.replica.price_versions_other_than("2027-rise")}
    assert kept == {reloading: reload_at, steady: None}

    def listed() -> dict[str, tuple[str, str]]:
        return {ref.account_id: (notice.account_version, notice.current_version)
                for ref, notice in services.pricelist_notices(store.unit_of_work(), clock)}

    clock.set(reload_at - 1)  # nobody synced since
    assert listed() == {reloading: ("2026-11", "2027-rise"), steady: ("2026-11", "2027-rise")}
    clock.set(reload_at)
    assert listed() == {steady: ("2026-11", "2027-rise")}
    assert server_account(server, token, reloading)["price_version"] == "2027-rise"  # as the server answers
