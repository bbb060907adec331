"""Runs one launch of the app: take the data folder's lock, serve the Flask app on 127.0.0.1 at a
random port in a thread, open it (window, browser or nothing), and shut down in order.

Serving it ourselves (rather than letting pywebview do it) keeps the localhost guard of
DESIGN §6 in force: the window gets the launch URL, which trades the per-launch secret for
the HttpOnly cookie, and the Host check is pinned to the port we bound.
"""

from __future__ import annotations

import gc
import hmac
import html
import json
import logging
import os
import signal
import sys
import threading
import webbrowser
from pathlib import Path
from typing import Any, Callable, TextIO

from .instance import SHOW_PATH, TOKEN_HEADER, AlreadyRunning, InstanceLock, ask_to_show
from .store_base import ForeignFolder

LOOPBACK = "127.0.0.1"
EXIT_OK = 0
#: A second launch on a data folder that is in use, when the first could not be brought forward.
EXIT_ALREADY_RUNNING = 3
#: The data folder belongs to another user (app/private.py): nothing was opened or written.
EXIT_FOREIGN_FOLDER = 4
MODES = ("window", "browser", "serve")
SHUTDOWN_HOOK = "rentdesk.shutdown"
#: The user-private page `rentdesk --browser` opens (the way Jupyter does): it redirects with the secret.
OPEN_FILE = "rentdesk-open.html"

log = logging.getLogger(__name__)


class InstanceControl:
    """WSGI wrapper answering a later launch's "show yourself" (token from the 0600 instance file);
    everything else goes to the app and its localhost guard untouched."""

    def __init__(self, app, token: str, on_show: Callable[[], str]):
        self.app = app
        self.token = token
        self.on_show = on_show

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != SHOW_PATH:
            return self.app(environ, start_response)
        sent = environ.get("HTTP_" + TOKEN_HEADER.upper().replace("-", "_"), "")
        # bytes: compare_digest refuses a str with non-ASCII characters, which a header may hold
        if environ.get("REQUEST_METHOD") != "POST" or not hmac.compare_digest(
                sent.encode("utf-8", "surrogateescape"), self.token.encode("utf-8")):
            start_response("403 Forbidden", [("Content-Type", "text/plain"), ("Cache-Control", "no-store")])
            return [b"forbidden"]
        shown = self.on_show()
        body = json.dumps({"shown": shown}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                                  ("Content-Length", str(len(body)))])
        return [body]


class LocalServer:
    """A werkzeug server on loopback in a daemon thread (port 0 picks a free one)."""

    def __init__(self, wsgi_app, port: int = 0, host: str = LOOPBACK):
        from werkzeug.serving import make_server

        self.httpd = make_server(host, port, wsgi_app, threaded=True)
        self.host = host
        self.port = self.httpd.server_port
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=f"serve-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "LocalServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, finish the loop, free the port."""
        if self._thread.is_alive():
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()


def write_open_file(home: Path, url: str) -> Path:
    """A page only this user can read (0600, in the 0700 data folder) that sends the browser to url.

    The browser is started on this file's path, never on the URL itself: a command line is readable
    by every local user (/proc/PID/cmdline), and the URL holds the launch secret.
    """
    path = Path(home) / OPEN_FILE
    tmp = path.with_name(OPEN_FILE + ".tmp")
    tmp.unlink(missing_ok=True)
    target = html.escape(url, quote=True)
    page = ('<!doctype html>\n<html><head><meta charset="utf-8"><title>RentDesk</title>'
            f'<meta http-equiv="refresh" content="0;url={target}"></head>\n'
            f'<body><p>Opening RentDesk… If nothing happens, <a href="{target}">click here</a>.</p></body></html>\n')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, path)
    return path


def open_in_browser(app, home: Path, port: int) -> tuple[bool, Path]:
    """Open the app in the default browser with a fresh one-use secret, through the private redirect file."""
    from .web.security import fresh_launch_path, launch_path

    spent = app.extensions.get("rentdesk.launch-opened")
    path = launch_path(app) if not spent else fresh_launch_path(app)
    app.extensions["rentdesk.launch-opened"] = True
    page = write_open_file(home, f"http://{LOOPBACK}:{port}{path}")
    return webbrowser.open(page.as_uri()), page


def close_app(app) -> None:
    """Orderly end: the app's own hook stops background sync and closes the store (WAL committed,
    outbox durable); an app without one holds nothing open that a commit has not made durable."""
    hook = app.extensions.get(SHUTDOWN_HOOK)
    if hook is not None:
        hook()


def quiet_request_log(verbose: bool) -> None:
    # werkzeug logs every request at INFO, and so does a license server (the demo's); a desktop user should
    # not see that on their terminal.
    for name in ("werkzeug", "license_server.requests"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)


class LaunchOver(Exception):
    """The launch ended (window closed) before the app was built: nothing is to be built any more."""


class _BuildOnce:
    """Builds and serves the app for whichever asks first: the window's thread, or the main thread when the
    window failed; a second caller waits for the first's result. Once cancelled, nothing is built any more."""

    def __init__(self, build: Callable[[], str]):
        self._build = build
        self._lock = threading.Lock()
        self._done = False
        self._url: str | None = None
        self._error: BaseException | None = None

    def __call__(self) -> str:
        with self._lock:
            if not self._done:
                self._done = True
                try:
                    self._url = self._build()
                except BaseException as exc:
                    self._error = exc
        if self._error is not None:
            raise self._error
        if self._url is None:
            raise LaunchOver()
        return self._url

    def cancel(self) -> None:
        """No build from now on; a build under way is waited for (its server is then stopped in order)."""
        with self._lock:
            self._done = True


