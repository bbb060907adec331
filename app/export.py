"""`rentdesk export`: the technician's own data out of the encrypted store, as JSON and CSV files.

No standard tool opens a SQLCipher 4 store (Debian's sqlcipher CLI is 3.x), so after the passphrase this
writes what the store holds: accounts, PBXs and their licenses, the queue of changes not yet synced, and
the statements pulled from the server. Amounts are iSC with 3 decimals, rounded down, as on screen.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from rental.money import format_milli, ticks_to_milli_floor

from . import services

FILES = ("rentdesk-export.json", "accounts.csv", "pbxs.csv", "queue.csv", "statement.csv")


def _isc(milli: int) -> str:
    """iSC as plain text for files: dot decimal, no grouping, no unit."""
    return format_milli(milli).replace(" iSC", "").replace(",", "")


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    os.chmod(path, 0o600)  # customer data: readable by the technician alone


def export_data(store: services.Store, clock, dest: str | os.PathLike) -> list[Path]:
    """Write FILES into the folder dest (made if missing, 0700) and return their paths."""
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    accounts = services.list_accounts(store.unit_of_work(), clock)
    details = [services.account_detail(store.unit_of_work(), clock, a.account_id) for a in accounts]
    queue = services.queued_ops(store.unit_of_work(), clock)
    statements = []
    for view in details:
        try:
            statements.append((view, services.statement(store.unit_of_work(), view.account_id, 0,
                                                          view.confirmed.at + 86_400)))
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
    written = [dest / name for name in FILES]
    written[0].write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    os.chmod(written[0], 0o600)
    _write_csv(written[1], ["account_id", "name", "contact_email", "status", "balance_isc", "monthly_isc",
                            "ends_at_utc_s"],
               [[v.account_id, v.name, v.contact_email, v.confirmed.status,
                 _isc(ticks_to_milli_floor(v.confirmed.balance_ticks)), _isc(v.confirmed.monthly_milli),
                 v.confirmed.ends_at or ""] for v in details])
    _write_csv(written[2], ["account", "pbx_id", "pbx", "serial", "platform", "firmware", "mode", "ref", "item",
                            "qty", "monthly_isc_each"],
               [[v.name, p.pbx_id, p.name, p.serial, p.platform, p.firmware, p.mode, l.ref, l.name, l.qty,
                 _isc(l.monthly_milli)] for v in details for p in v.pbxs for l in (p.licenses or ())])
    _write_csv(written[3], ["seq", "kind", "account_id", "summary", "state", "rule", "message", "created_at_utc_s"],
               [[op.seq, op.kind, op.account_id, op.summary.message, op.state, op.rule or "", op.message or "",
                 op.created_at] for op in queue])
    _write_csv(written[4], ["account", "pbx", "ref", "item", "qty", "unit_monthly_isc", "seconds", "amount_isc"],
               [[v.name, r.pbx_name, r.ref, r.item_name, r.qty, _isc(r.unit_monthly_milli), r.seconds,
                 _isc(r.milli)] for v, s in statements for r in s.rows])
    return written
