"""Rotating the server's signing key (DESIGN §4, §5 TRUSTED_KEYS_DIR, §6 trusted keys; docs/operating.md), end to
end with a real app: the new kid's .pub goes to the apps first, then the server switches to the new key; what the
old kid signed — stored answers, activation keys sold before — still verifies wherever its .pub stays.

The keys are made by `license-server gen-key` with realistic kids; the server is real (HTTP on 127.0.0.1), the
app's store is real SQLCipher; the clock moves, nobody sleeps.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app import services
from app.clock import MovableClock
from app.models import AccountReplica, OpResult
from tests.support.license_server import LiveLicenseServer

from .conftest import FAST_KDF, PASSPHRASE, START

OLD, NEW = "vendor-2026", "vendor-2027"


def gen_key(kid: str, folder: Path) -> None:
    done = subprocess.run([str(Path(sys.executable).with_name("license-server")), "gen-key", "--kid", kid,
                           "--out", str(folder)], capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr


def kids_of(store, model) -> list[str]:
    """The kid of every stored envelope of a kind, after checking each with the app's trusted keys now."""
    with store.unit_of_work() as uow:
        envelopes = [json.loads(text) for text in uow.session.execute(select(model.envelope)).scalars()]
    kind = "account" if model is AccountReplica else "op-result"
    for envelope in envelopes:
        store.keyring.verify_envelope(envelope, kind)  # raises on an unknown kid or a bad signature
    return sorted(envelope["kid"] for envelope in envelopes)


def balance_of(store, account_id: str) -> int:
    with store.unit_of_work() as uow:
        text = uow.session.execute(select(AccountReplica.envelope).where(
            AccountReplica.account_id == account_id)).scalar_one()
    return store.keyring.verify_envelope(json.loads(text), "account")["balance_ticks"]


