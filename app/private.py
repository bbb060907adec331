"""The data folder is the technician's alone (DESIGN §6): folder 0700 and every file in it 0600, as SSH
and GnuPG keep theirs.

Under the usual umask 022, SQLite and open() make files 0644 and folders 0755: any local user could
copy the encrypted store and guess its passphrase offline, past the unlock throttle. So files are made
0600 from their first byte, and what an older version left readable is tightened at unlock. (Windows
keeps a user's profile folder private through ACLs, which chmod does not touch: nothing to do there.)
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from .ownership import ENFORCED, ROOT_UID, open_mode

FOLDER_MODE = 0o700
FILE_MODE = 0o600


#: What marks a folder as a RentDesk data folder (an existing folder is tightened only then: RENTDESK_HOME
#: pointed at a shared folder such as /tmp must not make it private).
MARKS = ("store.db", "store.header.json", "rentdesk.lock")


def make_folder(path: str | os.PathLike) -> Path:
    """The data folder (and missing parents), 0700; an existing one too when empty or already RentDesk's.
    ForeignFolder when another user owns it (or the link naming it): they could put a key file there."""
    path = Path(path)
    existed = path.is_dir()
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    if ENFORCED:
        check_owned(path)
        if not existed or is_data_folder(path):
            _chmod(path, FOLDER_MODE)
        else:
            check_closed(path)
    return path


def check_closed(path: Path) -> None:
    """OpenFolder when other users may write in a folder of ours that RentDesk leaves as it is (it holds other
    files, so it is not made private): they could plant a link where RentDesk writes (its instance note, written
    through whatever the name points at, would overwrite a file of the technician's) or a key file in its keys/
    (trusted), as SSH refuses such a ~/.ssh. A folder writable by the user's own private group (Debian's user
    private groups, umask 002) is the user's alone."""
    from .store_base import OpenFolder

    mode = open_mode(path)
    if mode is not None:
        raise OpenFolder(home=path, mode=mode)


def check_owned(path: Path) -> None:
    """ForeignFolder unless this user owns the folder, as SSH asks of ~/.ssh: a folder made beforehand by another
    user in a shared place (/tmp/rentdesk) is theirs to fill, empty it and swap files in. A link to it may be
    root's (a system's own layout), never another user's."""
    from .store_base import ForeignFolder

    me = os.geteuid()
    link, folder = os.lstat(path), os.stat(path)
    for st, allowed in ((folder, {me}), (link, {me, ROOT_UID})):
        if st.st_uid not in allowed:
            raise ForeignFolder(home=path, owner=_user_name(st.st_uid))


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"user {uid}"


def is_data_folder(path: Path) -> bool:
    try:
        return not any(path.iterdir()) or any((path / mark).exists() for mark in MARKS)
    except OSError:
        return False


def create_file(path: str | os.PathLike) -> None:
    """Make an empty 0600 file where none is, so a library that creates it 0644 finds it made already."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


def open_new(path: str | os.PathLike, mode: str = "w", **kwargs):
    """open(path, mode) for writing a fresh file that is 0600 from its first byte (it replaces any old one)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE)
    return os.fdopen(fd, mode, **kwargs)


def copy_file(src: str | os.PathLike, dest: str | os.PathLike) -> None:
    """shutil.copyfile, but the copy is 0600 from its first byte."""
    with open(src, "rb") as source, open_new(dest, "wb") as target:
        shutil.copyfileobj(source, target, 1 << 20)


def tighten(folder: str | os.PathLike) -> list[Path]:
    """A data folder 0700 and the files in it 0600 (what this user owns); the paths it changed."""
    folder = Path(folder)
    if not ENFORCED or not folder.is_dir() or not is_data_folder(folder):
        return []
    changed = [folder] if _chmod(folder, FOLDER_MODE) else []
    for entry in folder.iterdir():
        if entry.is_file() and not entry.is_symlink() and _chmod(entry, FILE_MODE):
            changed.append(entry)
    return changed


def _chmod(path: Path, mode: int) -> bool:
    """Set mode when it differs and the path is ours (not a link); True when it changed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid() or (st.st_mode & 0o777) == mode:
        return False
    try:
        os.chmod(path, mode)
    except OSError:  # a read-only disk: the store's own checks say so
        return False
    return True
