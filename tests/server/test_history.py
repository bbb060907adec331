"""The account's history (R25): every event with its second and its technician, newest first, paged, private."""

from __future__ import annotations

import json

import pytest

from license_server import admin

from .helpers import DAY, IP_PORT, UC, Api, new_id

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

#: Realistic: the longest name an account may have (200 characters), French, and technicians with accents.
LONG_NAME = ("Société d'exploitation des Thermes et de l'Hôtel-Dieu de Châtel-Guyon — "
             * 5)[:200]
ANNE = "Anne-Sophie Lefèvre-Dubois"
EMILIE = "Émilie Tréguier"


@pytest.fixture
def anne(app, ctx, clock, keyring) -> Api:
    return Api.for_flask(app.test_client(), admin.add_technician(ctx, "Acme Télécom", ANNE), ctx, clock, keyring)


@pytest.fixture
def emilie(app, ctx, clock, keyring) -> Api:
    """A colleague of Anne, same partner."""
    return Api.for_flask(app.test_client(), admin.add_technician(ctx, "Acme Télécom", EMILIE), ctx, clock, keyring)


def history(api: Api, account_id: str, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, body = api.call("GET", f"/accounts/{account_id}/history" + (f"?{query}" if query else ""))
    assert status == 200, body
    return body


def lines(body: dict) -> list[tuple]:
    return [(e["at"], e["kind"], e["technician"], e["params"]) for e in body["events"]]


def test_history_lists_every_event_of_a_scripted_account_with_its_second_and_technician(anne, emilie, clock, ctx):
    t0 = clock.now
    account_id = new_id()
    anne.applied(anne.op("create_account", account_id, name=LONG_NAME, contact_email="accueil@thermes.fr",
                         cloud_contract=False, language="fr"))
    clock.advance(60)
    [key] = admin.issue_keys(ctx, 1000, 1)  # 1 iSC
    assert anne.redeem(account_id, key)["status"] == "applied"
    key_id = admin_key_id(ctx, key)
    clock.advance(60)
    assert anne.register(account_id, "pbx-1", name="Standard de l'Hôtel-Dieu", serial="SN-0042-HD")["status"] == "applied"
    clock.advance(60)
    assert anne.set_licenses(account_id, {IP_PORT: 2})["status"] == "applied"  # 1 iSC a month: ~30 days
    clock.advance(60)
    emilie.applied(emilie.op("update_pbx", account_id, pbx_id="pbx-1", base_revision=emilie.pbx_revision(account_id),
                             firmware="14r1"))
    clock.advance(60)
    assert emilie.register(account_id, "pbx-2", name="Annexe", serial="SN-0043-AN", mode="purchased",
                           firmware="13r1")["status"] == "applied"
    clock.advance(60)
    emilie.applied(emilie.op("update_pbx", account_id, pbx_id="pbx-2", base_revision=1, mode="rental",
                             purchased_removed=True))
    depletes_at = anne.account(account_id)["depletes_at"]
    assert depletes_at is not None
    clock.set(depletes_at + 5 * DAY)
    anne.sweep()  # the stop, found by the sweep: nobody's op
    clock.advance(3600)
    [big] = admin.issue_keys(ctx, 5000, 1)
    assert emilie.redeem(account_id, big)["status"] == "applied"  # resumes at once (R18)
    resumed_at = clock.now
    clock.advance(600)
    assert emilie.set_licenses(account_id, {IP_PORT: 1, UC: 1})["status"] == "applied"
    clock.advance(600)
    anne.applied(anne.op("remove_pbx", account_id, pbx_id="pbx-1", base_revision=anne.pbx_revision(account_id)))
    removed_at = clock.now
    anne.applied(anne.op("remove_pbx", account_id, pbx_id="pbx-2", base_revision=anne.pbx_revision(account_id, "pbx-2")))
    retained = anne.account(account_id)
    held_milli = retained["balance_ticks"] // 31_557_600
    clock.set(retained["retained_until"] + 1)
    anne.sweep()  # R19: the credit expires, by nobody
    clock.advance(60)
    anne.applied(anne.op("delete_account", account_id, confirm_forfeit_milli=0))

    assert lines(history(anne, account_id)) == [
        (clock.now, "deleted", ANNE, {"amount_milli": 0}),
        (retained["retained_until"], "expired", None, {"amount_milli": held_milli}),
        (removed_at, "pbx-removed", ANNE, {"pbx": "Annexe", "pbx_id": "pbx-2", "serial": "SN-0043-AN"}),
        (removed_at, "pbx-removed", ANNE, {"pbx": "Standard de l'Hôtel-Dieu", "pbx_id": "pbx-1",
                                           "serial": "SN-0042-HD"}),
        (resumed_at + 600, "licenses-changed", EMILIE, {
            "pbx": "Standard de l'Hôtel-Dieu", "pbx_id": "pbx-1",
            "changes": [f"{IP_PORT}: 2 → 1", f"{UC}: 0 → 1"], "refs": [IP_PORT, UC], "from_qty": [2, 0],
            "to_qty": [1, 1]}),
        (resumed_at, "resumed", EMILIE, {}),
        (resumed_at, "key-loaded", EMILIE, {"key_id": admin_key_id(ctx, big), "amount_milli": 5000}),
        (depletes_at, "suspended", None, {}),
        (t0 + 360, "pbx-to-rental", EMILIE, {"pbx": "Annexe", "pbx_id": "pbx-2"}),
        (t0 + 300, "pbx-registered-purchased", EMILIE, {"pbx": "Annexe", "pbx_id": "pbx-2", "serial": "SN-0043-AN"}),
        (t0 + 240, "pbx-edited", EMILIE, {"pbx": "Standard de l'Hôtel-Dieu", "pbx_id": "pbx-1",
                                          "changes": [{"field": "firmware", "to": "14r1"}]}),
        (t0 + 180, "licenses-changed", ANNE, {"pbx": "Standard de l'Hôtel-Dieu", "pbx_id": "pbx-1",
                                              "changes": [f"{IP_PORT}: 0 → 2"], "refs": [IP_PORT], "from_qty": [0],
                                              "to_qty": [2]}),
        (t0 + 120, "pbx-registered-rental", ANNE, {"pbx": "Standard de l'Hôtel-Dieu", "pbx_id": "pbx-1",
                                                   "serial": "SN-0042-HD"}),
        (t0 + 60, "key-loaded", ANNE, {"key_id": key_id, "amount_milli": 1000}),
        (t0, "created", ANNE, {"name": LONG_NAME}),
    ]


def test_each_event_carries_its_code_and_english_wording(anne):
    account_id = anne.running_account("100", {IP_PORT: 3})
    newest = history(anne, account_id)["events"][0]
    assert newest["code"] == "event-licenses-changed"
    assert newest["message"] == "Licenses of PBX Main office changed: 01-00010-001: 0 → 3"


def test_a_stop_found_inside_an_op_is_recorded_before_it_at_its_own_second(anne, clock, ctx):
    account_id = anne.running_account("1", {IP_PORT: 2})
    depletes_at = anne.account(account_id)["depletes_at"]
    clock.set(depletes_at + DAY)
    opened = history(anne, account_id)  # every answer is as of now: the stop shows before the sweep wrote it
    assert opened["events"][0] == {"id": None, "at": depletes_at, "kind": "suspended", "technician": None, "by": None,
                                   "code": "event-suspended", "params": {},
                                   "message": "Suspended: the credit was used up, the installations stopped"}
    anne.load(account_id, "10")  # the load settles past the end first: stop, load, resume
    assert [(e["at"], e["kind"]) for e in history(anne, account_id)["events"][:3]] == [
        (clock.now, "resumed"), (clock.now, "key-loaded"), (depletes_at, "suspended")]
    anne.sweep()
    assert [e["kind"] for e in history(anne, account_id)["events"]].count("suspended") == 1


def test_history_pages_newest_first_with_limit_and_before(anne, clock):
    account_id = anne.new_account(name=LONG_NAME)
    for number in range(24):
        clock.advance(1)
        anne.applied(anne.op("update_account", account_id, name=f"Thermes n°{number}"))
    everything = history(anne, account_id)["events"]
    assert len(everything) == 25 and everything[-1]["kind"] == "created"
    assert everything[0]["params"] == {"changes": [{"field": "name", "to": "Thermes n°23"}]}
    pages, params = [], {"limit": 10}
    while True:
        body = history(anne, account_id, **params)
        pages.append(body["events"])
        if body["next_before"] is None:
            break
        params = {"limit": 10, "before": body["next_before"]}
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [e for page in pages for e in page] == everything
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids, reverse=True)


