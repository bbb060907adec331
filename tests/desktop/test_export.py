"""`rentdesk export`: after the passphrase, the technician's own data as JSON and CSV (issue 11, item 14)."""

from __future__ import annotations

import csv
import io
import json
import sys

from app import services
from app.cli import main
from app.clock import SystemClock

PASSPHRASE = "a normal laptop passphrase"
KDF = {"name": "scrypt", "n": 2**10, "r": 8, "p": 1}


def laptop(tmp_path):
    """A real SQLCipher store with an account and a PBX made offline (both queued)."""
    home = tmp_path / "laptop"
    store = services.initialise(home, PASSPHRASE, kdf=KDF)
    clock = SystemClock()
    queued = services.create_account(store.unit_of_work(), clock, "Hôtel du Lac", "it@hotel-du-lac.example")
    services.register_pbx(store.unit_of_work(), clock, queued.account_id, name="Accueil", serial="SN-1",
                          platform="vmware", firmware="13r2")
    store.close()
    return home, queued.account_id


def test_export_writes_accounts_pbxs_queue_and_statement_as_json_and_csv(tmp_path, monkeypatch, capsys):
    home, account_id = laptop(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSPHRASE + "\n"))
    assert main(["export", "--home", str(home), "--to", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(p.rsplit("/", 1)[1] for p in printed) == sorted(
        ["rentdesk-export.json", "accounts.csv", "pbxs.csv", "queue.csv", "statement.csv"])
    document = json.loads((tmp_path / "out" / "rentdesk-export.json").read_text(encoding="utf-8"))
    [account] = document["accounts"]
    assert (account["account_id"], account["name"]) == (account_id, "Hôtel du Lac")
    assert account["pbxs"][0]["name"] == "Accueil"
    assert [op["kind"] for op in document["queue"]] == ["create_account", "register_pbx"]
    with (tmp_path / "out" / "accounts.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1][:3] == [account_id, "Hôtel du Lac", "it@hotel-du-lac.example"]
    assert (tmp_path / "out" / "accounts.csv").stat().st_mode & 0o077 == 0


def test_export_with_a_wrong_passphrase_writes_nothing(tmp_path, monkeypatch, capsys):
    home, _account_id = laptop(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("not the passphrase\n"))
    assert main(["export", "--home", str(home), "--to", str(tmp_path / "out")]) == 1
    assert "wrong passphrase" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_exported_csv_cells_that_look_like_formulas_stay_text_and_files_start_with_the_utf8_mark(
        tmp_path, monkeypatch, capsys):
    """Issue 23: names and serials like =HYPERLINK(…) or =cmd|… are neutralised as in the statement CSV (one
    function, app/csvfile.py), and a BOM lets Excel read "Hôtel" right."""
    home = tmp_path / "laptop"
    store = services.initialise(home, PASSPHRASE, kdf=KDF)
    clock = SystemClock()
    queued = services.create_account(store.unit_of_work(), clock, '=HYPERLINK("http://evil.example","Lac")',
                                     "it@hotel-du-lac.example")
    services.register_pbx(store.unit_of_work(), clock, queued.account_id, name="@SUM(A1)", serial="=cmd|' /C calc'!A0",
                          platform="vmware", firmware="13r2")
    store.close()
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSPHRASE + "\n"))
    assert main(["export", "--home", str(home), "--to", str(tmp_path / "out")]) == 0
    for name in ("accounts.csv", "pbxs.csv", "queue.csv", "statement.csv"):
        data = (tmp_path / "out" / name).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), name
        for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))):
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), (name, row)
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / "accounts.csv").read_text(encoding="utf-8-sig"))))
    assert rows[1][1] == '\'=HYPERLINK("http://evil.example","Lac")'


def test_export_into_an_existing_folder_is_refused_before_the_passphrase_is_asked(tmp_path, monkeypatch, capsys):
    home, _account_id = laptop(tmp_path)
    (tmp_path / "out").mkdir()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no passphrase: it is not even read
    assert main(["export", "--home", str(home), "--to", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "exists already: export writes only into a new folder it makes itself" in err
    assert list((tmp_path / "out").iterdir()) == []


def test_a_file_linked_into_the_new_folder_is_never_followed(tmp_path):
    """Belt and braces: even inside the folder it made, each file is created O_EXCL|O_NOFOLLOW."""
    import pytest

    from app.export import _PrivateFolder

    victim = tmp_path / "notes.txt"
    victim.write_text("mine\n")
    folder = _PrivateFolder(tmp_path / "new")
    try:
        (tmp_path / "new" / "accounts.csv").symlink_to(victim)
        with pytest.raises(FileExistsError):
            folder.write("accounts.csv", "secret")
    finally:
        folder.close()
    assert victim.read_text() == "mine\n"
