"""The verified replica (DESIGN §6): signed envelopes kept verbatim with their parsed fields, never a rollback.

Anything that fails verification, or a snapshot older than the one held, is refused and the
reason stored for the UI; nothing here raises on bad input from the network.
"""

from __future__ import annotations

import json

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rental import billing
from rental.errors import PriceListError, SignatureError
from rental.pricing import PriceList
from rental.reasons import Reason
from rental.rules import Policy
from rental.signing import Keyring

from .errors import stored
from .models import AccountReplica, LedgerLine, PricelistReplica, Refusal

ACCOUNT_FIELDS = ("account_id", "revision", "name", "status", "as_of", "balance_ticks", "rate_ticks_per_s")
MAX_REFUSALS_KEPT = 200


def record_refusal(session: Session, what: str, subject: str | None, reason: str, now: int) -> Refusal:
    """Keep the reason something was not believed, for the sync screen."""
    row = Refusal(at=now, what=what, subject=subject, reason=reason)
    session.add(row)
    return row


def refusals(session: Session, limit: int = 50) -> list[Refusal]:
    return list(session.scalars(select(Refusal).order_by(Refusal.id.desc()).limit(limit)))


def verify(keyring: Keyring, envelope: object, expected_type: str) -> dict:
    """The payload of a genuine envelope of expected_type, or SignatureError (never anything else)."""
    try:
        return keyring.verify_envelope(envelope, expected_type)
    except SignatureError:
        raise
    except Exception as exc:  # whatever arrives, it is a refusal, never a crash
        raise SignatureError(f"unreadable {expected_type} envelope: {exc}") from None


