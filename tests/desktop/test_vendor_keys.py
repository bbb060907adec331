"""Vendor keys without administrator rights (DESIGN §6 "Trusted keys", issue 25): the technician's own keys
folder is read beside the bundle's keys/, and the first-run screen imports a vendor's `<kid>.pub` there after
showing its fingerprint to compare. The non-root import of the installed program is in test_bundle.py."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app import create_app, paths, services
from app.trusted_keys import MAX_KEY_FILE, KeyFile, read_key_file, save_key
from app.web.security import csrf_token
from rental.errors import RuleViolation
from rental.signing import Keyring, SigningKey, write_key_pair
from tests.support.license_server import LiveLicenseServer
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery"
FAST_KDF = {"name": "scrypt", "n": 2**10, "r": 8, "p": 1}


def words(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
def vendor(tmp_path):
    """The vendor's key pair as `license-server gen-key --kid vendor-2026` makes it."""
    private, public = write_key_pair("vendor-2026", tmp_path / "vendor")
    return private, public


@pytest.fixture
def shipped(tmp_path):
    """The bundle's keys/ folder: read-only to a technician, holding no vendor key here."""
    folder = tmp_path / "bundle-keys"
    folder.mkdir()
    return folder


@pytest.fixture
def launched(tmp_path, shipped):
    """The first-run screen of a fresh install, in the window (launch cookie held)."""
    made = []

    def launch(language: str | None = None):
        app = create_app({"RENTDESK_HOME": str(tmp_path / "home"), "TESTING": True, "KEYS_DIR": str(shipped),
                          "BACKGROUND_SYNC": False, "STORE_KDF": FAST_KDF, "LANGUAGE": language})
        made.append(app)
        client = app.test_client()
        assert client.get("/launch?secret=" + app.config["LAUNCH_SECRET"]).status_code == 302
        return app, client, csrf_token(app)

    yield launch
    for app in made:
        app.extensions["rentdesk.shutdown"]()


def upload(client, csrf, name: str, data: bytes):
    from io import BytesIO

    return client.post("/first-run/keys", data={"csrf_token": csrf, "key_file": (BytesIO(data), name)},
                       content_type="multipart/form-data")


def compared(page: str) -> dict:
    """The hidden fields of the "trust this key" form the compare step shows."""
    fields = dict(re.findall(r'<input type="hidden" name="(kid|pem|fingerprint)" value="([^"]*)"', page, re.S))
    return {name: html.unescape(value) for name, value in fields.items()}


# --------------------------------------------------------------------------- where the keys are


def test_the_keys_folder_sits_beside_a_chosen_data_folder_else_in_the_per_user_config_folder(tmp_path):
    import platformdirs

    assert paths.user_keys_dir(environ={"RENTDESK_HOME": str(tmp_path)}) == tmp_path / "keys"
    assert paths.user_keys_dir(tmp_path / "elsewhere", environ={}) == tmp_path / "elsewhere" / "keys"
    config = Path(platformdirs.user_config_dir("RentDesk", appauthor=False)) / "keys"
    assert paths.user_keys_dir(environ={}) == config
    assert paths.user_keys_dir(paths.data_dir({}), environ={}) == config  # the default data folder: config dir


def test_the_app_reads_the_technicians_folder_beside_the_bundles(tmp_path, shipped, vendor):
    home = tmp_path / "home"
    (home / "keys").mkdir(parents=True)
    (home / "keys" / "vendor-2026.pub").write_bytes(vendor[1].read_bytes())
    store = services.initialise(home, PASSPHRASE, kdf=FAST_KDF, keys_dir=(shipped, home / "keys"))
    try:
        assert "vendor-2026" in store.keyring
        signer = SigningKey.from_pem("vendor-2026", vendor[0].read_bytes())
        assert store.keyring.verify_envelope(signer.sign_envelope("pricelist", {"type": "pricelist"}))
    finally:
        store.close()


# --------------------------------------------------------------------------- reading a key file


