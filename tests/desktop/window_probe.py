"""Run by test_window.py in a child process on an Xvfb display: the real launcher in window mode,
with a probe that reports what the page in the window shows, then waits for SIGTERM.

Usage: python -m tests.desktop.window_probe HOME
Prints one JSON line {"loaded", "url", "title", "text", "engine", "gc"} once the page has loaded, and
{"closed": true, "rc": N} after the window closed.

The page's Content-Security-Policy forbids eval, which pywebview's evaluate_js relies on (good), so
the probe asks WebKit itself, on GTK's main loop: the web view's URI and title, and the page's text
through WebKit's own script call (the embedder's script is not the page's, so the CSP does not bind it).
"""

from __future__ import annotations

import gc
import json
import sys
import threading

from app import launcher


def on_gui_thread(fn, timeout: float = 30.0) -> dict:
    """Run fn(result, done) on GTK's main loop and wait until it calls done.set()."""
    from gi.repository import GLib

    result: dict = {}
    done = threading.Event()

    def job() -> bool:
        fn(result, done)
        return False  # run once

    GLib.idle_add(job)
    if not done.wait(timeout):
        raise TimeoutError("GTK did not answer")
    return result


def read_page(result: dict, done: threading.Event) -> None:
    from webview.platforms.gtk import BrowserView, webkit

    view = BrowserView.instances[probe.window.window.uid].webview
    result["engine"] = f"{type(view).__module__}.{type(view).__name__}"
    result["webkit"] = ".".join(str(n) for n in (webkit.get_major_version(), webkit.get_minor_version()))
    result["url"] = view.get_uri()
    result["title"] = view.get_title()
    script = "document.body.innerText"

    def got_text(source, task) -> None:
        try:
            result["text"] = source.evaluate_javascript_finish(task).to_string()
        except Exception as exc:  # reported, so the test says what went wrong
            result["text"] = f"<no text: {exc}>"
        done.set()

    view.evaluate_javascript(script, len(script), None, None, None, got_text)


#: Python's collector while the app was built (the launch's start), then once the window was asked for the app.
collector: dict = {}


def while_building(app) -> None:
    collector["building"] = gc.isenabled()


def probe(window) -> None:
    # the start is over when the window is handed over: the collector is back, what the start made frozen
    collector["after"], collector["frozen"] = gc.isenabled(), gc.get_freeze_count()
    probe.window = window
    loaded = window.wait_until_loaded(60)
    report = on_gui_thread(read_page)
    report["loaded"] = loaded
    report["gc"] = collector
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    code = launcher.run("window", home=sys.argv[1], on_window=probe, prepare_app=while_building)
    print(json.dumps({"closed": True, "rc": code}), flush=True)
    sys.exit(code)
