"""Automatic reload (R24): held keys redeemed at the exact second the runtime reaches the threshold, as of the
server's now (sweep or no sweep), at once below it, resuming a suspended account, never re-rating; deposits
race to one winner; the customer is mailed."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest
from sqlalchemy import select

from license_server import admin, models
from license_server.sweep import sweep
from tests.support.license_server import LiveLicenseServer

from .helpers import DAY, IP_PORT, new_id, ticks
from .smtp_sink import settings, sink, text_of  # noqa: F401 (fixtures: the server mails through an SMTP sink)

RATE = 12 * 500 * 10  # ticks per second of 10 IP ports at 500 milli-iSC a month


def key_of(ctx, amount_milli: int) -> str:
    [key] = admin.issue_keys(ctx, amount_milli, 1)
    return key


def key_id(keyring, key: str) -> str:
    return keyring.read_key(key).key_id_hex


def deposit(api, account_id: str, key: str) -> dict:
    return api.sync(api.op("deposit_key", account_id, key=key)).result


def reload_on(api, account_id: str, days: int = 28) -> dict:
    return api.sync(api.op("update_account", account_id, auto_reload_days=days)).result


def credits(api, account_id: str) -> list[dict]:
    return [row for row in api.ledger_rows(account_id) if row["kind"] == "credit"]


def test_the_held_key_is_redeemed_at_the_exact_second_the_runtime_reaches_the_threshold(api, ctx, clock, keyring):
    account_id = api.running_account("10")  # ~60.9 days of 10 IP ports
    key = key_of(ctx, 5_000)
    assert deposit(api, account_id, key)["status"] == "applied"
    assert reload_on(api, account_id, 28)["status"] == "applied"
    before = api.account(account_id)
    reload_at = before["depletes_at"] - 28 * DAY
    assert before["reload_at"] == reload_at
    assert before["deposits"] == [{"key_id": key_id(keyring, key), "amount_milli": 5_000,
                                   "deposited_at": before["deposits"][0]["deposited_at"]}]
    balance_at = before["balance_ticks"] - RATE * (reload_at - before["as_of"])

    clock.set(reload_at - 1)
    one_second_before = api.account(account_id)
    assert one_second_before["balance_ticks"] == balance_at + RATE
    assert len(one_second_before["deposits"]) == 1 and one_second_before["reload_at"] == reload_at

    clock.set(reload_at)  # no sweep: the answer is as of the server's now
    at_the_second = api.account(account_id)
    assert at_the_second["balance_ticks"] == balance_at + ticks(5_000)
    assert at_the_second["deposits"] == [] and at_the_second["reload_at"] is None
    assert at_the_second["depletes_at"] == before["depletes_at"] + ticks(5_000) // RATE
    assert at_the_second["revision"] == before["revision"]  # not written down yet
    assert len(credits(api, account_id)) == 1  # only the load by hand is written
    opened = [line for line in api.ledger(account_id)["lines"] if line["kind"] == "credit" and line["open"]]
    assert [(line["at"], line["key_id"], line["auto"]) for line in opened] == [(reload_at, key_id(keyring, key), True)]

    clock.set(reload_at + 3 * DAY)
    assert api.sweep().reloads == 1  # the sweep writes it down at its second, not at the sweep's
    written = credits(api, account_id)[-1]
    assert (written["at"], written["key_id"], written["auto"], written["ticks"]) == (
        reload_at, key_id(keyring, key), True, ticks(5_000))
    after = api.account(account_id)
    assert after["revision"] == before["revision"] + 1
    assert after["balance_ticks"] == balance_at + ticks(5_000) - RATE * 3 * DAY
    assert api.sweep().reloads == 0  # idempotent


def test_a_deposit_below_the_threshold_is_redeemed_at_once(api, ctx, clock, keyring):
    account_id = api.running_account("10")
    assert reload_on(api, account_id, 28)["status"] == "applied"
    clock.advance(40 * DAY)  # ~20.9 days left: below 28
    now = clock.now
    key = key_of(ctx, 2_000)
    assert deposit(api, account_id, key)["status"] == "applied"
    account = api.account(account_id)
    assert account["deposits"] == []
    [credit] = credits(api, account_id)[1:]
    assert (credit["at"], credit["key_id"], credit["auto"]) == (now, key_id(keyring, key), True)


def test_switching_reload_on_below_the_threshold_redeems_the_oldest_key_at_once(api, ctx, clock, keyring):
    account_id = api.running_account("10")
    first, second = key_of(ctx, 2_000), key_of(ctx, 2_000)  # ~12 days each
    deposit(api, account_id, first)
    clock.advance(1)
    deposit(api, account_id, second)
    clock.advance(40 * DAY)
    assert reload_on(api, account_id, 14)["status"] == "applied"  # ~20.9 days left: above 14, nothing yet
    assert len(api.account(account_id)["deposits"]) == 2
    assert reload_on(api, account_id, 28)["status"] == "applied"
    account = api.account(account_id)
    assert [d["key_id"] for d in account["deposits"]] == [key_id(keyring, second)]  # the oldest went first
    assert credits(api, account_id)[-1]["at"] == clock.now


def test_a_reload_resumes_a_suspended_account_and_re_rates_it_at_the_list_in_force_R24(api, ctx, clock, keyring):
    account_id = api.running_account("10")
    end = api.account(account_id)["depletes_at"]
    clock.set(end + DAY)
    assert api.sweep().suspended == 1
    prices = admin.demo_pricelist()
    prices["version"] = "2099-01"
    for item in prices["items"]:
        item["monthly_milli"] *= 2
    admin.publish_prices(ctx, prices)
    assert reload_on(api, account_id, 14)["status"] == "applied"
    assert deposit(api, account_id, key_of(ctx, 20_000))["status"] == "applied"
    account = api.account(account_id)
    assert account["status"] == "active" and account["deposits"] == []
    [line] = account["pbxs"][0]["licenses"]
    # an automatic reload is an installation of iSC: a connection event at its second (R24, R23)
    assert (line["monthly_milli"], account["price_version"]) == (1000, "2099-01")
    assert account["rate_ticks_per_s"] == 2 * RATE


def test_a_reload_too_small_to_resume_is_credited_and_the_account_stays_suspended(api, ctx, clock):
    account_id = api.running_account("10")
    clock.set(api.account(account_id)["depletes_at"] + DAY)
    api.sweep()
    reload_on(api, account_id, 14)
    assert deposit(api, account_id, key_of(ctx, 100))["status"] == "applied"  # less than one day of rent
    account = api.account(account_id)
    assert account["status"] == "suspended" and account["deposits"] == []
    assert account["resume_needs_milli"] > 0


def test_a_withdrawn_key_can_then_be_used_anywhere(api, ctx, keyring):
    here, there = api.new_account(), api.new_account(name="Café Lumière")
    key = key_of(ctx, 3_000)
    assert deposit(api, here, key)["status"] == "applied"
    assert api.redeem(there, key)["rule"] == "key-used"
    assert deposit(api, there, key)["rule"] == "key-used"
    assert deposit(api, here, key)["rule"] == "key-used"  # held here already
    withdrawn = api.sync(api.op("withdraw_key", here, key_id=key_id(keyring, key))).result
    assert withdrawn["status"] == "applied"
    assert api.account(here)["deposits"] == [] and api.account(here)["balance_ticks"] == 0
    assert api.redeem(there, key)["status"] == "applied"
    assert api.account(there)["balance_ticks"] == ticks(3_000)
    again = api.sync(api.op("withdraw_key", here, key_id=key_id(keyring, key))).result
    assert (again["status"], again["code"]) == ("rejected", "deposit-unknown")


@pytest.mark.parametrize("days", [7, -14, 1.5, "28", True, 10**30])
def test_a_reload_threshold_other_than_0_14_or_28_is_bad_op_and_changes_nothing(api, days):
    account_id = api.new_account()
    before = api.snapshot()
    result = api.sync(api.op("update_account", account_id, auto_reload_days=days)).result
    assert (result["status"], result["rule"]) == ("rejected", "bad-op")
    assert result["code"] == "reload-days-invalid" and "14 or 28 days" in result["message"]
    assert api.snapshot() == before


def test_deleting_an_account_gives_its_held_keys_back(api, ctx, keyring):
    account_id, other = api.new_account(), api.new_account(name="Other")
    key = key_of(ctx, 1_000)
    deposit(api, account_id, key)
    api.applied(api.op("delete_account", account_id, confirm_forfeit_milli=0))
    assert api.redeem(other, key)["status"] == "applied"


def test_a_ledger_line_of_an_automatic_reload_names_its_key(api, ctx, clock, keyring):
    account_id = api.running_account("10")
    reload_on(api, account_id, 28)
    key = key_of(ctx, 1_000)
    deposit(api, account_id, key)
    clock.set(api.account(account_id)["reload_at"] + 5)
    api.sweep()
    lines = [line for line in api.ledger(account_id)["lines"] if line["kind"] == "credit"]
    assert [(line["key_id"], line["auto"]) for line in lines][0] == (key_id(keyring, key), True)
    assert lines[-1]["auto"] is False  # the load by hand


# --------------------------------------------------------------------------- mails (R24, R20)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_customer_is_mailed_at_each_reload_and_when_the_last_key_went(api, ctx, clock, sink, language):
    account_id = api.running_account("10", language=language)
    reload_on(api, account_id, 28)
    deposit(api, account_id, key_of(ctx, 5_000))
    clock.advance(1)
    deposit(api, account_id, key_of(ctx, 5_000))
    api.sweep()
    sink.take()
    clock.set(api.account(account_id)["reload_at"])
    assert api.sweep().reloads == 1
    [first] = sink.take()
    clock.set(api.account(account_id)["reload_at"])
    assert api.sweep().reloads == 1
    second, last = sink.take()
    assert api.sweep().mails_sent == 0  # each once
    if language == "en":
        assert first["Subject"] == "Boulangerie Émile: 5.000 iSC reloaded automatically"
        assert "Keys still held for automatic reload: 1" in text_of(first)
        assert "Keys still held for automatic reload: 0" in text_of(second)
        assert last["Subject"] == "Boulangerie Émile: the last key held for automatic reload was used"
        assert "Acme Telecom" in text_of(last)
    else:
        assert first["Subject"] == "Boulangerie Émile : 5,000 iSC rechargés automatiquement"
        assert "Clés encore déposées pour la recharge automatique : 1" in text_of(first)
        assert last["Subject"] == "Boulangerie Émile : la dernière clé déposée pour la recharge automatique a été utilisée"


def test_a_customer_with_enough_held_keys_is_not_told_to_buy(api, ctx, clock, sink):
    covered, bare = api.running_account("10"), api.running_account("10", name="Café Lumière")
    reload_on(api, covered, 28)
    for _ in range(3):
        deposit(api, covered, key_of(ctx, 10_000))
    end = api.account(bare)["depletes_at"]
    clock.set(end - 7 * 7 * DAY)  # the first reminder of the bare account (R20)
    api.sweep()
    subjects = [m["Subject"] for m in sink.take()]
    assert len(subjects) == 1 and subjects[0].startswith("The iSC credit of Café Lumière runs out on"), subjects
    clock.set(api.account(covered)["depletes_at"] - 7 * 7 * DAY)  # the bare credit's 7 weeks: keys cover them
    api.sweep()
    assert sink.take() == []


# --------------------------------------------------------------------------- races, on both databases


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_one_key_deposited_from_two_laptops_at_once_is_held_once(database_url, tmp_path):
    """Laptops deposit the same key on several accounts at the same moment: the database decides, once."""
    with LiveLicenseServer(tmp_path / "live", database_url=database_url) as server:
        token = server.add_technician("Acme Telecom", "Racer")
        [key] = server.issue_keys("25", 1)
        accounts = [str(uuid.uuid4()) for _ in range(6)]
        with server.client(token) as http:
            for account_id in accounts:
                http.post("/sync", json={"client_id": new_id(), "ops": [
                    {"op_id": new_id(), "kind": "create_account", "account_id": account_id, "name": "Racer",
                     "contact_email": "r@example.com", "cloud_contract": False}]}).raise_for_status()
        barrier = threading.Barrier(len(accounts))
        outcomes: dict[str, str] = {}

        def deposit_from_a_laptop(account_id: str) -> None:
            with httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                              timeout=30) as http:
                barrier.wait()
                body = http.post("/sync", json={"client_id": new_id(), "ops": [
                    {"op_id": new_id(), "kind": "deposit_key", "account_id": account_id, "key": key}]}).json()
                outcomes[account_id] = server.keyring.verify_envelope(body["results"][0])["rule"] or "applied"

        threads = [threading.Thread(target=deposit_from_a_laptop, args=(a,)) for a in accounts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"\n{database_url.split(':')[0]}: {sorted(outcomes.values())}")
        assert sorted(outcomes.values()) == ["applied"] + ["key-used"] * (len(accounts) - 1)
        [winner] = [a for a, outcome in outcomes.items() if outcome == "applied"]
        with server.ctx.engine.connect() as connection:
            rows = connection.execute(select(models.redeemed_keys)).mappings().all()
        assert [(row["account_id"], bool(row["held"])) for row in rows] == [(winner, True)]
        with server.client(token) as http:
            for account_id in accounts:
                payload = server.keyring.verify_envelope(http.get(f"/accounts/{account_id}").json(), "account")
                assert len(payload["deposits"]) == (1 if account_id == winner else 0)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_concurrent_sweeps_reload_each_key_once(database_url, tmp_path):
    with LiveLicenseServer(tmp_path / "live", database_url=database_url) as server:
        token = server.add_technician("Acme Telecom", "Sweeper")
        keys = server.issue_keys("10", 8)
        accounts = []
        with server.client(token) as http:
            def sync(*ops):
                body = http.post("/sync", json={"client_id": new_id(), "ops": list(ops)}).json()
                statuses = [server.keyring.verify_envelope(r)["status"] for r in body["results"]]
                assert statuses == ["applied"] * len(ops), body
                return body

            for index in range(4):
                account_id = str(uuid.uuid4())
                accounts.append(account_id)
                op = lambda kind, **f: {"op_id": new_id(), "kind": kind, "account_id": account_id, **f}  # noqa: E731
                sync(op("create_account", name=f"Shop {index}", contact_email="s@example.com", cloud_contract=False),
                     op("redeem_key", key=keys[2 * index]),
                     op("register_pbx", pbx_id="pbx-1", name="Main", serial=f"SN-{index}", platform="vmware",
                        firmware="13r2sr5", mode="rental"),
                     op("set_licenses", pbx_id="pbx-1", base_revision=1, items={IP_PORT: 10}),
                     op("update_account", auto_reload_days=28),
                     op("deposit_key", key=keys[2 * index + 1]))
            due = max(server.keyring.verify_envelope(http.get(f"/accounts/{a}").json(), "account")["reload_at"]
                      for a in accounts)
        server.clock.set(due + 60)
        barrier = threading.Barrier(4)
        reports = []

        def sweeper() -> None:
            barrier.wait()
            reports.append(sweep(server.ctx))

        threads = [threading.Thread(target=sweeper) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(report.reloads for report in reports) == 4
        with server.ctx.engine.connect() as connection:
            auto = connection.execute(select(models.ledger).where(models.ledger.c.auto)).all()
            held = connection.execute(select(models.redeemed_keys).where(models.redeemed_keys.c.held)).all()
        assert len(auto) == 4 and held == []
