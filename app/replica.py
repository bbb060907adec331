"""The verified replica (DESIGN §6): signed envelopes kept verbatim with their parsed fields, never a rollback.

Anything that fails verification, or a snapshot older than the one held, is refused and the
reason stored for the UI; nothing here raises on bad input from the network.
"""

from __future__ import annotations

import base64
import functools
import json

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from rental import billing
from rental.errors import PriceListError, SignatureError
from rental.pricing import PriceHistory, PriceList
from rental.reasons import Reason
from rental.rules import Policy
from rental.validation import shown
from rental.signing import Keyring

from .errors import stored
from .models import (AccountReplica, LedgerLine, PricelistReplica, Reduction, Refusal, Setting, TermsReplica,
                     ToggleOccurrence)
from .settings import Settings
from .snapshot import open_entries, reload_at_of

ACCOUNT_FIELDS = ("account_id", "revision", "name", "status", "as_of", "balance_ticks", "rate_ticks_per_s")
MAX_REFUSALS_KEPT = 200


def verify(keyring: Keyring, envelope: object, expected_type: str) -> dict:
    """The payload of a genuine envelope of expected_type, or SignatureError (never anything else)."""
    try:
        return keyring.verify_envelope(envelope, expected_type)
    except SignatureError:
        raise
    except Exception:  # whatever arrives, it is a refusal, never a crash
        raise SignatureError.of("envelope-unreadable", type=expected_type) from None


