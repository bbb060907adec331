"""Who may change a file or folder (DESIGN §6): its owner, and whoever its permissions let write it.

Kept apart from app/private.py, which makes the data folder private, so that what reads files there (the trusted keys,
app/trusted_keys.py) can ask the same questions without importing the store's errors.
"""

from __future__ import annotations

import os
import stat
import sys

#: POSIX modes and owners say who may write (Windows keeps a user's profile private through ACLs instead).
ENFORCED = sys.platform != "win32"
#: The administrator: may own a link on the way to the data folder, a trusted key file, and talk to the app
#: (app/web/security.py).
ROOT_UID = 0


def open_mode(path: str | os.PathLike) -> str | None:
    """The permissions of path ("0777") when users other than this one may write it, else None: writable by
    others, or by a group that is not the user's own private group."""
    st = os.stat(path)
    if st.st_mode & stat.S_IWOTH or (st.st_mode & stat.S_IWGRP and not _is_private_group(st.st_gid)):
        return f"{stat.S_IMODE(st.st_mode):04o}"
    return None


def is_ours(path: str | os.PathLike) -> bool:
    """True when this user (or the administrator) owns path and, when it is a link, the link too."""
    me = os.geteuid()
    return all(st.st_uid in (me, ROOT_UID) for st in (os.lstat(path), os.stat(path)))


def _is_private_group(gid: int) -> bool:
    """True when gid is this user's own group: their primary group, named as they are, with no other member."""
    try:
        import grp
        import pwd

        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return gid == me.pw_gid and group.gr_name == me.pw_name and set(group.gr_mem) <= {me.pw_name}
