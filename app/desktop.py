"""The RentDesk window (pywebview): the only module that imports `webview` (DESIGN §2).

Native back-ends on Windows and macOS; Qt on Linux. Whether a window can open is decided
*before* `webview.start()`, because with no display Qt aborts the whole process.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
import socket
import sys
from pathlib import Path
from typing import Any, Callable

TITLE = "RentDesk"
#: The window fits a 1366×768 laptop with its task bar and title bar (1200×820 cut the header off there);
#: the screens are laid out for 1024 px wide.
WINDOW_SIZE = (1200, 700)
MIN_SIZE = (1024, 600)
#: Debian libraries the Qt xcb platform plugin loads; without them Qt aborts (NOTES, pywebview).
LINUX_XCB_LIBS = {"xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4",
                  "xcb-keysyms": "libxcb-keysyms1"}
QT_HINT = "install it with: pip install \"pywebview[qt]\" (the RentDesk bundle and .deb include it)"


def _is_linux() -> bool:
    return sys.platform.startswith("linux")


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


def _missing_xcb_packages() -> list[str]:
    if getattr(sys, "frozen", False):
        return []  # the bundle carries the libraries it was built with
    return sorted(pkg for lib, pkg in LINUX_XCB_LIBS.items() if ctypes.util.find_library(lib) is None)


def window_problem(environ: dict | None = None) -> str | None:
    """Why no window can open here, with what to install or set; None when one can."""
    env = os.environ if environ is None else environ
    if importlib.util.find_spec("webview") is None:
        return "pywebview is not installed; install it with: pip install pywebview"
    if not _is_linux():
        return None  # Windows (EdgeChromium) and macOS (WebKit) have a native back-end
    if importlib.util.find_spec("PyQt6") is None or importlib.util.find_spec("PyQt6.QtWebEngineWidgets") is None:
        return f"the Qt window back-end (PyQt6 with WebEngine) is missing; {QT_HINT}"
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform.startswith("offscreen"):
        return None
    if env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY"):
        return None
    display = env.get("DISPLAY")
    if not display:
        return "no display: DISPLAY is not set (a server or SSH session without X forwarding)"
    if not _x_display_reachable(display):
        return f"no X server answers at DISPLAY={display}"
    missing = _missing_xcb_packages()
    if missing:
        return ("Qt needs the Debian packages " + ", ".join(missing)
                + "; install them with: sudo apt-get install " + " ".join(missing))
    return None


def _prepare_qt_environment() -> None:
    """Qt WebEngine's Chromium refuses to run as root with its sandbox on (NOTES, pywebview)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
        if "--no-sandbox" not in flags.split():
            os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = (flags + " --no-sandbox").strip()


def icon_path() -> Path | None:
    """The window icon, from the source tree or the bundle (same relative place in both)."""
    from .paths import resource_path

    path = resource_path("build", "icons", "rentdesk.png")
    return path if path.exists() else None


class DesktopWindow:
    """One pywebview window on the app's launch URL; open() blocks until the user closes it."""

    def __init__(self, url: str, title: str = TITLE):
        self.url = url
        self.title = title
        self.window: Any = None

    def open(self, on_started: Callable[["DesktopWindow"], None] | None = None) -> None:
        if _is_linux():
            _prepare_qt_environment()
        import webview

        self.window = webview.create_window(
            self.title, self.url, width=WINDOW_SIZE[0], height=WINDOW_SIZE[1], min_size=MIN_SIZE, text_select=True)
        options: dict[str, Any] = {
            # Private mode: nothing persists between launches, which is right here: the launch
            # cookie is per launch and every piece of data lives in the encrypted store, not in
            # the web view's cache or storage.
            "private_mode": True,
        }
        if _is_linux():
            options["gui"] = "qt"  # auto-detection tries GTK first and logs a traceback (NOTES)
        icon = icon_path()
        if icon is not None:
            options["icon"] = str(icon)
        if on_started is not None:
            webview.start(on_started, self, **options)
        else:
            webview.start(**options)

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
        if self.window is not None:
            self.window.destroy()
