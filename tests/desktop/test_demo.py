"""`rentdesk demo` runs the whole system on one laptop; the demo key it signs with is trusted by the
demo only: a normal start refuses every answer signed with it (DESIGN §4)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from app import services
from app.clock import SystemClock
from app.demo import DEMO_ACCOUNT, DEMO_KEYS_MILLI, DEMO_PASSPHRASE, start_license_server
from rental.errors import SignatureError
from rental.signing import Keyring

from .helpers import ROOT, open_session, press_sync, rentdesk, unlock_and_sync

PASSPHRASE = "a normal laptop passphrase"


def test_rentdesk_demo_brings_up_a_license_server_and_an_app_that_syncs_with_it():
    with rentdesk("demo", "--serve") as demo:
        launch = demo.launch_url()
        banner = "".join(demo.stdout)
        folder = Path(re.search(r"data folder\s+(\S+)", banner).group(1))
        server = re.search(r"license server\s+(http://127\.0\.0\.1:\d+)", banner).group(1)
        keys = re.findall(r"ISC1-[0-9A-Z-]+", banner)
        assert f"passphrase       {DEMO_PASSPHRASE}" in banner
        assert len(keys) == sum(count for _amount, count in DEMO_KEYS_MILLI)
        assert banner.count("(loaded on the demo account)") == 1

        health = httpx.get(server + "/api/v1/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"

        # the keys shown are real activation keys, signed with the demo key
        demo_ring = Keyring.from_dir(ROOT / "keys", include_demo=True)
        amounts = sorted(demo_ring.read_key(key).amount_milli for key in keys)
        assert amounts == sorted(a for a, n in DEMO_KEYS_MILLI for _ in range(n))

        with open_session(launch) as (client, first_page):
            # no set-up, no passphrase: the demo opens on its customer account, credit confirmed
            assert first_page.url.path.startswith("/accounts")
            assert DEMO_ACCOUNT[0] in first_page.text
            assert "Sync complete." in press_sync(client).text
            rental = client.get("/rental/")  # the demo terms (R26), English and French
            assert "Software rental" in rental.text and "version demo-" in rental.text
        assert folder.is_dir()
        assert demo.stop() == 0
    assert not folder.exists(), "the throwaway demo folder outlived the demo"


def test_a_demo_kept_with_home_comes_back_with_its_account_on_a_new_server_port(tmp_path):
    for _run in range(2):
        with rentdesk("demo", "--serve", "--home", str(tmp_path)) as demo:
            with open_session(demo.launch_url()) as (client, first_page):
                assert DEMO_ACCOUNT[0] in first_page.text
                assert "Sync complete." in press_sync(client).text
            assert demo.stop() == 0
    assert (tmp_path / "app" / "store.db").exists()


def test_the_demo_account_accepted_the_demo_terms_and_its_key_is_loaded(tmp_path):
    from app import replica
    from app.demo import DEMO_SIGNATORY, prepare_store

    server = start_license_server(tmp_path / "server")
    try:
        loaded = prepare_store(tmp_path / "app", server)
        assert loaded == server.keys[0][1]
        store = services.unlock(tmp_path / "app", DEMO_PASSPHRASE, demo=True)
        try:
            with store.unit_of_work() as uow:
                [row] = uow.replica.all_accounts()
                payload = replica.account_payload(row)
            assert payload["terms_version"].startswith("demo-") and payload["terms_accepted_by"] == DEMO_SIGNATORY
            assert payload["balance_ticks"] > 0  # the create was applied, so the key was too
        finally:
            store.close()
    finally:
        server.stop()


def test_the_demo_account_runs_with_automatic_reload_on_and_a_key_held(tmp_path):
    from app import replica
    from app.demo import held_key, prepare_store

    server = start_license_server(tmp_path / "server")
    try:
        prepare_store(tmp_path / "app", server)
        store = services.unlock(tmp_path / "app", DEMO_PASSPHRASE, demo=True)
        try:
            with store.unit_of_work() as uow:
                [row] = uow.replica.all_accounts()
                payload = replica.account_payload(row)
        finally:
            store.close()
        held = Keyring.from_dir(ROOT / "keys" / "demo").read_key(held_key(server))
        assert payload["auto_reload_days"] == 28 and payload["status"] == "active"
        assert [d["key_id"] for d in payload["deposits"]] == [held.key_id_hex]
        assert payload["reload_at"] == payload["depletes_at"] - 28 * 86_400
    finally:
        server.stop()


def test_activation_keys_signed_with_the_demo_key_do_not_verify_in_a_normal_keyring(tmp_path):
    server = start_license_server(tmp_path / "server")
    try:
        key = server.keys[0][1]
        with pytest.raises(SignatureError, match="signing key demo, which is not trusted here"):
            Keyring.from_dir(ROOT / "keys").read_key(key)
    finally:
        server.stop()


def test_a_normal_start_refuses_answers_signed_with_the_demo_key(tmp_path):
    server = start_license_server(tmp_path / "server")
    home = tmp_path / "laptop"
    try:
        services.initialise(home, PASSPHRASE, server.url, server.token).close()  # demo=False: a normal laptop
        store = services.unlock(home, PASSPHRASE)
        services.create_account(store.unit_of_work(), SystemClock(), "Hotel du Lac", "it@hotel-du-lac.example")
        store.close()

        with rentdesk("serve", "--home", str(home)) as app:  # a normal start, as `rentdesk` makes it
            with open_session(app.launch_url()) as (client, _page):
                result = unlock_and_sync(client, PASSPHRASE)
                assert "The sync did not complete." in result.text
                text = result.text.replace("&#39;", "'")
                assert "signs its answers with key 'demo', which this RentDesk does not trust" in text
            assert app.stop() == 0
    finally:
        server.stop()

    store = services.unlock(home, PASSPHRASE)
    try:
        status = services.sync_status(store.unit_of_work())
        assert status.queued == 1  # nothing of the answer was believed: the change is still waiting
        assert any("demo" in refusal.reason for refusal in status.refusals)
        assert services.current_pricelist(store.unit_of_work()) is None
    finally:
        store.close()
