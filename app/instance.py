"""One RentDesk per data folder: a held file lock, and a note of the running one's port so a
second launch reaches it (bring its window forward) instead of opening the store twice.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from pathlib import Path

LOCK_FILE = "rentdesk.lock"
#: Separate from the lock file: on Windows a locked byte range cannot be read by others.
INFO_FILE = "rentdesk.instance.json"
#: The path the running instance answers "show yourself" on (see launcher.InstanceControl).
SHOW_PATH = "/__rentdesk__/show"
TOKEN_HEADER = "X-RentDesk-Instance"


class AlreadyRunning(Exception):
    """Another RentDesk holds this data folder; info is what it published (may be empty while it starts)."""

    def __init__(self, home: Path, info: dict):
        self.home = home
        self.info = info
        pid = info.get("pid", "?")
        port = info.get("port")
        where = f" on http://127.0.0.1:{port}/" if port else ""
        super().__init__(
            f"RentDesk is already running on the data folder {home} (process {pid}{where}). "
            "Use that window, or close it first; to run a second copy, give it another data "
            "folder with RENTDESK_HOME or --home.")


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on fd without waiting; the OS drops it when the process dies."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def read_info(home: str | os.PathLike) -> dict:
    """What the running instance published ({} when nothing readable is there)."""
    try:
        info = json.loads((Path(home) / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


class InstanceLock:
    """Held for the whole life of a launch; acquire() raises AlreadyRunning when another holds it.

    A crashed instance leaves its files behind but not its lock (the OS releases it), so a stale
    lock never blocks the next start.
    """

    def __init__(self, home: str | os.PathLike):
        self.home = Path(home)
        self.token = secrets.token_urlsafe(24)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "InstanceLock":
        from . import private

        private.make_folder(self.home)  # 0700 (DESIGN §6): a first launch makes the data folder here
        fd = os.open(self.home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            raise AlreadyRunning(self.home, read_info(self.home))
        self._fd = fd
        return self

    def publish(self, *, port: int, mode: str) -> None:
        """Tell a later launch where this one listens and how to prove it may ask it to show itself."""
        info = {"pid": os.getpid(), "port": port, "mode": mode, "token": self.token}
        path = self.home / INFO_FILE
        tmp = path.with_name(INFO_FILE + ".tmp")
        # 0600: the token lets its reader raise this window, nothing more, but it is still ours.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(info, f)
        os.replace(tmp, path)

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            (self.home / INFO_FILE).unlink(missing_ok=True)
        finally:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "InstanceLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def ask_to_show(info: dict, timeout: float = 5.0) -> str | None:
    """Ask the running instance to come to the front; its answer ("window", "browser", …) or None."""
    port, token = info.get("port"), info.get("token")
    if not port or not token:
        return None
    request = urllib.request.Request(
        f"http://127.0.0.1:{int(port)}{SHOW_PATH}", data=b"", method="POST",
        headers={TOKEN_HEADER: str(token)})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8")).get("shown")
    except (OSError, ValueError, urllib.error.URLError):
        return None
