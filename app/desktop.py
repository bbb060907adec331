"""The RentDesk window (pywebview): the only module that imports `webview` (DESIGN §2).

The window is the system's own web view (DESIGN §6 "Window"): WebKitGTK (WebKit2GTK 4.1) on
Linux, Edge WebView2 on Windows, WKWebView on macOS. No Qt. Whether a window can open is
decided *before* `webview.start()`, because with no display GTK exits the whole process; where
there is no web view, the launcher opens the default browser instead and says why.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any, Callable

TITLE = "RentDesk"
#: The window fits a 1366×768 laptop with its task bar and title bar (1200×820 cut the header off there);
#: the screens are laid out for 1024 px wide.
WINDOW_SIZE = (1200, 700)
MIN_SIZE = (1024, 600)

#: What each system's web view is called, for messages.
WEB_VIEWS = {"linux": "WebKitGTK", "win32": "Edge WebView2", "darwin": "WKWebView"}
#: The GObject typelibs pywebview's GTK back-end loads, and the Debian packages that hold them. `ldd` does
#: not see them (they are loaded by name at run time), so the .deb names these packages itself.
LINUX_TYPELIBS = (("Gtk", "3.0", "gir1.2-gtk-3.0"), ("WebKit2", "4.1", "gir1.2-webkit2-4.1"))
#: PyGObject 3.51 and later need GLib 2.80 (girepository-2.0), which Debian 12 lacks; pywebview pins 3.50 too.
PYGOBJECT_REQUIREMENT = "pygobject<3.51"
PYGOBJECT_HINT = (f'install it into this Python with: pip install "{PYGOBJECT_REQUIREMENT}" (it builds from source: '
                  "sudo apt-get install gcc pkg-config libgirepository1.0-dev libcairo2-dev first)")
#: The Edge WebView2 runtime's registry keys (stable, beta, dev, canary), as pywebview reads them.
WEBVIEW2_KEYS = ("{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}", "{2CD8A007-E189-409D-A2C8-9AF4EF3C72AA}",
                 "{0D50BFEC-CD6A-4F9A-964C-C7416E3ACB10}", "{65C35B14-6C1D-4122-AC46-7148CC9D6497}")
WEBVIEW2_HINT = ("install Microsoft's Evergreen WebView2 Runtime "
                 "(https://developer.microsoft.com/microsoft-edge/webview2/), then start RentDesk again")


def _platform() -> str:
    if sys.platform.startswith("linux"):
        return "linux"
    return sys.platform


def _is_linux() -> bool:
    return _platform() == "linux"


def _x_display_reachable(display: str) -> bool:
    """True when an X server answers at DISPLAY (":0", ":0.0", "host:1")."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".", 1)[0]
    if not (number.isascii() and number.isdecimal()):
        return False
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(1.0)
            sock.connect(path)
            return True
        except OSError:
            # Linux abstract socket, used by some X servers when the file is absent
            try:
                sock.close()
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(1.0)
                sock.connect("\0" + path)
                return True
            except OSError:
                return False
        finally:
            sock.close()
    try:
        with socket.create_connection((host, 6000 + int(number)), timeout=1.0):
            return True
    except OSError:
        return False


def _wayland_socket(env) -> Path:
    name = env["WAYLAND_DISPLAY"]
    return Path(name) if name.startswith("/") else Path(env.get("XDG_RUNTIME_DIR") or "/nonexistent") / name


def missing_typelibs() -> list[str]:
    """The Debian packages of the GTK/WebKit typelibs pywebview needs that this system lacks (sorted)."""
    import gi

    missing = []
    for namespace, version, package in LINUX_TYPELIBS:
        try:
            gi.require_version(namespace, version)
        except ValueError:  # "Namespace WebKit2 not available for version 4.1"
            missing.append(package)
    return sorted(missing)


def _display_problem(env) -> str | None:
    if env.get("WAYLAND_DISPLAY") and _wayland_socket(env).exists():
        return None
    display = env.get("DISPLAY")
    if not display:
        return "no display: DISPLAY is not set (a server or SSH session without X forwarding)"
    if not _x_display_reachable(display):
        return f"no X server answers at DISPLAY={display}"
    return None