def test_a_vendor_key_file_gives_its_name_and_the_fingerprint_to_compare(vendor):
    key = read_key_file("vendor-2026.pub", vendor[1].read_bytes())
    ring = Keyring().add("vendor-2026", vendor[1].read_bytes())
    assert (key.kid, key.fingerprint) == ("vendor-2026", ring.fingerprint("vendor-2026"))
    assert read_key_file(r"C:\fakepath\vendor-2026.pub", vendor[1].read_bytes()) == key  # a browser's path


def _rsa_less_public_pem() -> bytes:
    """A real public key file of another kind (ECDSA P-256) than the Ed25519 RentDesk uses."""
    return ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("name, data, code", [
    ("", b"", "key-file-missing"),
    ("vendor 2026.pub", None, "key-file-name"),
    ("vendor-2026.txt", None, "key-file-name"),
    ("vendor-2026.pub", b"-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n", "key-file-unreadable"),
    ("vendor-2026.pub", "private", "key-file-private"),
    ("vendor-2026.pub", "ecdsa", "key-file-not-ed25519"),
    ("vendor-2026.pub", b"x" * (MAX_KEY_FILE + 1), "key-file-too-large"),
    ("demo.pub", "demo", "key-file-demo"),
    ("renamed-demo.pub", "demo", "key-file-demo"),
])
def test_a_file_that_is_no_usable_vendor_key_is_refused_saying_why(vendor, name, data, code):
    data = {None: vendor[1].read_bytes(), "private": vendor[0].read_bytes(), "ecdsa": _rsa_less_public_pem(),
            "demo": (ROOT / "keys" / "demo" / "demo.pub").read_bytes()}.get(data, data)
    with pytest.raises(RuleViolation) as refused:
        read_key_file(name, data)
    assert (refused.value.rule, refused.value.code) == ("trusted-key", code)


# --------------------------------------------------------------------------- the first-run screen


def test_the_first_run_screen_imports_a_vendor_key_after_showing_its_fingerprint(launched, vendor, shipped, tmp_path):
    app, client, csrf = launched()
    first = words(client.get("/first-run").data.decode())
    assert "No trusted signing key yet" in first and "Import the vendor's key file" in first

    shown = upload(client, csrf, "vendor-2026.pub", vendor[1].read_bytes())
    page = shown.data.decode()
    fingerprint = Keyring().add("vendor-2026", vendor[1].read_bytes()).fingerprint("vendor-2026")
    assert shown.status_code == 200 and "Compare before you trust this key" in words(page)
    assert f'data-testid="candidate-fingerprint">{fingerprint}<' in page
    user_folder = Path(app.config["USER_KEYS_DIR"])
    assert user_folder == tmp_path / "home" / "keys" and not user_folder.exists()  # nothing trusted yet

    trusted = client.post("/first-run/keys/trust", data={"csrf_token": csrf, **compared(page)})
    assert trusted.status_code == 302 and trusted.headers["Location"].endswith("/first-run#trusted-keys")
    saved = user_folder / "vendor-2026.pub"
    assert saved.read_bytes().strip() == vendor[1].read_bytes().strip()
    assert saved.stat().st_mode & 0o777 == 0o600 and user_folder.stat().st_mode & 0o777 == 0o700
    assert list(shipped.iterdir()) == []  # the bundle's folder is never written
    after = words(client.get("/first-run").data.decode())
    assert "The key vendor-2026 is now trusted" in after
    assert f"vendor-2026 {fingerprint}" in after and "No trusted signing key yet" not in after


def test_a_key_imported_on_the_first_run_lets_the_technician_connect_to_the_vendors_server(launched, vendor, tmp_path):
    with LiveLicenseServer(tmp_path / "server", config={"SIGNING_KEY_PATH": str(vendor[0])}) as server:
        token = server.add_technician("Acme Partners", "Ann")
        _app, client, csrf = launched()
        form = {"csrf_token": csrf, "passphrase": PASSPHRASE, "confirm": PASSPHRASE, "server_url": server.url,
                "token": token, "mode": "online"}
        refused = words(client.post("/first-run", data=form).data.decode())
        assert "signs its answers with the key vendor-2026, which this RentDesk does not trust" in refused
        assert "import it under “Trusted signing keys” below" in refused

        page = upload(client, csrf, "vendor-2026.pub", vendor[1].read_bytes()).data.decode()
        client.post("/first-run/keys/trust", data={"csrf_token": csrf, **compared(page)})
        connected = client.post("/first-run", data=form, follow_redirects=True)
        assert "Connected as Ann, Acme Partners." in words(connected.data.decode())


