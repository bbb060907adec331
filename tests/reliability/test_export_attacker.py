"""Issue 23, attack 2: another local user against `rentdesk export --to DIR`. The attacker (a real second user, via
`setpriv`) pre-creates the folder with world-writable files, or plants links to the victim's files; the export must
refuse any folder it did not make itself and leave nothing the attacker can read.

Before issue 23 the export wrote into the attacker's 0666 files (they read every customer's name and e-mail) and
followed a planted `accounts.csv -> victim/notes.txt`, overwriting the victim's file.
"""

from __future__ import annotations

import io
import shutil
import sys

import pytest

from app import services
from app.cli import main
from app.clock import SystemClock
from tests.support.local_user import local_user, shared_folder

PASSPHRASE = "a normal laptop passphrase"
KDF = {"name": "scrypt", "n": 2**10, "r": 8, "p": 1}
CUSTOMER = "Hôtel du Lac"
EMAIL = "it@hotel-du-lac.example"


@pytest.fixture
def attacker():
    return local_user()


@pytest.fixture
def shared():
    folder = shared_folder()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "laptop"
    store = services.initialise(home, PASSPHRASE, kdf=KDF)
    services.create_account(store.unit_of_work(), SystemClock(), CUSTOMER, EMAIL)
    store.close()
    return home


def export(home, dest, monkeypatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSPHRASE + "\n"))
    return main(["export", "--home", str(home), "--to", str(dest)])


def test_a_folder_another_user_made_with_open_files_is_refused_and_nothing_lands_in_it(
        attacker, shared, home, monkeypatch, capsys):
    trap = shared / "export"
    planted = attacker.run("sh", "-c", f"umask 0 && mkdir {trap} && : > {trap}/accounts.csv && "
                                       f": > {trap}/rentdesk-export.json && chmod 0666 {trap}/*")
    assert planted.returncode == 0, planted.stderr
    assert export(home, trap, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "exists already" in err and "new folder" in err
    read = attacker.run("cat", f"{trap}/accounts.csv", f"{trap}/rentdesk-export.json")
    assert read.returncode == 0 and CUSTOMER not in read.stdout and EMAIL not in read.stdout


def test_a_planted_link_to_the_victims_file_is_not_followed(attacker, shared, home, monkeypatch, tmp_path):
    victim = shared / "victim"
    victim.mkdir()
    notes = victim / "notes.txt"
    notes.write_text("my own notes\n")
    trap = shared / "export"
    planted = attacker.run("sh", "-c", f"mkdir -m 0777 {trap} && ln -s {notes} {trap}/accounts.csv")
    assert planted.returncode == 0, planted.stderr
    assert export(home, trap, monkeypatch) == 1
    assert notes.read_text() == "my own notes\n"
    link = shared / "linked-export"  # the folder itself a link to the victim's folder
    assert attacker.run("ln", "-s", str(victim), str(link)).returncode == 0
    assert export(home, link, monkeypatch) == 1
    assert sorted(p.name for p in victim.iterdir()) == ["notes.txt"]


def test_the_export_folder_it_makes_is_the_technicians_alone(attacker, shared, home, monkeypatch, capsys):
    dest = shared / "mine"
    assert export(home, dest, monkeypatch) == 0
    written = capsys.readouterr().out.split()
    assert len(written) == 5
    assert (dest.stat().st_mode & 0o777) == 0o700
    assert all((dest / name).stat().st_mode & 0o777 == 0o600 for name in (p.rsplit("/", 1)[1] for p in written))
    peek = attacker.run("sh", "-c", f"ls {dest}; cat {dest}/accounts.csv")
    assert peek.returncode != 0 and CUSTOMER not in peek.stdout
    plant = attacker.run("sh", "-c", f": > {dest}/extra.csv")
    assert plant.returncode != 0
