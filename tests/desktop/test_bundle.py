"""`make dist`'s products, built once per session with the same spec and script: the PyInstaller
one-folder bundle runs every command from its own folder, and the .deb installs it with a menu entry.

Building takes ~30-60 s (PyInstaller caches its analysis in build/out/pyinstaller-test), packing the
.deb ~15 s more.
"""

from __future__ import annotations

import configparser
import struct
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.instance import INFO_FILE

from .helpers import (ROOT, Running, clean_env, make_store, open_session, press_sync, rentdesk, run_to_end,
                      shows_the_styled_page)
from .screen import Xvfb

VERSION_LINE = f"rentdesk {__import__('app.cli', fromlist=['version']).version()}\n"


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    """dist/rentdesk, built into a temp folder so a developer's own dist/ is left alone."""
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "PyInstaller", str(ROOT / "build" / "rentdesk.spec"), "--distpath", str(dist),
         "--workpath", str(ROOT / "build" / "out" / "pyinstaller-test"), "--noconfirm", "--log-level", "WARN"],
        capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-4000:]
    return dist / "rentdesk"


@pytest.fixture(scope="session")
def deb(bundle, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("deb")
    done = subprocess.run([sys.executable, str(ROOT / "build" / "make_deb.py"), "--bundle", str(bundle),
                           "--out", str(out), "--level", "1"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


@pytest.fixture(scope="session")
def installed(deb, tmp_path_factory) -> Path:
    """The .deb unpacked into a temp root, as dpkg would lay it out under /."""
    root = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def program(bundle: Path) -> Path:
    return bundle / "rentdesk"


def test_the_bundle_is_a_one_folder_program_that_knows_its_version(bundle):
    assert program(bundle).is_file()
    assert run_to_end("--version", program=program(bundle)).stdout == VERSION_LINE


def test_the_bundle_carries_templates_static_translations_keys_migrations_and_demo_prices(bundle):
    inside = bundle / "_internal"
    for resource in ("templates/unlock.html", "static/rentdesk.css", "translations/fr/LC_MESSAGES/messages.mo",
                     "keys/demo/demo.pub", "keys/demo/demo.key", "app/migrations/env.py",
                     "license_server/migrations/env.py", "license_server/demo/pricelist.json",
                     "build/icons/rentdesk.png"):
        assert (inside / resource).is_file(), f"{resource} is missing from the bundle"
    assert list((inside / "app" / "migrations" / "versions").glob("*.py"))
    assert list((inside / "license_server" / "migrations" / "versions").glob("*.py"))


def test_the_bundle_leaves_out_psycopg_and_the_window_back_ends_linux_does_not_use(bundle):
    assert not [p for p in (bundle / "_internal").rglob("psycopg*") if "sqlalchemy" not in str(p)]
    listing = subprocess.run([str(Path(sys.executable).parent / "pyi-archive_viewer"), "-r", "-b",
                              str(program(bundle))], capture_output=True, text=True, check=True).stdout
    modules = {line.strip() for line in listing.splitlines()}
    assert "webview.platforms.qt" in modules
    assert not modules & {"webview.platforms.gtk", "webview.platforms.cef", "webview.platforms.winforms",
                          "webview.platforms.edgechromium", "webview.platforms.cocoa", "psycopg", "tkinter"}


def test_the_bundle_serves_healthz_and_the_unlock_page(bundle, tmp_path):
    make_store(tmp_path)
    started = time.monotonic()
    with rentdesk("serve", "--home", str(tmp_path), program=program(bundle)) as app:
        url = app.launch_url()
        base = url.split("/launch", 1)[0]
        assert httpx.get(base + "/healthz").text == "ok"
        print(f"bundle: first /healthz {time.monotonic() - started:.2f}s after start")
        with open_session(url) as (_client, page):
            assert page.url.path == "/unlock" and 'name="passphrase"' in page.text
        assert app.stop() == 0


def test_the_bundle_runs_the_demo_with_its_own_license_server(bundle):
    with rentdesk("demo", "--serve", program=program(bundle)) as demo:
        with open_session(demo.launch_url()) as (client, page):
            assert "Hotel du Lac (demo)" in page.text
            assert "Sync complete." in press_sync(client).text
        assert demo.stop() == 0


def test_the_bundled_window_shows_the_unlock_page_under_xvfb(bundle, tmp_path):
    """The Qt the bundle carries (trimmed of QML, 3D, multimedia) still paints the page."""
    home = tmp_path / "home"
    make_store(home)
    with Xvfb() as screen:
        env = clean_env(DISPLAY=screen.display)
        with Running([str(program(bundle)), "--home", str(home)], env=env) as window:
            shot = screen.wait_for(shows_the_styled_page)
            shot.save_png(tmp_path / "bundle-window.png")
            assert shows_the_styled_page(shot), f"see {tmp_path / 'bundle-window.png'}\n{window.output()}"
            second = run_to_end("--home", str(home), env=env, program=program(bundle))
            assert "brought it to the front (window)" in second.stderr
            assert window.stop() == 0
    assert not (home / INFO_FILE).exists()


def test_the_deb_installs_under_opt_with_a_command_a_menu_entry_and_icons(deb):
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True).stdout
    paths = {line.split()[5] for line in listing.splitlines()}
    for path in ("./opt/rentdesk/rentdesk", "./usr/bin/rentdesk", "./usr/share/applications/rentdesk.desktop",
                 "./usr/share/icons/hicolor/256x256/apps/rentdesk.png",
                 "./usr/share/icons/hicolor/48x48/apps/rentdesk.png",
                 "./usr/share/icons/hicolor/scalable/apps/rentdesk.svg"):
        assert path in paths
    assert all(" root/root " in line for line in listing.splitlines())
    field = lambda name: subprocess.run(["dpkg-deb", "--field", str(deb), name],  # noqa: E731
                                        capture_output=True, text=True, check=True).stdout.strip()
    assert field("Package") == "rentdesk"
    assert field("Version") == VERSION_LINE.split()[1]
    assert "libc6" in field("Depends").split(", ")


def test_the_menu_entry_starts_rentdesk_with_its_icon_and_is_valid(installed):
    entry_path = installed / "usr/share/applications/rentdesk.desktop"
    check = subprocess.run(["desktop-file-validate", str(entry_path)], capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout == "", check.stdout + check.stderr
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(entry_path, encoding="utf-8")
    main = entry["Desktop Entry"]
    assert (main["Type"], main["Name"], main["Exec"], main["Icon"], main["Terminal"]) == (
        "Application", "RentDesk", "rentdesk", "rentdesk", "false")
    assert entry["Desktop Action demo"]["Exec"] == "rentdesk demo"
    png = (installed / "usr/share/icons/hicolor/256x256/apps/rentdesk.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (256, 256)


def test_the_command_on_the_path_runs_the_program_under_opt(installed):
    launcher = installed / "usr/bin/rentdesk"
    assert launcher.stat().st_mode & 0o111
    assert 'exec /opt/rentdesk/rentdesk "$@"' in launcher.read_text()


def test_the_unpacked_program_serves_from_where_dpkg_put_it(installed, tmp_path):
    with rentdesk("serve", "--home", str(tmp_path), program=installed / "opt/rentdesk/rentdesk") as app:
        base = app.launch_url().split("/launch", 1)[0]
        assert httpx.get(base + "/healthz").text == "ok"
        assert app.stop() == 0