def test_the_same_key_again_is_no_change_and_another_key_under_its_name_is_refused(launched, vendor, tmp_path):
    app, client, csrf = launched()
    page = upload(client, csrf, "vendor-2026.pub", vendor[1].read_bytes()).data.decode()
    client.post("/first-run/keys/trust", data={"csrf_token": csrf, **compared(page)})

    again = client.post("/first-run/keys", data={"csrf_token": csrf, "key_file": (vendor[1].open("rb"), "vendor-2026.pub")},
                        content_type="multipart/form-data", follow_redirects=True)
    assert "already trusted, with this same fingerprint: nothing to do" in words(again.data.decode())

    impostor = SigningKey.generate("vendor-2026").public_pem()
    refused = words(upload(client, csrf, "vendor-2026.pub", impostor).data.decode())
    held = Keyring().add("vendor-2026", vendor[1].read_bytes()).fingerprint("vendor-2026")
    assert f"Another key named vendor-2026 is already trusted (fingerprint {held})" in refused
    assert (Path(app.config["USER_KEYS_DIR"]) / "vendor-2026.pub").read_bytes().strip() == \
        vendor[1].read_bytes().strip()


def test_a_key_swapped_between_the_comparison_and_the_trust_is_not_saved(launched, vendor):
    app, client, csrf = launched()
    fields = compared(upload(client, csrf, "vendor-2026.pub", vendor[1].read_bytes()).data.decode())
    fields["pem"] = SigningKey.generate("vendor-2026").public_pem().decode()
    refused = words(client.post("/first-run/keys/trust", data={"csrf_token": csrf, **fields}).data.decode())
    assert "not the one whose fingerprint was shown" in refused
    assert not (Path(app.config["USER_KEYS_DIR"]) / "vendor-2026.pub").exists()


def test_a_bad_key_file_is_said_next_to_the_field_in_french(launched, vendor):
    _app, client, csrf = launched("fr")
    page = upload(client, csrf, "vendor-2026.pub", vendor[0].read_bytes())
    text = words(page.data.decode())
    assert page.status_code == 200 and 'id="key_file-error"' in page.data.decode()
    assert "contient une clé PRIVÉE" in text and "PRIVATE key" not in text
    assert "Importer le fichier de clé du fournisseur" in text


def test_a_file_in_the_keys_folder_that_cannot_be_trusted_is_named_on_the_first_run_and_left_out(
        launched, vendor, tmp_path):
    folder = tmp_path / "home" / "keys"
    folder.mkdir(parents=True)
    (folder / "broken.pub").write_text("not a key\n")
    (folder / "vendor-2026.pub").write_bytes(vendor[1].read_bytes())
    _app, client, _csrf = launched()
    page = words(client.get("/first-run").data.decode())
    assert "broken.pub in your keys folder is not trusted: “broken.pub” is not a public key file" in page
    assert "vendor-2026" in page and "No trusted signing key yet" not in page


def test_saving_a_key_where_the_folder_cannot_be_made_says_where_and_why(tmp_path, vendor):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    key = read_key_file("vendor-2026.pub", vendor[1].read_bytes())
    with pytest.raises(RuleViolation) as refused:
        save_key(blocker / "keys", KeyFile(key.kid, key.pem, key.fingerprint), key.fingerprint)
    assert refused.value.code == "key-file-unwritable" and str(blocker / "keys") in refused.value.message


def test_a_file_in_the_keys_folder_that_names_a_key_of_the_bundle_never_replaces_it(launched, vendor, shipped, tmp_path):
    (shipped / "vendor-2026.pub").write_bytes(vendor[1].read_bytes())
    folder = tmp_path / "home" / "keys"
    folder.mkdir(parents=True)
    (folder / "vendor-2026.pub").write_bytes(SigningKey.generate("vendor-2026").public_pem())
    app, client, _csrf = launched()
    page = words(client.get("/first-run").data.decode())
    bundle_fingerprint = Keyring().add("vendor-2026", vendor[1].read_bytes()).fingerprint("vendor-2026")
    assert f"vendor-2026.pub in your keys folder is not trusted: Another key named vendor-2026 is already " \
           f"trusted (fingerprint {bundle_fingerprint})" in page
    with app.test_request_context():
        from app.store import trusted_keyring
        from app.web.core import trusted_key_folders

        assert trusted_keyring(keys_dir=trusted_key_folders()).fingerprint("vendor-2026") == bundle_fingerprint


