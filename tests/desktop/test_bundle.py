"""`make dist`'s products, built once per session with the same spec and script: the PyInstaller
one-folder bundle runs every command from its own folder on the system's GTK and WebKit, and the .deb
installs it with a menu entry (`apt install`), opens its window, and lets a normal user import a vendor key.

Building takes ~60 s (PyInstaller caches its analysis in build/out/pyinstaller-test), packing the
.deb ~10 s more.
"""

from __future__ import annotations

import configparser
import html
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from app.instance import INFO_FILE

from .helpers import (ROOT, SCREENSHOTS, Running, clean_env, csrf_of, make_store, open_session, press_sync, rentdesk,
                      run_to_end, shows_the_styled_page)
from .screen import Xvfb

VERSION_LINE = f"rentdesk {__import__('app.cli', fromlist=['version']).version()}\n"
#: The issue's goals (issue 25): what a technician downloads over a phone's connection, and what it takes.
DEB_GOAL_MB, BUNDLE_GOAL_MB = 60, 150


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


def test_the_bundle_carries_every_screen_template_compiled(bundle):
    """Issue 25: the window's first page is drawn from templates compiled at build (app/web/compiled.py)."""
    from app.web.compiled import FOLDER, CompiledTemplates

    inside = bundle / "_internal"
    names = sorted(p.relative_to(inside / "templates").as_posix() for p in (inside / "templates").rglob("*.html"))
    keys = CompiledTemplates(inside / FOLDER)
    assert sorted(p.name for p in (inside / FOLDER).iterdir()) == sorted(keys.get_cache_key(n) + ".jinja"
                                                                         for n in names)


def test_the_bundle_keeps_its_python_modules_stored_not_deflated(bundle):
    """Issue 27 (the window's first page): inflating every module the launch imports cost ~65 ms of CPU before the
    page was on screen; build/rentdesk.spec stores them (zlib level 0: each entry is at least as long as the module)."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(program(bundle))).open_embedded_archive("PYZ.pyz")
    for name in ("app.launcher", "app.web.auth", "flask.app", "jinja2.environment", "webview.platforms.gtk"):
        _kind, _offset, kept = archive.toc[name]
        assert kept >= len(archive.extract(name, raw=True)), f"{name} is deflated in the bundle"


def test_the_bundle_leaves_out_psycopg_qt_and_the_window_back_ends_linux_does_not_use(bundle):
    assert not [p for p in (bundle / "_internal").rglob("psycopg*") if "sqlalchemy" not in str(p)]
    assert not list((bundle / "_internal").rglob("*Qt*"))
    listing = subprocess.run([str(Path(sys.executable).parent / "pyi-archive_viewer"), "-r", "-b",
                              str(program(bundle))], capture_output=True, text=True, check=True).stdout
    modules = {line.strip() for line in listing.splitlines()}
    assert {"webview.platforms.gtk", "gi"} <= modules
    assert not modules & {"webview.platforms.qt", "PyQt6", "webview.platforms.cef", "webview.platforms.winforms",
                          "webview.platforms.edgechromium", "webview.platforms.cocoa", "psycopg", "tkinter"}


def test_the_bundle_uses_the_systems_gtk_and_webkit_and_ships_none_of_their_files(bundle):
    inside = bundle / "_internal"
    names = [p.name for p in inside.rglob("*")]
    for system in ("libgtk-3", "libwebkit2gtk", "libjavascriptcoregtk", "libglib-2.0", "libgirepository",
                   "libcairo.so", "libssl.so", "libc.so"):
        assert not [n for n in names if n.startswith(system)], f"{system}* is in the bundle: the system's is used"
    for folder in ("share", "gi_typelibs", "gio_modules", "lib/gdk-pixbuf", "etc"):
        assert not (inside / folder).exists(), f"_internal/{folder} would shadow the system's GTK files"
    locales = {p.stem for p in (inside / "babel" / "locale-data").glob("*.dat")}
    assert {"root", "en", "fr", "fr_FR", "en_GB"} <= locales and {"de", "ja", "zh"}.isdisjoint(locales)
    sections = subprocess.run(["readelf", "-S", "-W", str(inside / "libpython3.11.so.1.0")], capture_output=True,
                              text=True, check=True).stdout
    assert ".debug_info" not in sections and ".symtab" not in sections, "debug symbols left in (strip)"


def test_the_bundle_starts_with_the_gi_runtime_hooks_variables_undone(tmp_path):
    """build/entry.py: GTK, and the WebKit processes it starts, must look in the system's folders, not the bundle's."""
    sys.path.insert(0, str(ROOT / "build"))
    try:
        from entry import GTK_VARIABLES, use_the_system_gtk
    finally:
        sys.path.remove(str(ROOT / "build"))
    env = {name: "/opt/rentdesk/_internal/x" for name in GTK_VARIABLES}
    env.update(XDG_DATA_DIRS="/opt/rentdesk/_internal/share:/usr/local/share/:/usr/share/",
               LD_LIBRARY_PATH="/opt/rentdesk/_internal", LD_LIBRARY_PATH_ORIG="/home/me/lib", PATH="/usr/bin")
    use_the_system_gtk(env, "/opt/rentdesk/_internal")
    assert env == {"XDG_DATA_DIRS": "/usr/local/share/:/usr/share/", "LD_LIBRARY_PATH": "/home/me/lib",
                   "PATH": "/usr/bin"}


def test_the_bundle_is_within_the_size_goal(bundle):
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"bundle: {size / 1e6:.1f} MB")
    assert size <= BUNDLE_GOAL_MB * 1_000_000


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
    """The bundle on the system's WebKitGTK paints the page (no GTK or WebKit file of its own)."""
    home = tmp_path / "home"
    make_store(home)
    with Xvfb() as screen:
        env = clean_env(DISPLAY=screen.display)
        with Running([str(program(bundle)), "--home", str(home)], env=env) as window:
            shot = screen.wait_for(shows_the_styled_page)
            shot.save_png(tmp_path / "bundle-window.png")
            shot.save_png(SCREENSHOTS / "bundle-window.png")
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
    depends = field("Depends").split(", ")
    assert {"libc6", "gir1.2-webkit2-4.1", "gir1.2-gtk-3.0"} <= set(depends)  # ldd cannot see the web view
    assert not [d for d in depends if "qt" in d.lower() or "xcb-cursor" in d]
    print(f"deb: {deb.stat().st_size / 1e6:.1f} MB (gzip -1; make dist uses xz)")
    assert deb.stat().st_size <= DEB_GOAL_MB * 1_000_000


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


