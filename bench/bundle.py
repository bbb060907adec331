"""What a technician downloads and waits for (issue 25): the .deb's and the bundle's sizes, and the seconds from
launching the bundle (dist/rentdesk/rentdesk, as /opt/rentdesk/rentdesk runs once installed) until its window
shows the unlock page on the screen (Debian's Xvfb, the system's WebKitGTK, software rendering).

The clock starts when the process is spawned and stops at the first framebuffer in which the page's ground
fills much of the screen and its accent colour (the Unlock button) is painted: the placeholder shown while the
app starts has the ground only, a blank window neither. One warm-up launch is not counted (page cache); the
figure is the median of the others. `make bench` builds the bundle and the .deb first when they are missing.
"""

from __future__ import annotations

import mmap
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import ROOT, Missing, bench_main, spawn, stop, temp_dir  # noqa: E402

FIGURES = ("window_content_s", "deb_mb", "bundle_mb")
DIST = ROOT / "dist"
BUNDLE = DIST / "rentdesk"
PASSPHRASE = "bench passphrase 1"
MB = 1_000_000


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _bgr(rgb: tuple[int, int, int]) -> bytes:
    """A colour as the first three bytes of Xvfb's 32-bit little-endian pixel (B, G, R, then an unused byte)."""
    return bytes((rgb[2], rgb[1], rgb[0]))


class PageOnScreen:
    """The test suite's "styled page" check (tests/desktop/helpers.py), on the raw framebuffer: counting two
    pixel values in C keeps the poll cheap, so the watcher does not slow the launch it times."""

    def __init__(self, framebuffer: Path, width: int, height: int):
        from tests.desktop.helpers import stylesheet_colour

        self.framebuffer = framebuffer
        self.pixels = width * height
        self.ground = _bgr(stylesheet_colour("ground"))
        self.accent = _bgr(stylesheet_colour("accent"))

    def shown(self) -> bool:
        with open(self.framebuffer, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            view = bytes(data)
        # the helpers' check samples every other pixel both ways: 300 sampled accent pixels are ~1,200 here
        return view.count(self.ground) > self.pixels * 0.3 and view.count(self.accent) > 1_200


def launch_once(program: Path, home: Path, display: str, screen: PageOnScreen, timeout_s: float = 60.0) -> float:
    started = time.perf_counter()
    proc = spawn([str(program), "--home", str(home)], env={"DISPLAY": display},
                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not screen.shown():
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace").strip().splitlines()[-1:] or ["no stderr"]
                raise RuntimeError(f"the bundle exited {proc.returncode} before showing its page: {err[0]}")
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"the bundle showed no page within {timeout_s} s")
            time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        stop(proc)


def compute(args) -> dict:
    program = BUNDLE / "rentdesk"
    debs = sorted(DIST.glob("rentdesk_*.deb"))
    if not program.exists():
        raise Missing("no bundle: dist/rentdesk/rentdesk not built (make bench builds it; or run make dist)")
    result: dict = {"_reasons": {}, "bundle_mb": folder_bytes(BUNDLE) / MB}
    if debs:
        result["deb_mb"] = debs[-1].stat().st_size / MB
        listing = subprocess.run(["dpkg-deb", "--field", str(debs[-1]), "Installed-Size"], capture_output=True,
                                 text=True)
        if listing.returncode == 0 and listing.stdout.strip().isdecimal():
            result["deb_installed_mb"] = int(listing.stdout) * 1024 / MB
    else:
        result["deb_mb"] = None
        result["_reasons"]["deb_mb"] = "no dist/rentdesk_*.deb (make dist makes it)"
    from app import store
    from tests.desktop.screen import Xvfb

    runs = 3 if args.quick else 7
    with temp_dir("rentdesk-bench-window-") as home, Xvfb() as xvfb:
        store.create(home, PASSPHRASE).close()
        screen = PageOnScreen(xvfb.fbdir / "Xvfb_screen0", xvfb.width, xvfb.height)
        launch_once(program, home, xvfb.display, screen)  # warm-up: page cache, WebKit's caches
        times = [launch_once(program, home, xvfb.display, screen) for _ in range(runs)]
    result["window_content_s"] = statistics.median(times)
    result["window_content_min_s"], result["window_content_max_s"] = min(times), max(times)
    return result


if __name__ == "__main__":
    bench_main(__doc__.splitlines()[0], FIGURES, compute)