# --------------------------------------------------------------------------- a new key once set up (rotation)


def settings_upload(client, csrf, name: str, data: bytes):
    from io import BytesIO

    return client.post("/settings/keys", data={"csrf_token": csrf, "key_file": (BytesIO(data), name)},
                       content_type="multipart/form-data")


@pytest.fixture
def rotated(tmp_path, shipped, vendor):
    """A laptop set up online against a server signing with vendor-2026 (trusted from the technician's folder),
    its background syncer running, one account synced; then the vendor rotates to vendor-2027 (DESIGN §4: a new
    kid, the old one still verifies what it signed). Yields (app, client, csrf, server, token, new_public)."""
    from app.web.state import EXTENSION
    from tests.support.license_server import FakeClock

    private_2027, public_2027 = write_key_pair("vendor-2027", tmp_path / "vendor-next")
    home = tmp_path / "home"
    (home / "keys").mkdir(parents=True)
    (home / "keys" / "vendor-2026.pub").write_bytes(vendor[1].read_bytes())
    clock = FakeClock()
    server = LiveLicenseServer(tmp_path / "server", clock=clock, config={"SIGNING_KEY_PATH": str(vendor[0])}).start()
    app = create_app({"RENTDESK_HOME": str(home), "TESTING": True, "KEYS_DIR": str(shipped), "CLOCK": clock,
                      "BACKGROUND_SYNC": True, "STORE_KDF": FAST_KDF, "TIMEZONE": "UTC"})
    try:
        client = app.test_client()
        client.get("/launch?secret=" + app.config["LAUNCH_SECRET"])
        csrf = csrf_token(app)
        token = server.add_technician("Acme Telecom", "Ann")
        assert client.post("/first-run", data={"passphrase": PASSPHRASE, "confirm": PASSPHRASE, "mode": "online",
                                               "server_url": server.url, "token": token,
                                               "csrf_token": csrf}).status_code == 302
        syncer = app.extensions[EXTENSION].syncer
        assert wait_for(lambda: syncer.attempts >= 1)
        client.post("/accounts/new", data={"name": "Hôtel Azur", "contact_email": "it@azur.example",
                                           "language": "en", "csrf_token": csrf})
        with server.client(token) as api:
            assert wait_for(lambda: len(api.get("/accounts").json()["accounts"]) == 1)
        server.stop()
        server.config["SIGNING_KEY_PATH"] = str(private_2027)
        server.start()
        yield app, client, csrf, server, token, public_2027
    finally:
        app.extensions["rentdesk.shutdown"]()
        server.stop()