def check_account_payload(payload: dict, partner: str | None = None) -> None:
    """The fields the app relies on are there and of the right type (a signed payload can still be odd), and,
    when the token's partner is known (signed by GET /whoami), the snapshot is of that partner's account."""
    for name in ACCOUNT_FIELDS:
        if name not in payload:
            raise SignatureError.of("snapshot-lacks", name=name)
    if partner is not None and payload.get("partner") != partner:
        raise SignatureError.of("snapshot-other-partner", account_id=shown(str(payload.get("account_id"))))
    for name in ("revision", "as_of", "balance_ticks", "rate_ticks_per_s"):
        value = payload[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SignatureError.of("snapshot-bad-field", name=name)
    if not isinstance(payload.get("pbxs", []), list):
        raise SignatureError.of("snapshot-bad-field", name="pbxs")


def refused_because(code: str, exc: SignatureError) -> Reason:
    """The reason a document was refused (code, e.g. snapshot-refused), the verifier's reason as its cause."""
    return Reason.of(code, **{**exc.reason.params, "cause": exc.reason.code})


def list_keys(name: str, contact_email: str, account_id: str) -> tuple[str, str]:
    """What the accounts list sorts by and searches in (migration 0004 computes the same for old rows)."""
    return name.lower(), " ".join((name, contact_email, account_id)).lower()


@functools.lru_cache(maxsize=64)
def _read_pricelist(text: str) -> tuple[PriceList, Policy]:
    """The price list and the policy a stored (verified) price list's text says, read once per text: the key is
    the text itself, so another text (a newer list) is read again; both values are immutable."""
    payload = json.loads(text)
    return PriceList.from_dict(payload), Policy.from_dict(payload.get("policy"))


def account_payload(row: AccountReplica) -> dict:
    return json.loads(row.payload)


# --------------------------------------------------------------------------- ledger (R25)

_ENTRY_INTS = ("at", "ticks", "qty", "seconds", "rate")


LEDGER_REVISION = "ledger_revision:"  # setting prefix: the account revision the held ledger lines are as of


def _key_of(raw: str) -> dict:
    """The key a credit line names, and whether automatic reload redeemed it (R24, R25), from the line as pulled."""
    try:
        line = json.loads(raw)
    except ValueError:
        return {}
    key_id = line.get("key_id")
    return {"key_id": key_id if isinstance(key_id, str) else None, "auto": line.get("auto") is True}


def _entry_of(row: LedgerLine) -> billing.Entry:
    return billing.Entry(kind=row.kind, at=row.at, ticks=row.ticks, pbx_id=row.pbx_id, ref=row.ref, qty=row.qty,
                         start=row.start, end=row.end, seconds=row.seconds, rate=row.rate,
                         price_version=row.price_version, **_key_of(row.raw))


def _open_line(entry: billing.Entry) -> dict:
    """An open line in the shape the server's ledger gives it (license_server.api._line)."""
    return {"id": None, "open": True, "kind": entry.kind, "at": entry.at, "ticks": entry.ticks,
            "pbx_id": entry.pbx_id, "ref": entry.ref, "qty": entry.qty, "start": entry.start, "end": entry.end,
            "seconds": entry.seconds, "rate": entry.rate, "price_version": entry.price_version,
            "key_id": entry.key_id, "auto": entry.auto}


#: the statements every screen runs, built once: building a statement and working out its cache key cost SQLAlchemy
#: more than SQLite takes to run it (0.2-0.45 ms a statement; docs/benchmarks.md §16); the values are bound at each run
_SNAPSHOT_COLUMNS = (AccountReplica.account_id, AccountReplica.payload, AccountReplica.received_at, AccountReplica.as_of)
_SNAPSHOTS = select(*_SNAPSHOT_COLUMNS)
_SNAPSHOT_OF = _SNAPSHOTS.where(AccountReplica.account_id == bindparam("id"))
_SNAPSHOTS_OF = _SNAPSHOTS.where(AccountReplica.account_id.in_(bindparam("ids", expanding=True)))
_PRICING = select(PricelistReplica.is_current, PricelistReplica.payload).order_by(PricelistReplica.received_at,
                                                                                    PricelistReplica.published_at)
_NEWEST_AS_OF = select(func.max(AccountReplica.as_of))
_CURRENT_PRICELIST = select(PricelistReplica.payload).where(PricelistReplica.is_current).limit(1)


@functools.lru_cache(maxsize=None)
def _list_statements(search: bool, include_deleted: bool, limited: bool):
    """The accounts list's count and page (Replica.account_page), one pair per shape, bound to needle and limit."""
    # instr, not LIKE: the needle is matched literally (a "%" or "_" typed is no wildcard)
    where = [func.instr(AccountReplica.search_key, bindparam("needle")) > 0] if search else []
    if not include_deleted:
        where.append(AccountReplica.status != "deleted")
    if search:
        count = select(func.count()).select_from(AccountReplica).where(*where)
    else:  # no row by row: SQLite counts a whole table from its b-tree's pages, the deleted by a seek (0009)
        every = select(func.count()).select_from(AccountReplica).scalar_subquery()
        deleted = select(func.count()).select_from(AccountReplica).where(
            AccountReplica.status == "deleted").scalar_subquery()
        count = select(every if include_deleted else every - deleted)
    page = select(AccountReplica.account_id).where(*where).order_by(AccountReplica.name_key, AccountReplica.account_id)
    return count, page.limit(bindparam("limit")) if limited else page


class Replica:
    """What this laptop holds of the server's signed documents, in one unit of work (a repository)."""

    def __init__(self, session: Session):
        self._session = session
        self._ledger_revisions: dict[str, int] | None = None  # read once per unit of work when a snapshot needs it

    def record_refusal(self, what: str, subject: str | None, reason: str, now: int) -> Refusal:
        """Keep the reason something was not believed, for the sync screen."""
        row = Refusal(at=now, what=what, subject=subject, reason=reason)
        self._session.add(row)
        return row

    def refusals(self, limit: int = 50) -> list[Refusal]:
        return list(self._session.scalars(select(Refusal).order_by(Refusal.id.desc()).limit(limit)))

    def store_account(self, keyring: Keyring, envelope: object, now: int,
                      partner: str | None = None, held: dict | None = None) -> AccountReplica | None:
        """Verify and keep an account snapshot unless it is older than the one held (anti-rollback) or, when
        partner is given, of another partner's account. held: the rows held of a whole listing, read at once
        (held_rows), instead of one look-up per snapshot."""
        try:
            payload = verify(keyring, envelope, "account")
            check_account_payload(payload, partner)
        except SignatureError as exc:
            self.record_refusal("account", None, stored(refused_because("snapshot-refused", exc)), now)
            return None
        return self.keep_account(payload, envelope, now, held)

    def held_rows(self, envelopes: list) -> dict:
        """The snapshots held of the accounts a listing names (one query; an envelope that does not parse is
        simply not looked up here, and is refused by store_account)."""
        ids = set()
        for envelope in envelopes:
            try:
                raw = envelope["payload"]
                account_id = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))).get("account_id")
            except (TypeError, KeyError, ValueError, AttributeError):
                continue
            if isinstance(account_id, str):
                ids.add(account_id)
        found: dict = {}
        listed = sorted(ids)
        for start in range(0, len(listed), 500):
            for row in self._session.scalars(select(AccountReplica).where(
                    AccountReplica.account_id.in_(listed[start:start + 500]))):
                found[row.account_id] = row
        return found

    def keep_account(self, payload: dict, envelope: object, now: int, held: dict | None = None
                     ) -> AccountReplica | None:
        """Keep an already verified snapshot, applying the anti-rollback rule."""
        account_id = payload["account_id"]
        row = held.get(account_id) if held is not None else self._session.get(AccountReplica, account_id)
        if row is not None:
            revision, as_of = payload["revision"], payload["as_of"]
            if revision < row.revision or (revision == row.revision and as_of < row.as_of):
                reason = Reason.of("snapshot-older", revision=revision, snapshot_at=as_of,
                                   held_revision=row.revision, held_at=row.as_of)
                self.record_refusal("account", account_id, stored(reason), now)
                return None
            if revision == row.revision and as_of > row.as_of:
                self._carry_open_charge(row, as_of)
        else:
            row = AccountReplica(account_id=account_id)
            if held is not None:
                held[account_id] = row  # the same account twice in one listing is one row
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
        row.reload_at = reload_at_of(payload)
        row.payload = json.dumps(payload, sort_keys=True)
        row.envelope = json.dumps(envelope, sort_keys=True)
        row.received_at = now
        self._session.add(row)
        return row

    def store_pricelist(self, keyring: Keyring, envelope: object, now: int) -> PricelistReplica | None:
        """Verify and keep a price list; an older one (by publication time) never replaces the current one."""
        try:
            payload = verify(keyring, envelope, "pricelist")
            PriceList.from_dict(payload)
        except (SignatureError, PriceListError) as exc:
            reason = exc.reason if isinstance(exc, PriceListError) else refused_because("pricelist-refused-cause", exc)
            self.record_refusal("pricelist", None, stored(reason), now)
            return None
        return self.keep_current(PricelistReplica, "pricelist", payload, envelope, now, "pricelist-older")

    def keep_current(self, model, what: str, payload: dict, envelope: object, now: int, older: str):
        """Keep a verified, versioned document (price list, rental terms) as the current one; one older (by
        publication time) than the one held never replaces it: the reason (code ``older``) is kept instead."""
        current = self.current_document(model)
        if current is not None and current.published_at > payload.get("published_at", 0):
            reason = Reason("sync", older, {"version": payload["version"], "held": current.version})
            self.record_refusal(what, payload["version"], stored(reason), now)
            return None
        self._session.execute(update(model).values(is_current=False))
        row = self._session.get(model, payload["version"])
        if row is None:
            row = model(version=payload["version"])
        row.published_at = payload.get("published_at", 0)
        row.payload = json.dumps(payload, sort_keys=True)
        row.envelope = json.dumps(envelope, sort_keys=True)
        row.received_at = now
        row.is_current = True
        self._session.add(row)
        return row

    def current_pricelist(self) -> PriceList | None:
        return self.current_pricelist_and_policy()[0]

    def current_pricelist_and_policy(self) -> tuple[PriceList | None, Policy]:
        """The current verified price list and the server's policy it carries (DESIGN §5), or defaults."""
        text = self._session.scalar(_CURRENT_PRICELIST)
        if text is None:
            return None, Policy()
        return _read_pricelist(text)

    def price_history(self, current: PriceList | None) -> PriceHistory:
        """Every verified list this laptop received, by publication: an automatic reload re-rates at the one in
        force at its second (R24, R23), as the server does."""
        older = self._session.scalars(select(PricelistReplica.payload).where(PricelistReplica.is_current.is_(False))
                                      .order_by(PricelistReplica.received_at, PricelistReplica.published_at))
        lists = [_read_pricelist(text)[0] for text in older]
        # two lists of one second: the later publication is in force, so the current one comes last
        return PriceHistory(lists + ([current] if current is not None else []))

    def pricing(self) -> tuple[PriceList | None, Policy, PriceHistory]:
        """current_pricelist_and_policy and price_history in one query (every projection asks for both)."""
        rows = self._session.execute(_PRICING).all()
        current = next((text for is_current, text in rows if is_current), None)
        pricelist, policy = _read_pricelist(current) if current is not None else (None, Policy())
        lists = [_read_pricelist(text)[0] for is_current, text in rows if not is_current]
        return pricelist, policy, PriceHistory(lists + ([pricelist] if pricelist is not None else []))

    def get_account(self, account_id: str) -> AccountReplica | None:
        return self._session.get(AccountReplica, account_id)

    def all_accounts(self) -> list[AccountReplica]:
        return list(self._session.scalars(select(AccountReplica)))

    def accounts_named(self, account_ids) -> list[AccountReplica]:
        """The snapshots held for these accounts (one query; a sync batch names at most a few hundred)."""
        ids = list(account_ids)
        if not ids:
            return []
        return list(self._session.scalars(select(AccountReplica).where(AccountReplica.account_id.in_(ids))))

    def snapshots(self, account_ids: "str | list[str] | None" = None) -> list:
        """(account_id, payload, received_at, as_of) of every snapshot held, of one account, or of a list of them:
        the columns a projection reads, not the whole row (its envelope is the larger half of it)."""
        if account_ids is None:
            return list(self._session.execute(_SNAPSHOTS))
        if isinstance(account_ids, str):
            return list(self._session.execute(_SNAPSHOT_OF, {"id": account_ids}))
        ids = list(account_ids)
        found = []
        for start in range(0, len(ids), 500):
            found.extend(self._session.execute(_SNAPSHOTS_OF, {"ids": ids[start:start + 500]}))
        return found

    def accounts_mentioning(self, text: str) -> list[str]:
        """The accounts whose snapshot's text contains text (literally: instr, no wildcard), e.g. a key id it holds."""
        if not text:
            return []
        return list(self._session.scalars(select(AccountReplica.account_id)
                                          .where(func.instr(AccountReplica.payload, text) > 0)))

    def revisions(self) -> dict[str, int]:
        """The revision held of every account, without reading the snapshots."""
        return dict(self._session.execute(select(AccountReplica.account_id, AccountReplica.revision)).all())

    def names_of(self, account_ids) -> dict[str, str]:
        """Account names by id, for the few ids given (without reading the snapshots)."""
        ids = list(account_ids)
        if not ids:
            return {}
        query = select(AccountReplica.account_id, AccountReplica.name).where(AccountReplica.account_id.in_(ids))
        return {account_id: name for account_id, name in self._session.execute(query)}

    def ledger_revisions(self) -> dict[str, int]:
        """For every account whose ledger was pulled: the account revision it was pulled at (one query)."""
        # a key range (the primary key's index), not LIKE (which SQLite answers by reading every setting)
        rows = self._session.execute(select(Setting.key, Setting.value).where(
            Setting.key >= LEDGER_REVISION, Setting.key < LEDGER_REVISION[:-1] + chr(ord(LEDGER_REVISION[-1]) + 1)))
        return {key[len(LEDGER_REVISION):]: json.loads(value) for key, value in rows}

    def ledgers_to_pull(self, named: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Accounts whose ledger may hold news: held already and revision changed since its pull, or named by an op
        just sent.

        A revision rises at every change of the account (DESIGN §5), sweeps included, so an unchanged
        revision means no new written line: 10,000 quiet accounts cost no request at all. An account whose
        ledger was never pulled (a first sync of 5,000 accounts) waits until the technician opens its statement
        or history while online (issue 26: sync.pull_details), or until an op names it.
        """
        # the accounts whose held ledger was pulled at another revision than the one held now: read from the few
        # ledgers pulled (a key range of the settings), never by scanning every snapshot held (their payloads)
        pulled = self.ledger_revisions()
        wanted = set()
        ids = sorted(pulled)
        for start in range(0, len(ids), 500):
            for account_id, revision in self._session.execute(
                    select(AccountReplica.account_id, AccountReplica.revision)
                    .where(AccountReplica.account_id.in_(ids[start:start + 500]))):
                if pulled[account_id] != revision:
                    wanted.add(account_id)
        if named:
            wanted |= set(self.names_of(named))  # named and held
        return sorted(wanted)

    def ledger_is_current(self, account_id: str) -> bool:
        """The account's ledger was pulled at the revision held (nothing new to fetch for its statement)."""
        row = self._session.get(AccountReplica, account_id)
        pulled = self._session.get(Setting, LEDGER_REVISION + account_id)
        return row is not None and pulled is not None and json.loads(pulled.value) == row.revision

    def store_ledger_lines(self, account_id: str, lines: list, now: int, revision: int | None = None) -> int:
        """Keep ledger lines pulled from the server (unsigned: shown in statements, never used to decide money).

        Written lines are kept once by their id; the "open" charge the server adds (charged up to its
        now, not yet written) replaces the previous open lines, so nothing is counted twice.
        """
        with self._session.no_autoflush:  # the lines go in together, not at each look-up
            added = self._store_ledger_lines(account_id, lines)
        settings = Settings(self._session)
        settings.put(f"ledger_fetched_at:{account_id}", now)
        if revision is not None:
            settings.put(LEDGER_REVISION + account_id, revision)
            if self._ledger_revisions is not None:
                self._ledger_revisions[account_id] = revision
        return added

    def _carry_open_charge(self, row: AccountReplica, as_of: int) -> None:
        """A newer snapshot of the same revision replaces the held one (DESIGN §6): the open lines held (the charge
        the server added up to its ledger's answer) are cut at the held snapshot's second and the held snapshot's
        own charge and reloads up to the new one's second are added, so written + open lines still reach the
        held snapshot with no gap and nothing twice, without pulling the ledger again (issue 21: a quiet account's
        statement after a sync). Only when the ledger held was pulled at this revision (else it is pulled again)."""
        if self._ledger_revisions is None:
            self._ledger_revisions = self.ledger_revisions()
        if self._ledger_revisions.get(row.account_id) != row.revision:
            return
        pricelist, policy = self.current_pricelist_and_policy()
        before = [_entry_of(line) for line in self._session.scalars(select(LedgerLine).where(
            LedgerLine.account_id == row.account_id, LedgerLine.line_key.like("open:%")).order_by(LedgerLine.id))]
        carried = billing.clipped(before, row.as_of) + list(open_entries(json.loads(row.payload), as_of, policy,
                                                                 self.price_history(pricelist)))
        with self._session.no_autoflush:
            self._store_ledger_lines(row.account_id, [_open_line(entry) for entry in carried])

    def _store_ledger_lines(self, account_id: str, lines: list) -> int:
        self._session.execute(delete(LedgerLine).where(LedgerLine.account_id == account_id,
                                                       LedgerLine.line_key.like("open:%")))
        held = self._held_line_keys(account_id, [f"id:{raw['id']}" for raw in lines if isinstance(raw, dict)
                                                 and not raw.get("open") and raw.get("id") is not None])
        added = 0
        for index, raw in enumerate(lines):
            if not isinstance(raw, dict) or raw.get("kind") not in (billing.CREDIT, billing.CHARGE, billing.FORFEIT,
                                                                      billing.EXPIRY):
                continue
            if any(isinstance(raw.get(k) or 0, (bool, float)) or not isinstance(raw.get(k) or 0, int)
                   for k in _ENTRY_INTS):
                continue
            text = json.dumps(raw, sort_keys=True)
            if raw.get("open") or raw.get("id") is None:
                key = f"open:{index}"
            else:
                key = f"id:{raw['id']}"
                if key in held:
                    continue
                held.add(key)
            self._session.add(LedgerLine(
                account_id=account_id, line_key=key, kind=raw["kind"], at=raw.get("at") or 0,
                ticks=raw.get("ticks") or 0,
                pbx_id=raw.get("pbx_id"), ref=raw.get("ref"), qty=raw.get("qty") or 0, start=raw.get("start"),
                end=raw.get("end"), seconds=raw.get("seconds") or 0, rate=raw.get("rate") or 0,
                price_version=raw.get("price_version"), raw=text))
            added += 1
        return added

    def _held_line_keys(self, account_id: str, keys: list[str]) -> set[str]:
        """Which of these written lines this laptop holds already (one query per 500, not one per line)."""
        held: set[str] = set()
        for start in range(0, len(keys), 500):
            held.update(self._session.scalars(select(LedgerLine.line_key).where(
                LedgerLine.account_id == account_id, LedgerLine.line_key.in_(keys[start:start + 500]))))
        return held

    def newest_ledger_id(self, account_id: str) -> int | None:
        """The highest written line id held, so a pull fetches only newer pages."""
        ids = [int(k[3:]) for k in self._session.scalars(select(LedgerLine.line_key).where(
            LedgerLine.account_id == account_id, LedgerLine.line_key.like("id:%")))]
        return max(ids) if ids else None

    def ledger_entries(self, account_id: str) -> tuple[list[billing.Entry], int | None, int]:
        written, open_, fetched_at, count = self.ledger_parts(account_id)
        return written + open_, fetched_at, count

    def ledger_parts(self, account_id: str) -> tuple[list[billing.Entry], list[billing.Entry], int | None, int]:
        """The ledger held: written lines, open lines (the charge not yet written, as of the pull or carried to
        the held snapshot), when it was pulled and how many lines it has."""
        rows = list(self._session.scalars(select(LedgerLine).where(LedgerLine.account_id == account_id)))
        written = [_entry_of(r) for r in rows if not r.line_key.startswith("open:")]
        open_ = [_entry_of(r) for r in rows if r.line_key.startswith("open:")]
        return written, open_, Settings(self._session).get(f"ledger_fetched_at:{account_id}"), len(rows)

    def account_page(self, needle: str = "", *, include_deleted: bool = True,
                     limit: int | None = None) -> tuple[list[str], int]:
        """The ids of the accounts held whose name, e-mail or id contains needle (lower case), by name, at most
        limit, and how many match: in SQL on the covering index (0004), so a page costs the same with 10 or
        10,000 accounts."""
        count, page = _list_statements(bool(needle), include_deleted, limit is not None)
        values = {"needle": needle, "limit": limit}
        return list(self._session.scalars(page, values)), self._session.scalar(count, values) or 0

    def price_versions_other_than(self, version: str) -> list[tuple[str, str, str, int | None]]:
        """(account_id, name, price_version, reload_at) of every account held at another price list than version,
        by name: reload_at says from when an automatic reload may have re-rated it (R24, R23)."""
        return [tuple(row) for row in self._session.execute(
            select(AccountReplica.account_id, AccountReplica.name, AccountReplica.price_version,
                   AccountReplica.reload_at)
            .where(AccountReplica.price_version.is_not(None), AccountReplica.price_version != version)
            .order_by(AccountReplica.name_key, AccountReplica.account_id))]

    def newest_as_of(self) -> int | None:
        """The newest as_of of the snapshots held: the server's time was at least this."""
        return self._session.scalar(_NEWEST_AS_OF)

    def account_crediting(self, key_id_hex: str) -> str | None:
        """The account a pulled ledger line credits with this key (R25), or None."""
        for line in self._session.scalars(select(LedgerLine).where(LedgerLine.raw.contains(key_id_hex)).limit(5)):
            if _key_of(line.raw).get("key_id") == key_id_hex:
                return line.account_id
        return None

    # ------------------------------------------------------------------ R6's memory of this laptop's applied ops

    def reductions_since(self, since: int) -> list[Reduction]:
        return list(self._session.scalars(select(Reduction).where(Reduction.at >= since)  # in the order made (R6)
                                          .order_by(Reduction.at, Reduction.id)))

    def toggles_after(self, after: int) -> list[ToggleOccurrence]:
        return list(self._session.scalars(select(ToggleOccurrence).where(ToggleOccurrence.at > after)))

    def remember_reduction(self, *, at: int, pbx_id: str, serial: str, ref: str, from_qty: int, to_qty: int) -> None:
        self._session.add(Reduction(at=at, pbx_id=pbx_id, serial=serial, ref=ref, from_qty=from_qty, to_qty=to_qty))

    def remember_toggle(self, at: int, serial: str) -> None:
        self._session.add(ToggleOccurrence(at=at, serial=serial))

    # ------------------------------------------------------------------ other signed documents (R26)

    def current_versions(self) -> tuple[str | None, str | None]:
        """The versions of the current price list and rental terms held (what a sync may change on every screen)."""
        return tuple(getattr(self.current_document(model), "version", None)
                     for model in (PricelistReplica, TermsReplica))

    def current_document(self, model):
        """The current row of a versioned document (price list, terms), or None."""
        return self._session.scalars(select(model).where(model.is_current)).first()