def _webview2_installed() -> bool:
    """Whether the Edge WebView2 runtime is installed, per user or per machine (Windows only)."""
    import winreg  # type: ignore[import-not-found]

    for hive, prefix in ((winreg.HKEY_CURRENT_USER, r"SOFTWARE\Microsoft\EdgeUpdate\Clients"),
                         (winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients"),
                         (winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\EdgeUpdate\Clients")):
        for key in WEBVIEW2_KEYS:
            try:
                with winreg.OpenKey(hive, rf"{prefix}\{key}") as opened:
                    build, _ = winreg.QueryValueEx(opened, "pv")
            except OSError:
                continue
            if str(build) not in ("", "0.0.0.0"):
                return True
    return False


def window_problem(environ: dict | None = None) -> str | None:
    """Why no window can open here, with what to install or set; None when one can."""
    env = os.environ if environ is None else environ
    if importlib.util.find_spec("webview") is None:
        return "pywebview is not installed; install it with: pip install pywebview"
    platform = _platform()
    if platform == "win32":
        return None if _webview2_installed() else f"the system web view (Edge WebView2) is missing; {WEBVIEW2_HINT}"
    if platform != "linux":
        return None  # macOS: WKWebView is part of the system
    if importlib.util.find_spec("gi") is None:
        return f"PyGObject, which drives the system web view (WebKitGTK), is missing; {PYGOBJECT_HINT}"
    missing = missing_typelibs()
    if missing:
        return ("the system web view (WebKitGTK) is missing: install the Debian packages "
                + ", ".join(missing) + " with: sudo apt-get install " + " ".join(missing))
    return _display_problem(env)


def icon_path() -> Path | None:
    """The window icon, from the source tree or the bundle (same relative place in both)."""
    from .paths import resource_path

    path = resource_path("build", "icons", "rentdesk.png")
    return path if path.exists() else None


#: What the window shows while the app starts beside it (a few hundred ms): the screens' ground, so the
#: window does not flash white, and a word. No script, nothing fetched.
PLACEHOLDER = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>RentDesk</title></head>'
               '<body style="margin:0;background:{ground};color:#5b6472;font:15px sans-serif;display:flex;'
               'height:100vh;align-items:center;justify-content:center">Opening RentDesk…</body></html>')


def placeholder_html() -> str:
    """The placeholder page in the stylesheet's ground colour (white if the stylesheet has none)."""
    import re

    from .paths import resource_path

    try:
        css = resource_path("static", "rentdesk.css").read_text(encoding="utf-8")
    except OSError:
        css = ""
    found = re.search(r"--ground:\s*(#[0-9a-fA-F]{6})\b", css)
    return PLACEHOLDER.format(ground=found.group(1) if found else "#ffffff")


def gui_name() -> str | None:
    """pywebview's name for this system's web view back-end (asked for explicitly: no guessing, no Qt)."""
    return {"linux": "gtk", "win32": "edgechromium", "darwin": "cocoa"}.get(_platform())


class DesktopWindow:
    """One pywebview window on the app's launch URL; open() blocks until the user closes it.

    Without a URL it opens on a placeholder, so the web view starts while the app is still being built
    beside it (the launcher then calls load(url)): the two overlap instead of adding up.
    """

    def __init__(self, url: str | None = None, title: str = TITLE):
        self.url = url
        self.title = title
        self.window: Any = None
        self._gone = threading.Event()

    def open(self, on_started: Callable[["DesktopWindow"], None] | None = None) -> None:
        import webview

        page = {"url": self.url} if self.url else {"html": placeholder_html()}
        self.window = webview.create_window(
            self.title, width=WINDOW_SIZE[0], height=WINDOW_SIZE[1], min_size=MIN_SIZE, text_select=True, **page)
        options: dict[str, Any] = {
            # Private mode: nothing persists between launches, which is right here: the launch
            # cookie is per launch and every piece of data lives in the encrypted store, not in
            # the web view's cache or storage.
            "private_mode": True,
        }
        gui = gui_name()
        if gui is not None:
            options["gui"] = gui
        icon = icon_path()
        if icon is not None:
            options["icon"] = str(icon)
        if on_started is not None:
            webview.start(on_started, self, **options)
        else:
            webview.start(**options)

    def load(self, url: str) -> bool:
        """Leave the placeholder for the app (from another thread than the GUI's, once open() runs); False
        when the window went first (closed, or it never started)."""
        # the placeholder first: a load asked for before the web view exists would be lost
        while not self.window.events.loaded.wait(0.05):
            if self._gone.is_set():
                return False
        if self._gone.is_set():
            return False
        self.url = url
        self.window.load_url(url)
        return True

    def abandon(self) -> None:
        """The window failed to start: whoever waits for it stops waiting."""
        self._gone.set()

    def wait_until_loaded(self, timeout: float = 60.0) -> bool:
        return bool(self.window.events.loaded.wait(timeout))

    def evaluate_js(self, script: str) -> Any:
        return self.window.evaluate_js(script)

    def bring_to_front(self) -> None:
        """A second launch on the same data folder asked for us: show this window on top."""
        w = self.window
        if w is None:
            return
        w.restore()
        w.show()
        # toggling on_top raises the window even where the window manager refuses focus stealing
        w.on_top = True
        w.on_top = False

    def close(self) -> None:
        self._gone.set()
        if self.window is not None:
            self.window.destroy()