class _StartWithoutGC:
    """Python's cyclic garbage collector waits while the launch starts (issue 27, the window's first page).

    The start is imports and the app's build: ~140 collections that find next to nothing (modules, classes and the
    app live as long as the process), 45-75 ms of the window's process before its page is on screen. At the end of
    the start (resume: the app serves and the window was asked for it) what the start made is frozen (gc.freeze:
    never scanned again) and the collector is back on; without the freeze, its first collection would scan all of
    it at once, just as the page loads. A collector someone else had turned off stays off."""

    def __init__(self):
        self._paused = False

    def pause(self) -> None:
        if gc.isenabled():
            gc.disable()
            self._paused = True

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            gc.freeze()
            gc.enable()


class _StopSignals:
    """SIGINT/SIGTERM end a launch in order (window closed, server stopped, store closed) instead of
    killing it mid-write."""

    def __init__(self, on_stop: Callable[[], None] | None = None):
        self.event = threading.Event()
        self.on_stop = on_stop
        self._old: dict[int, Any] = {}

    def _stop(self, *_args) -> None:
        self.event.set()
        if self.on_stop is not None:
            self.on_stop()

    def __enter__(self) -> threading.Event:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._stop)
        return self.event

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def run(mode: str, *, home: str | os.PathLike | None = None, port: int = 0, trust_demo: bool = False,
        config: dict | None = None, out: TextIO | None = None, err: TextIO | None = None,
        verbose: bool = False, on_window: Callable[[Any], None] | None = None,
        banner: Callable[[str], None] | None = None, lock: InstanceLock | None = None,
        prepare_app: Callable[[Any], None] | None = None) -> int:
    """One launch in mode window|browser|serve; returns the process exit code.

    on_window(window) runs in its own thread once the window is up (tests probe it there);
    banner(launch_url) prints what the user needs before the app opens (rentdesk demo);
    lock is the data folder's lock when the caller took it already (rentdesk demo does, before
    it starts its license server); it is released here either way; prepare_app(app) runs once the
    Flask app exists, before it serves (the demo unlocks its store there).
    """
    from . import create_app, launch_url, paths

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    out = out or sys.stdout
    err = err or sys.stderr
    home = Path(home).expanduser().resolve() if home else paths.data_dir()

    window = None
    if mode == "window":
        from . import desktop

        problem = desktop.window_problem()
        if problem:
            print(f"RentDesk cannot open its window: {problem}\nOpening it in your web browser instead.",
                  file=err, flush=True)
            mode = "browser"

    try:
        if lock is None:
            lock = InstanceLock(home).acquire()
    except ForeignFolder as foreign:
        print(str(foreign), file=err, flush=True)
        return EXIT_FOREIGN_FOLDER
    except AlreadyRunning as running:
        # The running one owns the store; we never open it a second time.
        if mode != "serve":
            shown = ask_to_show(running.info)
            if shown:
                print(f"RentDesk is already running on {home}; brought it to the front ({shown}).",
                      file=err, flush=True)
                return EXIT_OK
        print(str(running), file=err, flush=True)
        return EXIT_ALREADY_RUNNING

    quiet_request_log(verbose)
    app = server = None
    start_gc = _StartWithoutGC()
    start_gc.pause()
    # Signals are caught from here on, before anyone can learn our URL and ask us to stop.
    stopper = _StopSignals()
    stop = stopper.__enter__()
    try:
        def show() -> str:
            if window is not None:
                window.bring_to_front()
                return "window"
            if mode == "browser":
                open_in_browser(app, home, server.port)  # the first secret is spent: a fresh one
                return "browser"
            return ""  # serve: nothing to bring forward; the later launch is refused

        def start_app() -> str:
            """Build the app, serve it on loopback, tell later launches where; the launch URL."""
            nonlocal app, server
            settings = {"RENTDESK_HOME": str(home), "TRUST_DEMO_KEY": bool(trust_demo)}
            settings.update(config or {})
            app = create_app(settings)
            if prepare_app is not None:
                prepare_app(app)
            server = LocalServer(InstanceControl(app, lock.token, show), port=port)
            url = launch_url(app, LOOPBACK, server.port)
            server.start()
            lock.publish(port=server.port, mode=mode)
            if banner:
                banner(url)
            return url

        if mode == "window":
            from . import desktop

            # The window opens first, on a placeholder, and the app is built beside it from the start: the
            # toolkit's loading (GTK's and WebKit's libraries, mostly outside Python's lock) and the web view's own
            # start (its processes, the first paint) overlap the app's imports instead of coming before them.
            window = desktop.DesktopWindow()
            stopper.on_stop = window.close
            if stop.is_set():
                return EXIT_OK
            build = _BuildOnce(start_app)
            failed: list[BaseException] = []

            def build_early() -> None:
                try:
                    build()
                except BaseException:  # kept by build: raised again to whoever asks for the URL below
                    pass

            threading.Thread(target=build_early, name="build-app", daemon=True).start()

            def serve_then_load(opened) -> None:
                try:
                    url = build()
                except LaunchOver:
                    return
                except BaseException as exc:  # raised again on the main thread once the window is closed
                    failed.append(exc)
                    opened.close()
                    return
                asked = opened.load(url)
                start_gc.resume()  # the window has its page to load: the start is over
                if asked and on_window is not None:
                    on_window(opened)

            try:
                window.open(on_started=serve_then_load)
            except Exception as exc:  # the window did not start after all: the browser still works
                print(f"RentDesk cannot open its window: {exc}\nOpening it in your web browser instead.",
                      file=err, flush=True)
                window.abandon()
                window, stopper.on_stop, mode = None, None, "browser"
                build()  # built beside the window already, or now; its own error if it failed
                start_gc.resume()
                lock.publish(port=server.port, mode=mode)
            else:
                build.cancel()  # closed while the app was being built: wait for it, so the clean-up stops it
                if failed:
                    raise failed[0]
                return EXIT_OK
        else:
            url = start_app()
            start_gc.resume()

        if mode == "browser":
            opened, page = open_in_browser(app, home, server.port)
            note = "" if opened else " (no web browser could be started: open it yourself)"
            # the file, not the URL: a terminal's scrollback is no place for the launch secret
            print(f"RentDesk is running. Open this page in your browser{note}:\n{page.as_uri()}\n"
                  "Press Ctrl+C to stop.", file=out, flush=True)
        else:
            # serve: the launch URL is the one line on stdout, for scripts and tests.
            print(url, file=out, flush=True)
        while not stop.wait(0.5):  # a timed wait lets Ctrl+C through on Windows too
            pass
        return EXIT_OK
    finally:
        start_gc.resume()
        stopper.__exit__(None, None, None)
        (home / OPEN_FILE).unlink(missing_ok=True)
        if server is not None:
            server.stop()
        if app is not None:
            close_app(app)
        lock.release()