def test_another_partners_account_history_is_404_and_reveals_nothing(anne, rival):
    account_id = anne.running_account()
    status, body = rival.call("GET", f"/accounts/{account_id}/history")
    assert (status, body["error"]) == (404, "not-found")
    status, unknown = rival.call("GET", f"/accounts/{new_id()}/history")
    assert (status, unknown) == (404, body)


def test_a_refused_op_leaves_no_event(anne):
    account_id = anne.new_account()
    before = history(anne, account_id)["events"]
    assert anne.set_licenses(account_id, {IP_PORT: 5}, pbx_id="nowhere", base_revision=1)["status"] == "rejected"
    assert history(anne, account_id)["events"] == before


def test_bad_paging_arguments_are_422(anne):
    account_id = anne.new_account()
    for query in ("limit=0", "limit=1001", "before=-1", "before=abc"):
        status, body = anne.call("GET", f"/accounts/{account_id}/history?{query}")
        assert (status, body["error"]) == (422, "bad-request"), query


def admin_key_id(ctx, key: str) -> str:
    return ctx.keyring.read_key(key).key_id_hex


def test_an_upgrade_gives_accounts_made_before_the_history_their_creation_event(database_url, ctx, clock):
    from sqlalchemy import text

    from license_server import migrations
    from license_server.db import make_engine

    engine = make_engine(database_url)
    try:
        _downgrade(engine, "0004")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO partners (name, created_at) VALUES ('Acme Télécom', :t)"), {"t": 1})
            connection.execute(text(
                "INSERT INTO accounts (id, partner, name, contact_email, cloud_contract, language, revision, as_of, "
                "balance_ticks, rate_ticks_per_s, suspended, deleted, last_activity_at, created_at) VALUES "
                "(:id, 'Acme Télécom', :name, 'a@b.fr', false, 'fr', 1, :t, 0, 0, false, false, :t, :t)"),
                {"id": "6c1d0a4e-3f5b-4a8e-9d2c-0b7e1f2a3c4d", "name": LONG_NAME, "t": 1_700_000_000})
        migrations.upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT account_id, at, kind, technician, params FROM history")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("6c1d0a4e-3f5b-4a8e-9d2c-0b7e1f2a3c4d", 1_700_000_000, "created", None,
                                             json.dumps({"name": LONG_NAME}))]