# --------------------------------------------------------------------------- installed with apt, as a technician


@pytest.fixture(scope="session")
def apt_installed(deb) -> Path:
    """`apt install ./rentdesk_*.deb` on this machine (root, as make test and CI run); removed afterwards unless
    RentDesk was installed before."""
    assert os.geteuid() == 0, "installing the .deb needs root: make test runs as root, as CI does"
    was_installed = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "rentdesk"], capture_output=True,
                                   text=True).stdout.endswith("ok installed")
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-y", "-q"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    done = subprocess.run(apt + ["install", "--no-install-recommends", str(deb)], capture_output=True, text=True,
                          env=env, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    yield Path("/usr/bin/rentdesk")
    if not was_installed:
        subprocess.run(apt + ["purge", "rentdesk"], capture_output=True, env=env, timeout=600, check=True)


def test_apt_installs_the_deb_and_its_window_shows_the_unlock_page_under_xvfb(apt_installed, tmp_path):
    assert run_to_end("--version", program=apt_installed).stdout == VERSION_LINE
    home = tmp_path / "home"
    make_store(home)
    with Xvfb() as screen:
        env = clean_env(DISPLAY=screen.display)
        with Running([str(apt_installed), "--home", str(home)], env=env) as window:
            shot = screen.wait_for(shows_the_styled_page)
            shot.save_png(SCREENSHOTS / "installed-window.png")
            assert shows_the_styled_page(shot), f"see {SCREENSHOTS / 'installed-window.png'}\n{window.output()}"
            assert window.stop() == 0
    assert "RentDesk cannot open its window" not in "".join(window.stderr)


def _as_technician(home: Path):
    """A normal user's launch (tests/support/local_user.py's second user): no root, their own home."""
    from tests.support.local_user import local_user

    technician = local_user("rentdesk-technician")
    os.chown(home, technician.uid, technician.gid)
    env = {k: v for k, v in clean_env().items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), USER=technician.name, LOGNAME=technician.name)
    setpriv = ["setpriv", f"--reuid={technician.uid}", f"--regid={technician.gid}", "--clear-groups"]
    return technician, setpriv, env


def test_a_normal_user_imports_the_vendors_key_into_their_own_folder(apt_installed, tmp_path):
    """The technician is no administrator (a system user of their own, through setpriv): the installed program's
    keys/ is root's, their key goes to ~/.config/RentDesk/keys, and the program then trusts it (DESIGN §6)."""
    from rental.signing import Keyring, write_key_pair

    _private, public = write_key_pair("vendor-2026", tmp_path / "vendor")
    home = Path(tempfile.mkdtemp(prefix="rentdesk-technician-"))
    try:
        technician, setpriv, env = _as_technician(home)
        shipped = Path("/opt/rentdesk/_internal/keys")
        assert shipped.stat().st_uid == 0 and shipped.stat().st_mode & 0o022 == 0  # not the technician's to write
        with Running([*setpriv, str(apt_installed), "serve"], env=env) as app:
            with open_session(app.launch_url()) as (client, page):
                assert page.url.path == "/first-run" and "No trusted signing key yet" in page.text
                with public.open("rb") as key_file:
                    shown = client.post("/first-run/keys", data={"csrf_token": csrf_of(page.text)},
                                        files={"key_file": ("vendor-2026.pub", key_file)})
                fingerprint = Keyring().add("vendor-2026", public.read_bytes()).fingerprint("vendor-2026")
                assert f'data-testid="candidate-fingerprint">{fingerprint}<' in shown.text
                fields = {name: html.unescape(value) for name, value in re.findall(
                    r'<input type="hidden" name="(kid|pem|fingerprint)" value="([^"]*)"', shown.text)}
                trusted = client.post("/first-run/keys/trust", data={"csrf_token": csrf_of(page.text), **fields})
                assert "The key vendor-2026 is now trusted" in trusted.text
                assert "No trusted signing key yet" not in trusted.text
            assert app.stop() == 0
        saved = home / ".config" / "RentDesk" / "keys" / "vendor-2026.pub"
        assert saved.read_bytes().strip() == public.read_bytes().strip()
        assert (saved.stat().st_uid, saved.stat().st_mode & 0o777) == (technician.uid, 0o600)
        assert not (shipped / "vendor-2026.pub").exists()
    finally:
        shutil.rmtree(home, ignore_errors=True)