def test_a_key_rotation_published_to_the_apps_first_keeps_every_old_answer_and_key_valid(tmp_path):
    vendor = tmp_path / "vendor-keys"  # the vendor's safe: both private keys
    gen_key(OLD, vendor)
    gen_key(NEW, vendor)
    server_trusted = tmp_path / "server-trusted"  # TRUSTED_KEYS_DIR after the switch: the old kid's .pub only
    server_trusted.mkdir()
    shutil.copy(vendor / f"{OLD}.pub", server_trusted)
    app_keys = tmp_path / "app-keys"  # a laptop's trusted keys: it ships with the old kid's .pub
    app_keys.mkdir()
    shutil.copy(vendor / f"{OLD}.pub", app_keys)
    lagging_keys = tmp_path / "lagging-keys"  # a laptop that was not given the new .pub
    shutil.copytree(app_keys, lagging_keys)

    clock = MovableClock(START)
    server = LiveLicenseServer(tmp_path / "server", clock=clock,
                               config={"SIGNING_KEY_PATH": str(vendor / f"{OLD}.key")}).start()
    stores = []
    try:
        token = server.add_technician("Acme Partners", "Ann")
        sold_before, kept_for_later = server.issue_keys("100", 2)  # signed by the old kid, sold to customers
        store = services.initialise(tmp_path / "laptop", PASSPHRASE, server.url, token, keys_dir=app_keys,
                                    kdf=FAST_KDF)
        lagging = services.initialise(tmp_path / "lagging", PASSPHRASE, server.url, token, keys_dir=lagging_keys,
                                      kdf=FAST_KDF)
        stores += [store, lagging]
        account = services.create_account(store.unit_of_work(), clock, "Acme Dental", "office@acme-dental.example")
        account_id = account.account_id
        services.load_key(store.unit_of_work(), clock, account_id, sold_before)
        report = services.sync_now(store, clock)
        assert report.ok and report.applied == 2, report
        assert services.sync_now(lagging, clock).ok
        assert kids_of(store, OpResult) == [OLD, OLD]
        assert kids_of(store, AccountReplica) == [OLD]

        # 1. The new kid's .pub goes to the apps first (their trusted keys); they trust both from their next start.
        shutil.copy(vendor / f"{NEW}.pub", app_keys)
        store.close()
        store = services.unlock(tmp_path / "laptop", PASSPHRASE, keys_dir=app_keys)
        stores.append(store)
        assert sorted(k.kid for k in services.trusted_key_fingerprints(store)) == [OLD, NEW]

        # 2. The server switches to the new key; the old kid's .pub stays in its TRUSTED_KEYS_DIR.
        server.config.update(SIGNING_KEY_PATH=str(vendor / f"{NEW}.key"), TRUSTED_KEYS_DIR=str(server_trusted))
        server.restart()
        clock.advance(3600)
        # A key sold before the switch still loads: the app checks it offline, the server accepts its kid.
        services.load_key(store.unit_of_work(), clock, account_id, kept_for_later)
        report = services.sync_now(store, clock)
        assert report.ok and report.applied == 1, report
        assert balance_of(store, account_id) == 200_000 * 31_557_600  # both keys' 100 iSC, nothing rented
        # New answers carry the new kid; the answers the old kid signed still verify beside them.
        assert kids_of(store, OpResult) == [OLD, OLD, NEW]
        assert kids_of(store, AccountReplica) == [NEW]
        with store.unit_of_work() as uow:
            assert uow.session.execute(select(OpResult)).scalars().all()  # kept, not dropped for their old kid

        # The laptop that missed step 1 refuses the new server's answers: this is why the .pub goes first.
        before = kids_of(lagging, AccountReplica)
        report = services.sync_now(lagging, clock)
        assert not report.ok or report.refused, report
        assert kids_of(lagging, AccountReplica) == before == [OLD]  # what it held is untouched, still verifiable
        # Once it is given the .pub, it catches up.
        shutil.copy(vendor / f"{NEW}.pub", lagging_keys)
        lagging.close()
        lagging = services.unlock(tmp_path / "lagging", PASSPHRASE, keys_dir=lagging_keys)
        stores.append(lagging)
        assert services.sync_now(lagging, clock).ok
        assert kids_of(lagging, AccountReplica) == [NEW] and balance_of(lagging, account_id) == \
            balance_of(store, account_id)

        # Without the old .pub in TRUSTED_KEYS_DIR, the server would refuse keys sold before the switch.
        sold_late = _issue_with(vendor / f"{OLD}.key", server)
        server.config.pop("TRUSTED_KEYS_DIR")
        server.restart()
        services.load_key(store.unit_of_work(), clock, account_id, sold_late)  # the app still trusts it
        report = services.sync_now(store, clock)
        assert report.rejected == 1, report
        [refused] = services.account_detail(store.unit_of_work(), clock, account_id).ops
        assert refused.state == "rejected" and refused.rule == "key-invalid", refused
    finally:
        for made in stores:
            made.close()
        server.stop()


def _issue_with(key_path: Path, server) -> str:
    """An activation key signed by the old private key (a reseller's stock printed before the switch)."""
    from rental.signing import load_signing_key

    return load_signing_key(key_path).issue_key(50_000, server.clock.now() - 7200)


@pytest.mark.parametrize("link_secret", [None, "a-link-secret-of-the-vendor-0123456789abcdef"])
def test_customer_links_outlive_a_key_rotation_only_when_link_secret_is_set(tmp_path, link_secret):
    """R27's links are keyed by LINK_SECRET, else by a secret derived from the signing key: docs/operating.md says
    to set LINK_SECRET before rotating, or every customer's link changes with the key."""
    from license_server import links
    from tests.server.helpers import Api

    vendor = tmp_path / "vendor-keys"
    gen_key(OLD, vendor)
    gen_key(NEW, vendor)
    config = {"SIGNING_KEY_PATH": str(vendor / f"{OLD}.key"), "PUBLIC_URL": "https://licenses.example.com",
              **({"LINK_SECRET": link_secret} if link_secret else {})}
    with LiveLicenseServer(tmp_path / "server", clock=MovableClock(START), config=config) as server:
        http = httpx.Client(base_url=server.url, timeout=30)
        keyring = server.ctx.keyring
        api = Api.for_http(http, server.add_technician(), server.ctx, server.clock, keyring)
        account_id = api.new_account()
        token = links.renew(server.ctx, account_id).url.rpartition("/")[2]
        assert http.get(f"/customer/{token}").status_code == 200
        server.config["SIGNING_KEY_PATH"] = str(vendor / f"{NEW}.key")
        server.restart()
        after = http.get(f"/customer/{token}").status_code
        http.close()
    assert after == (200 if link_secret else 404)
