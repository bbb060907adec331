"""The vendor's public keys a technician adds without administrator rights (DESIGN §6 "Trusted keys"):
a key file read and checked, its fingerprint shown to compare, then saved in the per-user folder."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from rental.errors import KeyFormatError, RuleViolation
from rental.signing import DEMO_FINGERPRINT, Keyring

from . import ownership

#: A PEM Ed25519 public key is 113 bytes; a few kilobytes leave room for comments and line endings.
MAX_KEY_FILE = 4096
SUFFIX = ".pub"
#: The demo key pair is public knowledge (DESIGN §4): never trusted outside `rentdesk demo`.
DEMO_KID = "demo"


@dataclass(frozen=True)
class KeyFile:
    """A vendor's public key, read from its file and checked: what the technician compares, then trusts."""

    kid: str
    pem: str
    fingerprint: str


def _refuse(code: str, **params) -> RuleViolation:
    return RuleViolation.of(code, **params)


def _file_name(name: str) -> str:
    """The file's own name, whatever path a browser sends with it (C:\\fakepath\\…, folders)."""
    return PureWindowsPath(name or "").name.strip()


def read_key_file(name: str, data: bytes, size: int | None = None) -> KeyFile:
    """The key in a vendor's `<kid>.pub` file, checked; a RuleViolation (rule trusted-key) says what is wrong.

    size is the file's whole size when data is only its first MAX_KEY_FILE + 1 bytes (an upload read no further).
    """
    name = _file_name(name)
    if not name and not data:
        raise _refuse("key-file-missing")
    if len(data) > MAX_KEY_FILE:
        raise _refuse("key-file-too-large", name=name, size=max(size or 0, len(data)), max=MAX_KEY_FILE)
    if b"PRIVATE KEY" in data:
        raise _refuse("key-file-private", name=name)
    kid = name[: -len(SUFFIX)] if name.lower().endswith(SUFFIX) else ""
    ring = Keyring()
    try:
        ring.add(kid, data)
    except KeyFormatError as refused:
        code = "key-file-not-ed25519" if refused.code == "trusted-key-not-ed25519" else "key-file-unreadable"
        raise _refuse(code, name=name) from None
    except ValueError:  # the kid: rental.signing names what a kid may be
        raise _refuse("key-file-name", name=name) from None
    fingerprint = ring.fingerprint(kid)
    if kid == DEMO_KID or fingerprint == DEMO_FINGERPRINT:
        raise _refuse("key-file-demo", name=name)
    return KeyFile(kid=kid, pem=data.decode("ascii", "replace").strip() + "\n", fingerprint=fingerprint)


def already_trusted(key: KeyFile, trusted: Keyring) -> bool:
    """True when this very key is trusted already; a RuleViolation when another key has its name (no replacing:
    a vendor rotates to a new kid, DESIGN §4)."""
    if key.kid not in trusted:
        return False
    held = trusted.fingerprint(key.kid)
    if held != key.fingerprint:
        raise _refuse("key-file-kid-taken", kid=key.kid, fingerprint=held)
    return True


def save_key(folder: str | os.PathLike, key: KeyFile, fingerprint_shown: str) -> Path:
    """Write `<kid>.pub` into the technician's folder (made 0700, the file 0600), once they compared the
    fingerprint shown; the key is read again from what is written, so what is trusted is what was shown."""
    checked = read_key_file(key.kid + SUFFIX, key.pem.encode("ascii", "replace"))
    if checked.fingerprint != fingerprint_shown:
        raise _refuse("key-file-changed")
    folder = Path(folder)
    target = folder / (checked.kid + SUFFIX)
    tmp = folder / f".{checked.kid}{SUFFIX}.tmp"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(checked.pem)
        os.replace(tmp, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise _refuse("key-file-unwritable", folder=str(folder), detail=error.strerror or str(error)) from None
    return target


def _unsafe_folder(folder: Path) -> RuleViolation | None:
    """Why no key of folder may be trusted, or None: another user owns it, or may write in it (they could put a
    key file there, and what it signs would look genuine, DESIGN §6), as SSH judges ~/.ssh."""
    if not ownership.ENFORCED:
        return None
    try:
        mode = ownership.open_mode(folder)
        if not ownership.is_ours(folder) or mode is not None:
            return _refuse("key-folder-open", folder=str(folder), mode=mode or _mode(folder))
    except OSError:
        return None  # gone meanwhile: its files are not read either
    return None


def _check_file_is_ours(file: Path) -> None:
    """RuleViolation when another user owns the key file, or may change it."""
    if not ownership.ENFORCED:
        return
    mode = ownership.open_mode(file)
    if not ownership.is_ours(file) or mode is not None:
        raise _refuse("key-file-open", name=file.name, mode=mode or _mode(file))


def _mode(path: Path) -> str:
    return f"{os.stat(path).st_mode & 0o7777:04o}"


def add_user_keys(ring: Keyring, folder: str | os.PathLike | None) -> list[tuple[str, RuleViolation]]:
    """Trust the keys of the technician's folder too (beside the bundle's, which win a clash); the files that
    cannot be trusted are left out and listed with why, for the first-run screen to show."""
    skipped: list[tuple[str, RuleViolation]] = []
    if not folder or not Path(folder).is_dir():
        return skipped
    unsafe = _unsafe_folder(Path(folder))
    for file in sorted(Path(folder).glob("*" + SUFFIX)):
        try:
            if unsafe is not None:
                raise unsafe
            _check_file_is_ours(file)
            key = read_key_file(file.name, file.read_bytes())
            if not already_trusted(key, ring):
                ring.add(key.kid, key.pem)
        except RuleViolation as refused:
            skipped.append((file.name, refused))
        except OSError as error:
            skipped.append((file.name, _refuse("key-file-unreadable", name=f"{file.name} ({error.strerror})")))
    return skipped
