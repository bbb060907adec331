"""A real X display for window tests: Debian's Xvfb with -fbdir, whose framebuffer file (XWD) is
read directly as the screenshot, and a tiny PNG writer to keep what was seen."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

XWD_HEADER = struct.Struct(">25I")


@dataclass
class Screenshot:
    width: int
    height: int
    pixels: bytes  # RGB, row after row

    def rgb(self, x: int, y: int) -> tuple[int, int, int]:
        i = (y * self.width + x) * 3
        return self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]

    def crop(self, left: int, top: int, right: int, bottom: int) -> "Screenshot":
        rows = [self.pixels[(y * self.width + left) * 3:(y * self.width + right) * 3] for y in range(top, bottom)]
        return Screenshot(right - left, bottom - top, b"".join(rows))

    def colours(self) -> Counter:
        """How many pixels have each colour (sampled every 2 pixels: plenty to tell a page from a blank)."""
        counts: Counter = Counter()
        p = self.pixels
        for y in range(0, self.height, 2):
            row = y * self.width * 3
            for x in range(0, self.width, 2):
                i = row + x * 3
                counts[(p[i], p[i + 1], p[i + 2])] += 1
        return counts

    def save_png(self, path: str | os.PathLike) -> Path:
        raw = b"".join(b"\x00" + self.pixels[y * self.width * 3:(y + 1) * self.width * 3] for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
        path = Path(path)
        path.write_bytes(png)
        return path


def read_xwd(path: str | os.PathLike) -> Screenshot:
    """Decode a 24/32-bit TrueColor XWD file (what Xvfb -fbdir keeps in memory-mapped form)."""
    data = Path(path).read_bytes()
    h = XWD_HEADER.unpack_from(data)
    header_size, _ver, _fmt, depth, width, height = h[:6]
    byte_order, bits_per_pixel, bytes_per_line = h[7], h[11], h[12]
    red_mask, green_mask, blue_mask = h[14:17]
    ncolors = h[19]
    if bits_per_pixel != 32 or depth not in (24, 32):
        raise ValueError(f"expected a 24-bit screen with 32 bits per pixel, got depth {depth}/{bits_per_pixel} bpp")
    offset = header_size + ncolors * 12
    if bytes_per_line != width * 4 or byte_order != 0 or (red_mask, green_mask, blue_mask) != (0xFF0000, 0xFF00, 0xFF):
        raise ValueError("expected Xvfb's little-endian 0x00RRGGBB pixels")
    raw = data[offset:offset + height * bytes_per_line]
    out = bytearray(width * height * 3)
    # each pixel is B, G, R, unused in memory: slice the channels out in one go
    out[0::3], out[1::3], out[2::3] = raw[2::4], raw[1::4], raw[0::4]
    return Screenshot(width, height, bytes(out))


class Xvfb:
    """Debian's Xvfb on a free display number, its framebuffer in a temp folder."""

    def __init__(self, width: int = 1280, height: int = 900):
        self.width, self.height = width, height
        self.fbdir = Path(tempfile.mkdtemp(prefix="rentdesk-xvfb-"))
        self.proc: subprocess.Popen | None = None
        self.display = ""

    def __enter__(self) -> "Xvfb":
        xvfb = shutil.which("Xvfb")
        if xvfb is None:
            raise RuntimeError("Xvfb is missing: install the Debian package xvfb (make test does)")
        # -displayfd: Xvfb picks a free display and writes its number once it accepts clients.
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            [xvfb, "-displayfd", str(write_fd), "-screen", "0", f"{self.width}x{self.height}x24",
             "-fbdir", str(self.fbdir), "-nolisten", "tcp"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"
        return self

    def screenshot(self) -> Screenshot:
        return read_xwd(self.fbdir / "Xvfb_screen0")

    def wait_for(self, condition, timeout: float = 60.0, every: float = 0.25) -> Screenshot:
        """Poll the screen until condition(shot) holds (an event we wait for, not a time we sleep)."""
        deadline = time.monotonic() + timeout
        shot = self.screenshot()
        while not condition(shot):
            if time.monotonic() > deadline:
                return shot
            time.sleep(every)
            shot = self.screenshot()
        return shot

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.fbdir, ignore_errors=True)
