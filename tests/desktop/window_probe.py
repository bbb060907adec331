"""Run by test_window.py in a child process on an Xvfb display: the real launcher in window mode,
with a probe that reports what the page in the window shows, then waits for SIGTERM.

Usage: python -m tests.desktop.window_probe HOME
Prints one JSON line {"loaded", "url", "title", "text"} once the page has loaded, and
{"closed": true, "rc": N} after the window closed.

The page's Content-Security-Policy forbids eval, which pywebview's evaluate_js uses (good), so
the probe asks Qt's web page itself for its URL, title and text, on Qt's GUI thread.
"""

from __future__ import annotations

import json
import sys
import threading

from app import launcher


def on_gui_thread(fn):
    """Run fn on Qt's GUI thread (a queued signal to an object living there) and wait for its result."""
    from PyQt6.QtCore import QCoreApplication, QObject, pyqtSignal, pyqtSlot

    class Bridge(QObject):
        call = pyqtSignal(object)

        @pyqtSlot(object)
        def run(self, job):
            job()

    result: dict = {}
    done = threading.Event()
    bridge = Bridge()
    bridge.moveToThread(QCoreApplication.instance().thread())
    bridge.call.connect(bridge.run)
    bridge.call.emit(lambda: fn(result, done))
    if not done.wait(30):
        raise TimeoutError("Qt did not answer")
    return result


def read_page(result: dict, done: threading.Event) -> None:
    page = probe.window.window.native.webview.page()
    result["url"] = page.url().toString()
    result["title"] = page.title()

    def got_text(text: str) -> None:
        result["text"] = text
        done.set()

    page.toPlainText(got_text)


def probe(window) -> None:
    probe.window = window
    loaded = window.wait_until_loaded(60)
    report = on_gui_thread(read_page)
    report["loaded"] = loaded
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    code = launcher.run("window", home=sys.argv[1], on_window=probe)
    print(json.dumps({"closed": True, "rc": code}), flush=True)
    sys.exit(code)
