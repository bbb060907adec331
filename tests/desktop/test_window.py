"""The real pywebview window on the system's web view (GTK, WebKit2GTK 4.1; no Qt) on Debian's Xvfb: it shows
the unlock page, not a blank window; with no display or no web view, rentdesk says what is missing and falls
back to the browser."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app import desktop
from app.instance import INFO_FILE

from .helpers import (ROOT, SCREENSHOTS, Running, clean_env, make_browser_recorder, make_store, opened_urls, rentdesk,
                      run_to_end, shows_the_styled_page, wait_until)
from .screen import Xvfb


def test_the_window_opens_on_the_unlock_page_and_the_screen_shows_it(tmp_path):
    home = tmp_path / "home"
    make_store(home)
    with Xvfb() as screen:
        env = clean_env(DISPLAY=screen.display)
        with Running([sys.executable, "-m", "tests.desktop.window_probe", str(home)], env=env) as window:
            page = json.loads(window.wait_for_line(r'"loaded"').string)
            assert page["loaded"] is True
            assert page["engine"] == "gi.repository.WebKit2.WebView" and page["webkit"].startswith("2.")
            assert page["url"].endswith("/unlock")
            assert page["title"].startswith("Unlock")
            assert "Unlock RentDesk" in page["text"] and "Passphrase" in page["text"]
            # issue 27 (the window's first page): no garbage collection while the app is built beside the window;
            # once the window was asked for the app, the collector is back and what the start made is frozen (its
            # tens of thousands of objects never scanned again: their first scan would fall on the page's load)
            assert page["gc"]["building"] is False
            assert page["gc"]["after"] is True and page["gc"]["frozen"] > 10_000

            shot = screen.wait_for(shows_the_styled_page)
            shot.save_png(tmp_path / "window.png")
            shot.save_png(SCREENSHOTS / "window-gtk.png")  # kept for a person to look at
            assert shows_the_styled_page(shot), f"the screen does not show the page: see {tmp_path / 'window.png'}"

            # a second launch on the same data folder raises this window instead of opening the store again
            second = run_to_end("--home", str(home), env=env)
            assert second.returncode == 0
            assert "brought it to the front (window)" in second.stderr

            assert window.stop() == 0  # SIGTERM closes the window, then the server and the store, in order
            assert '{"closed": true, "rc": 0}\n' in window.stdout
    assert not (home / INFO_FILE).exists()


def test_without_a_display_rentdesk_says_so_and_opens_the_browser_instead(tmp_path):
    browser, log = make_browser_recorder(tmp_path)
    with rentdesk("--home", str(tmp_path / "home"), env=clean_env(BROWSER=str(browser))) as app:
        url = app.open_file_uri()  # the private redirect file, not the secret
        assert wait_until(lambda: opened_urls(log)) == [url]
        assert app.stop() == 0
    stderr = "".join(app.stderr)
    assert "RentDesk cannot open its window: no display" in stderr
    assert "Opening it in your web browser instead" in stderr


def test_a_display_nobody_answers_is_caught_before_gtk_could_end_the_program(tmp_path):
    browser, log = make_browser_recorder(tmp_path)
    env = clean_env(DISPLAY=":4242", BROWSER=str(browser))
    with rentdesk("--home", str(tmp_path / "home"), env=env) as app:
        url = app.open_file_uri()  # the private redirect file, not the secret
        assert wait_until(lambda: opened_urls(log)) == [url]
        assert app.stop() == 0
    assert "no X server answers at DISPLAY=:4242" in "".join(app.stderr)


def test_no_display_is_named_as_the_problem_and_a_live_wayland_socket_is_accepted(tmp_path):
    import socket

    assert "DISPLAY is not set" in desktop.window_problem({})
    assert "DISPLAY is not set" in desktop.window_problem({"WAYLAND_DISPLAY": "wayland-0",
                                                           "XDG_RUNTIME_DIR": str(tmp_path)})  # no socket there
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(tmp_path / "wayland-0"))
        assert desktop.window_problem({"WAYLAND_DISPLAY": "wayland-0", "XDG_RUNTIME_DIR": str(tmp_path)}) is None


def test_the_window_is_the_system_web_view_and_never_qt():
    assert desktop.gui_name() == "gtk"
    assert desktop.missing_typelibs() == []  # gir1.2-webkit2-4.1 and gir1.2-gtk-3.0, as make test installs them
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    spec = (ROOT / "build" / "rentdesk.spec").read_text(encoding="utf-8")
    assert "pywebview[qt]" not in pyproject and "PyQt" not in pyproject and "gui-qt" not in makefile
    assert '"pygobject>=3.42,<3.51' in pyproject and "gui-gtk" in makefile
    assert '"webview.platforms.gtk"' in spec and "webview.platforms.qt\", \"PyQt6" not in spec


def test_a_python_without_pygobject_is_told_which_package_to_install(tmp_path):
    """A real interpreter that has pywebview but not PyGObject (no site-packages, webview linked in alone)."""
    import subprocess

    import webview

    (tmp_path / "webview").symlink_to(Path(webview.__file__).parent)
    script = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; from app import desktop; "
              "print(desktop.window_problem({'DISPLAY': ':0'}))")
    done = subprocess.run([sys.executable, "-S", "-c", script, str(ROOT), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "PyGObject, which drives the system web view (WebKitGTK), is missing" in done.stdout
    assert 'pip install "pygobject<3.51"' in done.stdout and "libgirepository1.0-dev" in done.stdout


def test_a_missing_web_view_typelib_is_named_with_the_debian_package_to_install(monkeypatch):
    """GObject has no such typelib (a version no system ships): window_problem names the package, as it would
    name gir1.2-webkit2-4.1 on a system without WebKitGTK."""
    monkeypatch.setattr(desktop, "LINUX_TYPELIBS",
                        (("Gtk", "3.0", "gir1.2-gtk-3.0"), ("WebKit2", "0.1", "gir1.2-webkit2-4.1")))
    problem = desktop.window_problem({"DISPLAY": ":0"})
    assert problem == ("the system web view (WebKitGTK) is missing: install the Debian packages gir1.2-webkit2-4.1 "
                       "with: sudo apt-get install gir1.2-webkit2-4.1")
