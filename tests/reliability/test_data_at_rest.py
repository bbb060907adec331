"""A lost laptop or a copied backup gives away no customer data: the store and the backup hold only ciphertext.

The store is filled the way a technician fills it (accounts, PBXs, a key, a sync that brings
back signed snapshots and ledger lines), then every byte on disk — the store, its WAL, its
header, the backup file — is searched for what identifies a customer, written plainly, in
UTF-16, or inside the base64 of a signed envelope.
"""

from __future__ import annotations

import base64
from pathlib import Path

from app import services
from app.clock import MovableClock
from tests.support.license_server import LiveLicenseServer

from .app_worker import FAST_KDF
from .figures import record

PASSPHRASE = "correct horse battery staple"
CUSTOMER = ["Boulangerie Zéphyrine", "zephyrine.compta@example.org", "SN-ZEPHYR-77123", "Fournil Principal"]


def spellings(secret: str) -> list[bytes]:
    """The ways a secret could sit in a file: UTF-8, UTF-16, and inside base64 at each of its 3 alignments."""
    raw = secret.encode()
    found = [raw, secret.encode("utf-16-le"), secret.lower().encode()]
    for shift in range(3):
        encoded = base64.urlsafe_b64encode(b"\0" * shift + raw).rstrip(b"=")
        found.append(encoded[4 * ((shift + 2) // 3) + 1 : -2])  # the part that depends on the secret alone
    return [spelling for spelling in found if len(spelling) >= 6]


def readable(data: bytes) -> list[str]:
    return [secret for secret in CUSTOMER if any(spelling in data for spelling in spellings(secret))]


def test_the_store_its_wal_its_header_and_the_backup_hold_no_readable_customer_data(tmp_path):
    with LiveLicenseServer(tmp_path / "server") as server:
        token = server.add_technician("Acme Telecom", "Ann")
        [key] = server.issue_keys("300", 1)
        home = tmp_path / "laptop"
        store = services.initialise(home, PASSPHRASE, server_url=server.url, token=token, demo=True, kdf=FAST_KDF)
        clock = MovableClock(server.clock.now)
        try:
            account = services.create_account(store.unit_of_work(), clock, CUSTOMER[0], CUSTOMER[1]).account_id
            pbx = services.register_pbx(store.unit_of_work(), clock, account, name=CUSTOMER[3], serial=CUSTOMER[2],
                                        platform="vmware", firmware="14r1").pbx_id
            services.load_key(store.unit_of_work(), clock, account, key)
            assert services.sync_now(store, clock).ok
            services.set_licenses(store.unit_of_work(), clock, account, pbx, {"01-00010-001": 3}, confirm=True)
            assert services.sync_now(store, clock).ok
            # The control: the data really is in the store (it opens and shows it).
            view = services.account_detail(store.unit_of_work(), clock, account)
            assert view.name == CUSTOMER[0] and view.pbxs[0].serial == CUSTOMER[2]
            files = {path.name: path.read_bytes() for path in home.iterdir() if path.is_file()}
            backup = services.export_backup(store, tmp_path / "exports" / "friday")
            files[backup.name] = Path(backup).read_bytes()
        finally:
            store.close()
    assert "store.db" in files and any(name.endswith(".rentdesk-backup") for name in files)
    leaks = {name: readable(data) for name, data in files.items() if readable(data)}
    assert not leaks, f"customer data readable on disk: {leaks}"
    assert not [name for name, data in files.items() if token.encode() in data], "the token is readable on disk"
    assert not [name for name, data in files.items() if PASSPHRASE.encode() in data]
    record("data_at_rest", files_checked=sorted(files), bytes_checked=sum(len(data) for data in files.values()),
           secrets_searched=len(CUSTOMER) + 2, readable_found=0)


def test_the_search_finds_customer_data_where_it_is_in_clear():
    """The control for the search itself: a plain, a UTF-16 and a base64'd copy are all found."""
    envelope_payload = base64.urlsafe_b64encode(b'{"name":"' + CUSTOMER[0].encode() + b'"}')
    for data in (CUSTOMER[0].encode(), CUSTOMER[1].encode("utf-16-le"), b"xx" + envelope_payload + b"yy"):
        assert readable(b"\x00junk" + data + b"junk"), data
