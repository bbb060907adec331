"""Running the real `rentdesk` program in tests: a process whose output we read line by line, a
browser stand-in that records what it was asked to open, and an HTTP session holding the launch cookie."""

from __future__ import annotations

import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import httpx

if TYPE_CHECKING:
    from .screen import Screenshot

ROOT = Path(__file__).resolve().parents[2]
RENTDESK = Path(sys.executable).parent / "rentdesk"  # the console script pyproject declares
LAUNCH_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/launch\?secret=\S+")
#: What `rentdesk --browser` opens and prints: its private redirect file, never the launch URL (DESIGN §6).
OPEN_FILE_URI = re.compile(r"file://\S+/rentdesk-open\.html")
WAIT_S = 60.0
#: Where window tests keep what the screen showed, for a person to look at (ignored by git).
SCREENSHOTS = ROOT / "build" / "out" / "screenshots"
SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a launch: no display unless a test gives one, no inherited data folder."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DISPLAY", "WAYLAND_DISPLAY", "RENTDESK_HOME", "BROWSER"}}
    env.update(extra)
    return env


class Running:
    """A started program: stdout and stderr are pumped by threads so reads can wait with a deadline."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: str | os.PathLike | None = None):
        self.args = args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env if env is not None else clean_env(), cwd=cwd or ROOT)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._pumps = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout, True), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr, False), daemon=True)]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stream, keep: list[str], to_queue: bool) -> None:
        for line in stream:
            keep.append(line)
            if to_queue:
                self.lines.put(line)
        if to_queue:
            self.lines.put(None)

    def wait_for_line(self, pattern: str | re.Pattern, timeout: float = WAIT_S) -> re.Match:
        """The first stdout line matching pattern; fails with everything seen when it never comes."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                line = ""
                if time.monotonic() >= deadline:
                    raise AssertionError(f"no line matching {regex.pattern!r} within {timeout}s\n{self.output()}")
            if line is None:
                self.proc.wait(timeout=10)
                raise AssertionError(f"{self.args[0]} ended (rc={self.proc.returncode}) before printing "
                                     f"{regex.pattern!r}\n{self.output()}")
            match = regex.search(line)
            if match:
                return match

    def launch_url(self, timeout: float = WAIT_S) -> str:
        return self.wait_for_line(LAUNCH_URL, timeout).group(0)

    def open_file_uri(self, timeout: float = WAIT_S) -> str:
        """The redirect file browser mode opened and printed (file:// URI)."""
        return self.wait_for_line(OPEN_FILE_URI, timeout).group(0)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, the orderly way out; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._close()
            raise AssertionError(f"{self.args[0]} did not stop within {timeout}s of SIGTERM\n{self.output()}")
        self._close()
        return rc

    def finish(self, timeout: float = WAIT_S) -> int:
        """Wait for a program that ends by itself."""
        rc = self.proc.wait(timeout=timeout)
        self._close()
        return rc

    def _close(self) -> None:
        """Read the pipes to their end, then close them (the process has ended)."""
        for pump in self._pumps:
            pump.join(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()

    def output(self) -> str:
        return f"--- stdout\n{''.join(self.stdout)}--- stderr\n{''.join(self.stderr)}"

    def __enter__(self) -> "Running":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.proc.stdout.closed:
            self._close()


def rentdesk(*args: str, env: dict[str, str] | None = None, program: str | os.PathLike = RENTDESK) -> Running:
    return Running([str(program), *args], env=env)


def run_to_end(*args: str, env: dict[str, str] | None = None, program: str | os.PathLike = RENTDESK,
               timeout: float = WAIT_S) -> subprocess.CompletedProcess:
    return subprocess.run([str(program), *args], capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else clean_env(), cwd=ROOT)


def make_browser_recorder(folder: Path) -> tuple[Path, Path]:
    """A stand-in for the default browser (webbrowser honours $BROWSER): it writes each URL it gets."""
    log = folder / "opened.txt"
    script = folder / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def launch_url_in(file_uri: str) -> str:
    """The launch URL a redirect file sends the browser to."""
    from urllib.parse import unquote, urlsplit

    page = Path(unquote(urlsplit(file_uri).path)).read_text(encoding="utf-8")
    match = re.search(r'content="0;url=(http://127\.0\.0\.1:\d+/launch\?secret=[^"&]+)"', page)
    assert match, page
    return match.group(1)


def opened_urls(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").split() if log.exists() else []


def wait_until(condition, timeout: float = WAIT_S, every: float = 0.05):
    """Poll for an event (a file written, a line logged); fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(every)


@contextmanager
def open_session(launch_url: str) -> Iterator[tuple[httpx.Client, httpx.Response]]:
    """An HTTP client that followed the launch URL: it holds the launch cookie, like the window does."""
    base = launch_url.split("/launch", 1)[0]
    with httpx.Client(base_url=base, follow_redirects=True, timeout=30.0) as client:
        yield client, client.get(launch_url)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token"\s+value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"\s+name="csrf_token"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def make_store(home: Path, passphrase: str = "correct horse battery", **kwargs) -> None:
    """A data folder with a store in it, so the app's first page is the unlock page."""
    from app import services

    services.initialise(home, passphrase, **kwargs).close()


def unlock_and_sync(client: httpx.Client, passphrase: str) -> httpx.Response:
    """What a technician does in the window: unlock, then press "Sync now"."""
    unlock = client.get("/unlock")
    opened = client.post("/unlock", data={"csrf_token": csrf_of(unlock.text), "passphrase": passphrase})
    assert opened.url.path.startswith("/accounts"), opened.text[:500]
    return press_sync(client)


def press_sync(client: httpx.Client) -> httpx.Response:
    """The "Sync now" button of the sync screen."""
    sync_page = client.get("/sync/")
    return client.post("/sync/run", data={"csrf_token": csrf_of(sync_page.text)})


def stylesheet_colour(name: str) -> tuple[int, int, int]:
    """A colour the app's stylesheet defines (static/rentdesk.css :root), as RGB."""
    css = (ROOT / "static" / "rentdesk.css").read_text(encoding="utf-8")
    match = re.search(rf"--{name}:\s*#([0-9a-fA-F]{{6}})\b", css)
    assert match, f"static/rentdesk.css no longer defines --{name} as #rrggbb: update this test"
    value = match.group(1)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def shows_the_styled_page(shot: "Screenshot") -> bool:
    """Painted with our stylesheet: its page ground fills much of the screen and its accent (the
    Unlock button) is there as a solid patch. A blank or unstyled window has neither."""
    colours = shot.colours()
    total = sum(colours.values())
    return (colours[stylesheet_colour("ground")] > total * 0.3
            and colours[stylesheet_colour("accent")] > 300)


