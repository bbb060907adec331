"""Issue 23, attack 3: a crafted backup or store header. The scrypt settings in a header are bounded before scrypt
runs (n=3, r=0, negative -> was HTTP 500; n=2^20, r=8, p=8 blocked 49 s; 2^24 tried to allocate 16 GiB), the
passphrase is checked on the store's first page before the rest is unpacked, the unpacking is streamed with a size
cap (a 2 MB zip unpacked to 2 GiB), and a damaged file is "this backup is damaged", never a crash.
Hypothesis fuzzes the header and the archive; the attack cases stay below as named tests.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from app import backup, paths, services
from app.store import BackupDamaged, Header, HeaderInvalid, StoreError, StoreExists, WrongPassphrase

PASSPHRASE = "a normal laptop passphrase"
KDF = {"name": "scrypt", "n": 2**10, "r": 8, "p": 1}
GOOD_SALT = "00" * 16


@pytest.fixture(scope="module")
def real_backup(tmp_path_factory) -> bytes:
    """The bytes of a real backup of a real store holding an account."""
    folder = tmp_path_factory.mktemp("real-backup")
    store = services.initialise(folder / "home", PASSPHRASE, kdf=KDF)
    from app.clock import SystemClock

    services.create_account(store.unit_of_work(), SystemClock(), "Hôtel du Lac", "it@hotel-du-lac.example")
    path = backup.export_backup(store, folder / "saved")
    store.close()
    return path.read_bytes()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rebuild(path: Path, entries: list[tuple[str, bytes]], compression=zipfile.ZIP_STORED) -> Path:
    import warnings

    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", compression=compression) as archive:
        warnings.simplefilter("ignore")  # a duplicate name is one of the crafted cases
        for name, data in entries:
            archive.writestr(name, data)
    return path


def header_with(**kdf) -> bytes:
    return json.dumps({"format": "rentdesk-store/1", "kdf": {"name": "scrypt", **kdf}, "salt": GOOD_SALT}).encode()


def restore(src, home) -> None:
    backup.import_backup(src, home, PASSPHRASE)


# ------------------------------------------------------------------ the attack cases of the issue


@pytest.mark.parametrize("kdf", [
    {"n": 3, "r": 8, "p": 1},  # not a power of two: was a 500
    {"n": 2**10, "r": 0, "p": 1},  # r=0: was a 500
    {"n": -1024, "r": 8, "p": 1},  # negative: was a 500
    {"n": 2**10, "r": 8, "p": -1},
    {"n": 2**20, "r": 8, "p": 8},  # 49 s of scrypt
    {"n": 2**24, "r": 8, "p": 1},  # 16 GiB of memory
    {"n": 2**15, "r": 8, "p": 16},  # within each bound, too much work in all
    {"n": "32768", "r": 8, "p": 1},  # a string, a float, a boolean are not whole numbers
    {"n": 1024.0, "r": 8, "p": 1},
    {"n": 2**10, "r": True, "p": 1},
])
def test_a_backup_whose_scrypt_settings_are_out_of_bounds_is_damaged_before_scrypt_runs(
        tmp_path, real_backup, kdf, monkeypatch):
    ran = []
    monkeypatch.setattr(Header, "derive", lambda self, passphrase: ran.append(self) or b"\0" * 32)
    crafted = rebuild(tmp_path / "crafted.rentdesk-backup",
                      [("store.header.json", header_with(**kdf)), ("store.db", members(real_backup)["store.db"])])
    with pytest.raises(BackupDamaged, match="This backup is damaged"):
        restore(crafted, tmp_path / "home")
    assert ran == [] and not (tmp_path / "home").exists()


def test_a_compressed_bomb_is_refused_before_any_byte_is_unpacked(tmp_path, real_backup):
    """2 MB that unpack to 2 GiB: RentDesk stores its copy uncompressed, so any compressed member is refused."""
    entries = list(members(real_backup).items())
    bomb = rebuild(tmp_path / "bomb.rentdesk-backup", [(n, d if n != "store.db" else d + b"\0" * (64 << 20))
                                                       for n, d in entries], zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 1 << 20
    progress = []
    with pytest.raises(BackupDamaged):
        backup.import_backup(bomb, tmp_path / "home", PASSPHRASE, lambda done, total: progress.append(done))
    assert progress == [] and not (tmp_path / "home").exists()


def test_a_store_larger_than_the_cap_is_refused_and_nothing_is_restored(tmp_path, real_backup):
    src = tmp_path / "real.rentdesk-backup"
    src.write_bytes(real_backup)
    size = len(members(real_backup)["store.db"])
    with pytest.raises(BackupDamaged, match="more than RentDesk ever writes"):
        backup.import_backup(src, tmp_path / "home", PASSPHRASE, max_store_bytes=size - 1)
    assert not (tmp_path / "home").exists()
    backup.import_backup(src, tmp_path / "home", PASSPHRASE, max_store_bytes=size)  # at the cap: restored
    services.unlock(tmp_path / "home", PASSPHRASE).close()


def test_the_passphrase_is_checked_on_the_first_page_before_the_rest_is_unpacked(tmp_path, real_backup):
    """The store's last byte is changed in place (its zip checksum no longer fits): a wrong passphrase is said as
    such, because the rest was never unpacked; the right one then finds the damage. (Before issue 23 the whole
    archive was extracted first, so the damage, or a bomb, came before the passphrase.)"""
    with zipfile.ZipFile(io.BytesIO(real_backup)) as archive:
        info = archive.getinfo("store.db")
        local_header = real_backup[info.header_offset:info.header_offset + 30]
    name_len, extra_len = int.from_bytes(local_header[26:28], "little"), int.from_bytes(local_header[28:30], "little")
    last = info.header_offset + 30 + name_len + extra_len + info.compress_size - 1
    damaged = bytearray(real_backup)
    damaged[last] ^= 0xFF
    src = tmp_path / "late-damage.rentdesk-backup"
    src.write_bytes(bytes(damaged))
    progress = []
    with pytest.raises(WrongPassphrase):
        backup.import_backup(src, tmp_path / "home", "not the passphrase", lambda d, t: progress.append(d))
    assert progress == []  # the whole store was never streamed out
    with pytest.raises(BackupDamaged):
        backup.import_backup(src, tmp_path / "home", PASSPHRASE)
    assert not (tmp_path / "home").exists()


def test_a_backup_cut_short_or_altered_after_its_first_page_is_damaged(tmp_path, real_backup):
    entries = members(real_backup)
    store = entries["store.db"]
    cut = rebuild(tmp_path / "cut.rentdesk-backup",
                  [("store.header.json", entries["store.header.json"]), ("store.db", store[:len(store) // 2])])
    with pytest.raises(BackupDamaged):
        restore(cut, tmp_path / "home")
    altered = bytearray(store)
    altered[len(store) - 100] ^= 0xFF  # a page's bytes changed (its checksum in the zip rewritten to match)
    changed = rebuild(tmp_path / "altered.rentdesk-backup",
                      [("store.header.json", entries["store.header.json"]), ("store.db", bytes(altered))])
    with pytest.raises(BackupDamaged):
        restore(changed, tmp_path / "home")
    half = tmp_path / "half.rentdesk-backup"
    half.write_bytes(real_backup[: len(real_backup) // 2])
    with pytest.raises(BackupDamaged):
        restore(half, tmp_path / "home")
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("names", [
    ["store.header.json", "store.db", "extra.txt"],
    ["store.header.json", "store.db", "store.db"],
    ["store.header.json", "../store.db"],
    ["store.header.json"],
])
def test_an_archive_with_other_members_is_not_a_backup(tmp_path, real_backup, names):
    entries = members(real_backup)
    crafted = rebuild(tmp_path / "x.rentdesk-backup",
                      [(name, entries.get(name.lstrip("./"), b"x")) for name in names])
    with pytest.raises(BackupDamaged):
        restore(crafted, tmp_path / "home")


def test_a_store_header_out_of_bounds_is_damaged_at_unlock_without_running_scrypt(tmp_path, monkeypatch):
    home = tmp_path / "home"
    services.initialise(home, PASSPHRASE, kdf=KDF).close()
    paths.header_path(home).write_bytes(header_with(n=2**24, r=8, p=1))
    ran = []
    monkeypatch.setattr(Header, "derive", lambda self, passphrase: ran.append(self) or b"\0" * 32)
    with pytest.raises(StoreError, match="is damaged: restore it from a backup"):
        services.unlock(home, PASSPHRASE)
    assert ran == []


def test_the_restore_page_says_a_damaged_backup_is_damaged_never_a_500(tmp_path, real_backup):
    from app import create_app
    from app.web.security import csrf_token

    crafted = rebuild(tmp_path / "crafted.rentdesk-backup",
                      [("store.header.json", header_with(n=3, r=0, p=-1)),
                       ("store.db", members(real_backup)["store.db"])])
    app = create_app({"RENTDESK_HOME": str(tmp_path / "home"), "TESTING": True, "BACKGROUND_SYNC": False,
                      "STORE_KDF": KDF})
    try:
        client = app.test_client()
        assert client.get("/launch?secret=" + app.config["LAUNCH_SECRET"]).status_code == 302
        page = client.post("/first-run/restore", data={"backup_path": str(crafted), "backup_passphrase": PASSPHRASE,
                                                       "csrf_token": csrf_token(app)})
        assert page.status_code == 200
        assert "This backup is damaged" in page.data.decode()
    finally:
        app.extensions["rentdesk.shutdown"]()


def test_restoring_over_a_store_is_refused(tmp_path, real_backup):
    src = tmp_path / "real.rentdesk-backup"
    src.write_bytes(real_backup)
    services.initialise(tmp_path / "home", PASSPHRASE, kdf=KDF).close()
    with pytest.raises(StoreExists):
        restore(src, tmp_path / "home")


# ------------------------------------------------------------------ fuzz


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
NUMBER = st.integers(-2**40, 2**40) | st.sampled_from([2**k for k in range(0, 31)]) | JSON


@settings(max_examples=300, deadline=None)
@given(n=NUMBER, r=NUMBER, p=NUMBER, salt=st.text(max_size=80) | JSON, extra=st.dictionaries(st.text(max_size=5),
                                                                                             JSON, max_size=2))
def test_any_header_parses_within_bounds_or_is_invalid(n, r, p, salt, extra):
    raw = json.dumps({"format": "rentdesk-store/1", "kdf": {"name": "scrypt", "n": n, "r": r, "p": p, **extra},
                      "salt": salt}).encode()
    try:
        header = Header.parse(raw)
    except HeaderInvalid:
        return
    kdf = header.kdf
    assert kdf["n"] & (kdf["n"] - 1) == 0 and 2**10 <= kdf["n"] <= 2**20
    assert kdf["n"] * kdf["r"] * kdf["p"] <= 2**21 and 128 * kdf["n"] * kdf["r"] <= 2**28
    assert 16 <= len(header.salt) <= 64


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=5000) | JSON.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_as_a_header_parse_or_are_invalid(raw):
    try:
        Header.parse(raw)
    except HeaderInvalid:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_damage_to_a_backup_is_refused_with_a_reason_never_a_crash(tmp_path, real_backup, data):
    damaged = bytearray(real_backup)
    for _ in range(data.draw(st.integers(1, 8), label="changes")):
        at = data.draw(st.integers(0, len(damaged) - 1), label="at")
        damaged[at] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.integers(1, len(damaged)), label="cut")
    case = Path(tempfile.mkdtemp(dir=tmp_path))
    src = case / "x.rentdesk-backup"
    src.write_bytes(bytes(damaged[:cut]))
    try:
        backup.import_backup(src, case / "home", PASSPHRASE)
    except (BackupDamaged, WrongPassphrase):
        assert not paths.store_path(case / "home").exists()
        return
    services.unlock(case / "home", PASSPHRASE).close()  # what was restored opens whole


@pytest.mark.parametrize("language, words", [
    ("en", "The store's header file (store.header.json) is damaged"),
    ("fr", "Le fichier d’en-tête du coffre (store.header.json) est endommagé"),
])
def test_the_unlock_page_says_a_damaged_header_in_the_chosen_language_never_a_500(tmp_path, language, words):
    from app import create_app
    from app.web.security import csrf_token

    home = tmp_path / "home"
    services.initialise(home, PASSPHRASE, kdf=KDF).close()
    paths.header_path(home).write_bytes(header_with(n=2**20, r=8, p=8))
    (home / "ui-language").write_text(language + "\n")
    app = create_app({"RENTDESK_HOME": str(home), "TESTING": True, "BACKGROUND_SYNC": False, "STORE_KDF": KDF})
    try:
        client = app.test_client()
        assert client.get("/launch?secret=" + app.config["LAUNCH_SECRET"]).status_code == 302
        page = client.post("/unlock", data={"passphrase": PASSPHRASE, "csrf_token": csrf_token(app)})
        assert page.status_code == 200 and words in page.data.decode().replace("&#39;", "'")
    finally:
        app.extensions["rentdesk.shutdown"]()