def test_a_vendor_key_rotated_after_setup_is_imported_in_settings_and_the_background_sync_believes_it_at_once(
        rotated):
    app, client, csrf, server, token, public_2027 = rotated
    from app.web.state import EXTENSION

    syncer = app.extensions[EXTENSION].syncer
    client.post("/accounts/new", data={"name": "Bistro Lune", "contact_email": "chef@lune.example",
                                       "language": "en", "csrf_token": csrf})  # queued: the syncer is poked
    refused = "signs its answers with key 'vendor-2027', which this RentDesk does not trust"
    assert wait_for(lambda: refused in words(client.get("/sync/").data.decode()))
    assert "import it in Settings, under “Trusted signing keys”" in words(client.get("/sync/").data.decode())
    store = app.extensions[EXTENSION].store

    def pending() -> int:
        with store.unit_of_work() as uow:
            return len(uow.outbox.pending())

    assert pending() == 1  # the server applied it, but nothing of its answer was believed: still queued here

    panel = client.get("/settings/").data.decode()
    assert 'action="/settings/keys#trusted-keys"' in panel  # the answer opens at the panel, the key to compare
    settings = words(panel)
    assert "Trusted signing keys" in settings and "vendor-2026" in settings and "vendor-2027" not in settings
    shown = settings_upload(client, csrf, "vendor-2027.pub", public_2027.read_bytes())
    page = shown.data.decode()
    fingerprint = Keyring().add("vendor-2027", public_2027.read_bytes()).fingerprint("vendor-2027")
    assert shown.status_code == 200 and "Compare before you trust this key" in words(page)
    assert f'data-testid="candidate-fingerprint">{fingerprint}<' in page
    assert 'action="/settings/keys/trust"' in page
    saved = Path(app.config["USER_KEYS_DIR"]) / "vendor-2027.pub"
    assert not saved.exists() and "vendor-2027" not in app.extensions[EXTENSION].store.keyring  # not yet

    attempts = syncer.attempts
    trusted = client.post("/settings/keys/trust", data={"csrf_token": csrf, **compared(page)})
    assert trusted.status_code == 302 and trusted.headers["Location"].endswith("/settings/#trusted-keys")
    assert saved.read_bytes().strip() == public_2027.read_bytes().strip()
    assert app.extensions[EXTENSION].store.keyring.fingerprint("vendor-2027") == fingerprint
    after = client.get("/settings/").data.decode()
    panel = after[after.index('id="trusted-keys"'):]  # said in the panel the page opens at, not above it
    assert "The key vendor-2027 is now trusted" in words(panel) and f"vendor-2027 {fingerprint}" in words(after)
    assert words(after).count("The key vendor-2027 is now trusted") == 1
    # no restart: the syncer, poked, sends the queued account again (applied once: the same op_id) and believes
    # the answer signed by the new key
    assert wait_for(lambda: syncer.attempts > attempts and pending() == 0)
    with store.unit_of_work() as uow:
        assert uow.settings.sync_state()["last_error"] is None  # the refusal is history now (the sync page's list)
    assert "Answers refused" in words(client.get("/sync/").data.decode())
    with server.client(token) as api:
        assert len(api.get("/accounts").json()["accounts"]) == 2


def test_settings_refuses_a_bad_key_file_or_another_key_under_a_trusted_name_and_trusts_nothing(rotated, vendor):
    app, client, csrf, _server, _token, _public = rotated
    from app.web.state import EXTENSION

    ring = app.extensions[EXTENSION].store.keyring
    kids = ring.kids
    private = settings_upload(client, csrf, "vendor-2027.pub", vendor[0].read_bytes())
    assert private.status_code == 200 and 'id="key_file-error"' in private.data.decode()
    assert "PRIVATE key" in words(private.data.decode())
    impostor = words(settings_upload(client, csrf, "vendor-2026.pub",
                                     SigningKey.generate("vendor-2026").public_pem()).data.decode())
    held = Keyring().add("vendor-2026", vendor[1].read_bytes()).fingerprint("vendor-2026")
    assert f"Another key named vendor-2026 is already trusted (fingerprint {held})" in impostor
    same = client.post("/settings/keys", data={"csrf_token": csrf, "key_file": (vendor[1].open("rb"), "vendor-2026.pub")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "already trusted, with this same fingerprint: nothing to do" in words(same.data.decode())
    assert ring.kids == kids and not (Path(app.config["USER_KEYS_DIR"]) / "vendor-2027.pub").exists()


def test_the_settings_key_panel_and_the_untrusted_key_reason_in_french(rotated):
    app, client, csrf, _server, _token, public_2027 = rotated
    client.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    page = words(client.get("/settings/").data.decode())
    assert "Clés de signature de confiance" in page and "Importer le fichier de clé du fournisseur" in page
    compare = words(settings_upload(client, csrf, "vendor-2027.pub", public_2027.read_bytes()).data.decode())
    assert "Comparez avant de vous fier à cette clé." in compare
    said = words(client.post("/sync/run", data={"csrf_token": csrf}).data.decode())
    assert "signe ses réponses avec la clé « vendor-2027 »" in said
    assert "importez-le dans les Réglages, sous « Clés de signature de confiance »" in said
    assert "Settings" not in said