def check_account_payload(payload: dict, partner: str | None = None) -> None:
    """The fields the app relies on are there and of the right type (a signed payload can still be odd), and,
    when the token's partner is known (signed by GET /whoami), the snapshot is of that partner's account."""
    for name in ACCOUNT_FIELDS:
        if name not in payload:
            raise SignatureError(f"signed account snapshot lacks {name!r}: refused")
    if partner is not None and payload.get("partner") != partner:
        raise SignatureError(f"the snapshot of account {str(payload.get('account_id'))[:36]} belongs to another "
                             "partner than this technician's (a genuine document slipped into the answer): refused")
    for name in ("revision", "as_of", "balance_ticks", "rate_ticks_per_s"):
        value = payload[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SignatureError(f"signed account snapshot has a bad {name!r}: refused")
    if not isinstance(payload.get("pbxs", []), list):
        raise SignatureError("signed account snapshot has a bad 'pbxs': refused")


def store_account(session: Session, keyring: Keyring, envelope: object, now: int,
                  partner: str | None = None) -> AccountReplica | None:
    """Verify and keep an account snapshot unless it is older than the one held (anti-rollback) or, when
    partner is given, of another partner's account."""
    try:
        payload = verify(keyring, envelope, "account")
        check_account_payload(payload, partner)
    except SignatureError as exc:
        record_refusal(session, "account", None, f"Account snapshot refused: {exc}", now)
        return None
    return keep_account(session, payload, envelope, now)


def list_keys(name: str, contact_email: str, account_id: str) -> tuple[str, str]:
    """What the accounts list sorts by and searches in (migration 0004 computes the same for old rows)."""
    return name.lower(), " ".join((name, contact_email, account_id)).lower()


def keep_account(session: Session, payload: dict, envelope: object, now: int) -> AccountReplica | None:
    """Keep an already verified snapshot, applying the anti-rollback rule."""
    account_id = payload["account_id"]
    row = session.get(AccountReplica, account_id)
    if row is not None:
        if payload["revision"] < row.revision or (payload["revision"] == row.revision and payload["as_of"] < row.as_of):
            record_refusal(session, "account", account_id,
                           f"Account snapshot refused: revision {payload['revision']} (as of {payload['as_of']}) is "
                           f"older than revision {row.revision} (as of {row.as_of}) held here; an old answer was "
                           "replayed or delayed, so the newer one is kept.", now)
            return None
    else:
        row = AccountReplica(account_id=account_id)
    row.revision = payload["revision"]
    row.name = str(payload.get("name") or "")
    row.contact_email = str(payload.get("contact_email") or "")
    row.name_key, row.search_key = list_keys(row.name, row.contact_email, account_id)
    row.status = str(payload["status"])
    row.as_of = payload["as_of"]
    row.balance_ticks = payload["balance_ticks"]
    row.rate_ticks_per_s = payload["rate_ticks_per_s"]
    row.depletes_at = payload.get("depletes_at")
    row.price_version = payload.get("price_version")
    row.payload = json.dumps(payload, sort_keys=True)
    row.envelope = json.dumps(envelope, sort_keys=True)
    row.received_at = now
    session.add(row)
    return row


def store_pricelist(session: Session, keyring: Keyring, envelope: object, now: int) -> PricelistReplica | None:
    """Verify and keep a price list; an older one (by publication time) never replaces the current one."""
    try:
        payload = verify(keyring, envelope, "pricelist")
        PriceList.from_dict(payload)
    except (SignatureError, PriceListError) as exc:
        reason = getattr(exc, "reason", None) or Reason("sync", "pricelist-refused", {"detail": str(exc)})
        record_refusal(session, "pricelist", None, stored(reason), now)
        return None
    return keep_current(session, PricelistReplica, "pricelist", payload, envelope, now, "pricelist-older")


def keep_current(session: Session, model, what: str, payload: dict, envelope: object, now: int, older: str):
    """Keep a verified, versioned document (price list, rental terms) as the current one; one older (by
    publication time) than the one held never replaces it: the reason (code ``older``) is kept instead."""
    current = session.scalars(select(model).where(model.is_current)).first()
    if current is not None and current.published_at > payload.get("published_at", 0):
        reason = Reason("sync", older, {"version": payload["version"], "held": current.version})
        record_refusal(session, what, payload["version"], stored(reason), now)
        return None
    session.execute(update(model).values(is_current=False))
    row = session.get(model, payload["version"])
    if row is None:
        row = model(version=payload["version"])
    row.published_at = payload.get("published_at", 0)
    row.payload = json.dumps(payload, sort_keys=True)
    row.envelope = json.dumps(envelope, sort_keys=True)
    row.received_at = now
    row.is_current = True
    session.add(row)
    return row


def current_pricelist(session: Session) -> PriceList | None:
    return current_pricelist_and_policy(session)[0]


def current_pricelist_and_policy(session: Session) -> tuple[PriceList | None, Policy]:
    """The current verified price list and the server's policy it carries (DESIGN §5), or defaults."""
    row = session.scalars(select(PricelistReplica).where(PricelistReplica.is_current)).first()
    if row is None:
        return None, Policy()
    payload = json.loads(row.payload)
    return PriceList.from_dict(payload), Policy.from_dict(payload.get("policy"))


def get_account(session: Session, account_id: str) -> AccountReplica | None:
    return session.get(AccountReplica, account_id)


def all_accounts(session: Session) -> list[AccountReplica]:
    return list(session.scalars(select(AccountReplica)))


def accounts_named(session: Session, account_ids) -> list[AccountReplica]:
    """The snapshots held for these accounts (one query; a sync batch names at most a few hundred)."""
    ids = list(account_ids)
    return list(session.scalars(select(AccountReplica).where(AccountReplica.account_id.in_(ids)))) if ids else []


def revisions(session: Session) -> dict[str, int]:
    """The revision held of every account, without reading the snapshots."""
    return dict(session.execute(select(AccountReplica.account_id, AccountReplica.revision)).all())


def names_of(session: Session, account_ids) -> dict[str, str]:
    """Account names by id, for the few ids given (without reading the snapshots)."""
    ids = list(account_ids)
    if not ids:
        return {}
    query = select(AccountReplica.account_id, AccountReplica.name).where(AccountReplica.account_id.in_(ids))
    return {account_id: name for account_id, name in session.execute(query)}


def account_payload(row: AccountReplica) -> dict:
    return json.loads(row.payload)


# --------------------------------------------------------------------------- ledger (R25)

_ENTRY_INTS = ("at", "ticks", "qty", "seconds", "rate")


LEDGER_REVISION = "ledger_revision:"  # setting prefix: the account revision the held ledger lines are as of


def ledger_revisions(session: Session) -> dict[str, int]:
    """For every account whose ledger was pulled: the account revision it was pulled at (one query)."""
    from .models import Setting

    rows = session.scalars(select(Setting).where(Setting.key.like(LEDGER_REVISION + "%")))
    return {row.key[len(LEDGER_REVISION):]: json.loads(row.value) for row in rows}


def ledgers_to_pull(session: Session, named: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Accounts whose ledger may hold news: revision changed since the last pull, or named by an op just sent.

    A revision rises at every change of the account (DESIGN §5), sweeps included, so an unchanged
    revision means no new written line: 10,000 quiet accounts cost no request at all.
    """
    pulled = ledger_revisions(session)
    wanted = []
    for account_id, revision in revisions(session).items():
        if account_id in named or pulled.get(account_id) != revision:
            wanted.append(account_id)
    return sorted(wanted)


def store_ledger_lines(session: Session, account_id: str, lines: list, now: int, revision: int | None = None) -> int:
    """Keep ledger lines pulled from the server (unsigned: shown in statements, never used to decide money).

    Written lines are kept once by their id; the "open" charge the server adds (charged up to its
    now, not yet written) replaces the previous open lines, so nothing is counted twice.
    """
    from sqlalchemy import delete

    session.execute(delete(LedgerLine).where(LedgerLine.account_id == account_id,
                                             LedgerLine.line_key.like("open:%")))
    added = 0
    for index, raw in enumerate(lines):
        if not isinstance(raw, dict) or raw.get("kind") not in (billing.CREDIT, billing.CHARGE, billing.FORFEIT,
                                                                  billing.EXPIRY):
            continue
        if any(isinstance(raw.get(k) or 0, (bool, float)) or not isinstance(raw.get(k) or 0, int) for k in _ENTRY_INTS):
            continue
        text = json.dumps(raw, sort_keys=True)
        if raw.get("open") or raw.get("id") is None:
            key = f"open:{index}"
        else:
            key = f"id:{raw['id']}"
            exists = session.scalars(select(LedgerLine.id).where(LedgerLine.account_id == account_id,
                                                                 LedgerLine.line_key == key)).first()
            if exists:
                continue
        session.add(LedgerLine(
            account_id=account_id, line_key=key, kind=raw["kind"], at=raw.get("at") or 0, ticks=raw.get("ticks") or 0,
            pbx_id=raw.get("pbx_id"), ref=raw.get("ref"), qty=raw.get("qty") or 0, start=raw.get("start"),
            end=raw.get("end"), seconds=raw.get("seconds") or 0, rate=raw.get("rate") or 0,
            price_version=raw.get("price_version"), raw=text))
        added += 1
    from . import settings

    settings.put(session, f"ledger_fetched_at:{account_id}", now)
    if revision is not None:
        settings.put(session, LEDGER_REVISION + account_id, revision)
    return added


def newest_ledger_id(session: Session, account_id: str) -> int | None:
    """The highest written line id held, so a pull fetches only newer pages."""
    ids = [int(k[3:]) for k in session.scalars(select(LedgerLine.line_key).where(
        LedgerLine.account_id == account_id, LedgerLine.line_key.like("id:%")))]
    return max(ids) if ids else None


def _key_of(raw: str) -> dict:
    """The key a credit line names, and whether automatic reload redeemed it (R24, R25), from the line as pulled."""
    try:
        line = json.loads(raw)
    except ValueError:
        return {}
    key_id = line.get("key_id")
    return {"key_id": key_id if isinstance(key_id, str) else None, "auto": line.get("auto") is True}


def ledger_entries(session: Session, account_id: str) -> tuple[list[billing.Entry], int | None, int]:
    from . import settings

    rows = list(session.scalars(select(LedgerLine).where(LedgerLine.account_id == account_id)))
    entries = [billing.Entry(kind=r.kind, at=r.at, ticks=r.ticks, pbx_id=r.pbx_id, ref=r.ref, qty=r.qty,
                             start=r.start, end=r.end, seconds=r.seconds, rate=r.rate,
                             price_version=r.price_version, **_key_of(r.raw)) for r in rows]
    return entries, settings.get(session, f"ledger_fetched_at:{account_id}"), len(rows)
