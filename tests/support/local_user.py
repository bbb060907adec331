"""A second local user for attack tests (issue 23): made with `useradd` when missing (the tests run as root, as CI
does), and commands run as that user with `setpriv`, with no group of ours.

    attacker = local_user()                      # LocalUser(name, uid, gid)
    attacker.run("sh", "-c", "cat /some/file")   # CompletedProcess, as that user
"""

from __future__ import annotations

import os
import pwd
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

NAME = "rentdesk-attacker"


@dataclass(frozen=True)
class LocalUser:
    name: str
    uid: int
    gid: int

    def run(self, *command: str, check: bool = False) -> subprocess.CompletedProcess:
        """command as this user: real and effective ids switched, supplementary groups cleared."""
        return subprocess.run(["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                               "--reset-env", "--", *command], capture_output=True, text=True, timeout=60,
                              check=check, cwd="/")


def local_user(name: str = NAME) -> LocalUser:
    """The second user, created when missing (needs root: on CI the suite runs as root)."""
    if os.geteuid() != 0:
        raise RuntimeError("the attack tests need root to create and become a second local user (CI runs as root)")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        done = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                              capture_output=True, text=True)
        if done.returncode not in (0, 9):  # 9: made meanwhile by another test process
            raise RuntimeError(f"useradd {name} failed: {done.stderr.strip()}")
        entry = pwd.getpwnam(name)
    return LocalUser(name, entry.pw_uid, entry.pw_gid)


def shared_folder() -> Path:
    """A folder every local user may write into, like /tmp (sticky: each removes only their own entries)."""
    folder = Path(tempfile.mkdtemp(prefix="rentdesk-shared-", dir="/tmp"))
    os.chmod(folder, 0o1777)
    return folder
