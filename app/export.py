"""`rentdesk export`: the technician's own data out of the encrypted store, as JSON and CSV files.

No standard tool opens a SQLCipher 4 store (Debian's sqlcipher CLI is 3.x), so after the passphrase this
writes what the store holds: accounts, PBXs and their licenses, the queue of changes not yet synced, and
the statements pulled from the server. Amounts are iSC with 3 decimals, rounded down, as on screen.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from rental.money import format_milli, ticks_to_milli_floor

from . import services
from .csvfile import csv_text

FILES = ("rentdesk-export.json", "accounts.csv", "pbxs.csv", "queue.csv", "statement.csv")


class ExportRefused(Exception):
    """The export folder cannot be used; the message says why and what to type instead."""


def _isc(milli: int) -> str:
    """iSC as plain text for files: dot decimal, no grouping, no unit."""
    return format_milli(milli).replace(" iSC", "").replace(",", "")


def refuse_existing(dest: Path) -> None:
    """An existing folder (or file, or link) is never written into: another user may have put files or links there
    (issue 23). Checked before the passphrase is asked; the folder's creation checks again, atomically."""
    if os.path.lexists(dest):
        raise ExportRefused(f"{dest} exists already: export writes only into a new folder it makes itself, so that "
                            f"no one else can have put files or links in it. Name a folder that does not exist yet, "
                            f"e.g. {dest.name}-2.")


class _PrivateFolder:
    """A folder this process made (0700, ours), written through its descriptor: each file is new (O_EXCL), never
    a link followed (O_NOFOLLOW), 0600 from its first byte."""

    def __init__(self, dest: Path):
        self.path = dest
        try:
            os.mkdir(dest, 0o700)
        except FileExistsError:
            refuse_existing(dest)
            raise  # pragma: no cover - lexists said no, mkdir said yes: re-raised as it is
        except FileNotFoundError:
            raise ExportRefused(f"{dest.parent} does not exist: export makes one new folder, in a folder that "
                                "exists (create the parent first).") from None
        self.fd = None
        if _DIR_FD:
            self.fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            st = os.fstat(self.fd)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():  # swapped under us: refuse
                os.close(self.fd)
                raise ExportRefused(f"{dest} changed hands while it was being made: nothing was written.")
            os.fchmod(self.fd, 0o700)  # whatever the umask

    def write(self, name: str, text: str) -> Path:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        if self.fd is not None:
            fd = os.open(name, flags, 0o600, dir_fd=self.fd)
        else:  # Windows: no descriptor of a folder; the folder is new and private to the user's profile
            fd = os.open(self.path / name, flags | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        return self.path / name

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FD = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY") and bool(_NOFOLLOW)


def export_data(store: services.Store, clock, dest: str | os.PathLike) -> list[Path]:
    """Write FILES into the new folder dest (made here, 0700; an existing one is refused) and return their paths."""
    dest = Path(dest).expanduser()
    refuse_existing(dest)
    accounts = services.list_accounts(store.unit_of_work(), clock)
    details = [services.account_detail(store.unit_of_work(), clock, a.account_id) for a in accounts]
    queue = services.queued_ops(store.unit_of_work(), clock)
    statements = []
    for view in details:
        try:
            statements.append((view, services.statement(store.unit_of_work(), view.account_id, 0,
                                                          view.confirmed.at + 86_400, clock)))
        except services.NotFound:
            pass  # created offline, never synced: no ledger yet
    document = {
        "exported_at": clock.now(),
        "accounts": [{
            "account_id": v.account_id, "name": v.name, "contact_email": v.contact_email,
            "cloud_contract": v.cloud_contract, "language": v.language, "status": v.confirmed.status,
            "confirmed_by_server": v.is_confirmed, "balance_milli": ticks_to_milli_floor(v.confirmed.balance_ticks),
            "monthly_milli": v.confirmed.monthly_milli, "ends_at": v.confirmed.ends_at, "as_of": v.confirmed.at,
            "price_version": v.price_version,
            "pbxs": [{"pbx_id": p.pbx_id, "name": p.name, "serial": p.serial, "platform": p.platform,
                      "hardware_model": p.hardware_model, "firmware": p.firmware, "mode": p.mode, "status": p.status,
                      "licenses": [{"ref": l.ref, "name": l.name, "qty": l.qty, "monthly_milli": l.monthly_milli}
                                   for l in p.licenses],
                      "queued_licenses": None if p.pending_licenses is None else [
                          {"ref": l.ref, "qty": l.qty} for l in p.pending_licenses]} for p in v.pbxs],
        } for v in details],
        "queue": [{"op_id": op.op_id, "seq": op.seq, "kind": op.kind, "account_id": op.account_id,
                   "summary": op.summary.message, "summary_code": op.summary.code,
                   "summary_params": dict(op.summary.params), "state": op.state, "rule": op.rule, "message": op.message,
                   "created_at": op.created_at} for op in queue],
        "statements": [{"account_id": v.account_id, "rows": [
            {"pbx": r.pbx_name, "ref": r.ref, "item": r.item_name, "qty": r.qty, "seconds": r.seconds,
             "unit_monthly_milli": r.unit_monthly_milli, "amount_milli": r.milli}
            for r in s.rows], "charged_milli": ticks_to_milli_floor(s.charged_ticks),
            "credited_milli": ticks_to_milli_floor(s.credited_ticks)} for v, s in statements],
    }
    accounts_rows = [["account_id", "name", "contact_email", "status", "balance_isc", "monthly_isc",
                      "ends_at_utc_s"]] + [
        [v.account_id, v.name, v.contact_email, v.confirmed.status,
         _isc(ticks_to_milli_floor(v.confirmed.balance_ticks)), _isc(v.confirmed.monthly_milli),
         v.confirmed.ends_at or ""] for v in details]
    pbx_rows = [["account", "pbx_id", "pbx", "serial", "platform", "firmware", "mode", "ref", "item", "qty",
                 "monthly_isc_each"]] + [
        [v.name, p.pbx_id, p.name, p.serial, p.platform, p.firmware, p.mode, l.ref, l.name, l.qty,
         _isc(l.monthly_milli)] for v in details for p in v.pbxs for l in (p.licenses or ())]
    queue_rows = [["seq", "kind", "account_id", "summary", "state", "rule", "message", "created_at_utc_s"]] + [
        [op.seq, op.kind, op.account_id, op.summary.message, op.state, op.rule or "", op.message or "",
         op.created_at] for op in queue]
    statement_rows = [["account", "pbx", "ref", "item", "qty", "unit_monthly_isc", "seconds", "amount_isc"]] + [
        [v.name, r.pbx_name, r.ref, r.item_name, r.qty, _isc(r.unit_monthly_milli), r.seconds,
         _isc(r.milli)] for v, s in statements for r in s.rows]
    texts = [json.dumps(document, indent=2, ensure_ascii=False)] + [
        csv_text(rows) for rows in (accounts_rows, pbx_rows, queue_rows, statement_rows)]
    folder = _PrivateFolder(dest)
    try:
        return [folder.write(name, text) for name, text in zip(FILES, texts)]
    finally:
        folder.close()