def _downgrade(engine, revision: str) -> None:
    from alembic import command

    from license_server.migrations import alembic_config

    command.downgrade(alembic_config(engine), revision)


def test_held_keys_withdrawals_and_automatic_reloads_are_in_the_history_at_their_seconds(anne, ctx, clock, keyring):
    # R24, R25: a key held, one given back, and the reload the sweep writes down at its exact second, by nobody
    from .test_reload import deposit, key_of, reload_on

    account_id = anne.running_account("10")
    t0 = clock.now
    first, second = key_of(ctx, 5_000), key_of(ctx, 2_000)
    assert deposit(anne, account_id, first)["status"] == "applied"
    assert deposit(anne, account_id, second)["status"] == "applied"
    second_id = keyring.read_key(second).key_id_hex
    assert anne.sync(anne.op("withdraw_key", account_id, key_id=second_id)).result["status"] == "applied"
    assert reload_on(anne, account_id, 28)["status"] == "applied"
    reload_at = anne.account(account_id)["reload_at"]
    clock.set(reload_at + 3 * DAY)
    anne.sweep()
    events = [(e["at"], e["kind"], e["technician"], e["params"].get("amount_milli"))
              for e in history(anne, account_id)["events"]]
    assert events[0] == (reload_at, "key-reloaded", None, 5_000)  # newest first: the sweep's, at its second
    assert (t0, "key-withdrawn", ANNE, 2_000) in events
    assert [kind for _at, kind, _who, _amount in events].count("key-deposited") == 2
