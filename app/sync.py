"""Sync (DESIGN §5, §6): push the outbox in one batch, verify every envelope, merge; pull accounts and prices.

Safety rests on three facts: an op keeps its op_id for ever, so a resend after any failure is
applied once (the server answers the stored result); an op leaves the outbox only in the
transaction that stores its verified result; and an answer holding any envelope that fails
verification is refused whole (the reason is kept), so nothing unsigned is ever believed.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from rental.ops import KINDS
from rental.errors import SignatureError
from rental.reasons import Reason
from rental.rules import reductions as reductions_of
from rental.validation import shown

from . import clock as clock_mod, outbox, replica, settings, terms as terms_mod
from .errors import ServerError, SyncError, stored
from .transport import HttpTransport, untrusted_key_reason
from .views import SyncReport

MAX_BATCH = 200  # ops per POST /sync; a longer outbox goes in several batches, in order
STATUSES = ("applied", "rejected", "conflict")


class UntrustedAnswer(SignatureError):
    """An answer signed with a key this app does not trust; its reason says which key file is missing."""

    def __init__(self, reason: Reason):
        super().__init__(reason)


@dataclass(frozen=True)
class _Verified:
    results: list  # (payload, envelope)
    accounts: list  # (payload, envelope)
    pricelist: tuple | None  # (payload, envelope)


def _verify_answer(keyring, answer: dict, sent: dict[str, dict], partner: str | None = None) -> _Verified:
    """Every envelope of a POST /sync answer, verified; SignatureError names the first that is not genuine."""
    if not isinstance(answer, dict) or not isinstance(answer.get("results"), list) \
            or not isinstance(answer.get("accounts", []), list):
        raise SignatureError.of("answer-not-document")
    results = []
    for envelope in answer["results"]:
        payload = replica.verify(keyring, envelope, "op-result")
        op = sent.get(payload.get("op_id"))
        if op is None:
            continue  # a result for an op not sent now (a replayed answer): nothing to merge
        if payload.get("account_id") != op["account_id"] or payload.get("status") not in STATUSES \
                or isinstance(payload.get("server_time"), bool) or not isinstance(payload.get("server_time"), int):
            raise SignatureError.of("result-not-op-sent", op_id=shown(str(payload.get("op_id"))))
        results.append((payload, envelope))
    accounts = []
    for envelope in answer.get("accounts", []):
        payload = replica.verify(keyring, envelope, "account")
        replica.check_account_payload(payload, partner)
        accounts.append((payload, envelope))
    pricelist = None
    if answer.get("pricelist") is not None:
        payload = replica.verify(keyring, answer["pricelist"], "pricelist")
        pricelist = (payload, answer["pricelist"])
    return _Verified(results, accounts, pricelist)


def _merge(uow, verified: _Verified, now: int, warned: list[str] | None = None
           ) -> tuple[int, int, int, int, list[str]]:
    """Store a verified answer in the open unit of work: prices, snapshots (anti-rollback), then results."""
    refused: list[str] = []
    # only the accounts this answer's results name: parsing every snapshot held cost ~1 s a batch at 10,000 accounts
    before = {row.account_id: json.loads(row.payload)
              for row in uow.replica.accounts_named({payload["account_id"] for payload, _ in verified.results})}
    if verified.pricelist is not None:
        if uow.replica.store_pricelist(uow.keyring, verified.pricelist[1], now) is None:
            refused.append("price list")
    updated = 0
    for payload, envelope in verified.accounts:
        if uow.replica.keep_account(payload, envelope, now) is None:
            refused.append(f"account {payload['account_id']} revision {payload['revision']} (older than held)")
        else:
            updated += 1
    applied = rejected = conflicts = 0
    # The batch's ops in one query, and no flush before each look-up: a query (and a flush) per result
    # took more than the rest of the merge (0.45 s of a 1.7 s sync of 1,000 ops).
    ops = uow.outbox.get_many([payload["op_id"] for payload, _ in verified.results])
    with uow.batch():
        for payload, envelope in verified.results:
            op = ops.pop(payload["op_id"], None)  # a repeated result finds its op taken, as the op it names is
            if op is None or op.state != outbox.PENDING:
                continue
            if payload["status"] == "applied":
                applied += 1
                if KINDS[op.kind].names_serial:
                    _remember_reductions(uow.replica, op, before.get(op.account_id), payload)
            elif payload["status"] == "rejected":
                rejected += 1
            else:
                conflicts += 1
                payload = _worded_conflict(uow.replica, payload, before.get(op.account_id))
            uow.outbox.apply_result(op, payload, envelope, now)
            if warned is not None:
                warned.extend(outbox.warnings_of(payload))
    return applied, rejected, conflicts, updated, refused


#: What a PBX's facts are called in a conflict's changes (rental.reasons.EDIT_FIELDS words them)
PBX_FACTS = ("name", "serial", "platform", "hardware_model", "firmware", "mode")


def _worded_conflict(held: replica.Replica, payload: dict, previous: dict | None) -> dict:
    """A conflict result as the technician reads it (issue 21): each revision-conflict the server signed becomes
    pbx-changed-meanwhile, naming the PBX as this laptop holds it and saying what the other change did (each fact
    and each item's quantity, from the snapshot held before this answer to the one it brought), instead of its id
    and revision numbers. The signed envelope is kept verbatim beside it; only the words shown change."""
    problems = payload.get("problems") or []
    if not any(isinstance(p, dict) and p.get("code") == "revision-conflict" for p in problems):
        return payload
    row = held.get_account(payload["account_id"])
    now_held = json.loads(row.payload) if row is not None else None
    prices = held.current_pricelist()
    worded = []
    for problem in problems:
        params = problem.get("params") if isinstance(problem, dict) else None
        if not isinstance(params, dict) or problem.get("code") != "revision-conflict":
            worded.append(problem)
            continue
        pbx_id = params.get("pbx_id")
        before, after = _pbx_in(previous, pbx_id), _pbx_in(now_held, pbx_id)
        name = str((before or after or {}).get("name") or pbx_id)
        changes = _pbx_changes(before, after, prices) if before is not None and after is not None else []
        same = {"pbx_id": pbx_id, "revision": params.get("revision"), "base_revision": params.get("base_revision")}
        worded.append((Reason.of("pbx-changed-meanwhile", pbx=name, changes=changes, **same) if changes
                       else Reason.of("pbx-changed-meanwhile-unseen", pbx=name, **same)).to_dict())
    return {**payload, "problems": worded}


def _pbx_in(snapshot: dict | None, pbx_id) -> dict | None:
    for pbx in (snapshot or {}).get("pbxs", []):
        if pbx.get("pbx_id") == pbx_id:
            return pbx
    return None


def _pbx_changes(before: dict, after: dict, prices) -> list[dict]:
    """What changed on a PBX between two snapshots, as data: its facts, then each item's quantity (by the item's
    name in the price list), each {"field", "from", "to"} (rental.reasons.change_text words it)."""
    changes = [{"field": fact, "from": before.get(fact), "to": after.get(fact)}
               for fact in PBX_FACTS if before.get(fact) != after.get(fact)]
    return changes + item_changes({lic["ref"]: lic["qty"] for lic in before.get("licenses", [])},
                                  {lic["ref"]: lic["qty"] for lic in after.get("licenses", [])}, prices)


def item_changes(old: dict[str, int], new: dict[str, int], prices) -> list[dict]:
    """Each item whose quantity differs between two license sets, by its name in the price list (its reference
    when the list does not know it), in reference order: {"field", "from", "to"} (0 for an item not held)."""
    changes = []
    for ref in sorted(set(old) | set(new)):
        if old.get(ref, 0) != new.get(ref, 0):
            item = prices.get(ref) if prices is not None else None
            changes.append({"field": item.name if item is not None else ref, "from": old.get(ref, 0),
                            "to": new.get(ref, 0)})
    return changes


def _remember_reductions(held: replica.Replica, op, previous: dict | None, payload: dict) -> None:
    """Keep what an applied set_licenses or remove_pbx lowered, by the PBX's serial, and each reduce-then-restore
    the server warned of, so a quick restore warns (or, the third time, is refused) offline too (R6)."""
    body = json.loads(op.body)
    at = payload["server_time"]
    current: dict[str, int] = {}
    serial = ""
    for pbx in (previous or {}).get("pbxs", []):
        if pbx.get("pbx_id") == body["pbx_id"]:
            current = {lic["ref"]: lic["qty"] for lic in pbx.get("licenses", [])}
            serial = str(pbx.get("serial") or "")
    for r in reductions_of(serial, current, body.get("items", {}), at):
        held.remember_reduction(at=r.at, pbx_id=body["pbx_id"], serial=r.serial, ref=r.ref, from_qty=r.from_qty,
                                to_qty=r.to_qty)
    if any(warning.code == "toggle-warning" for warning in outbox.warnings_of(payload)):
        held.remember_toggle(at, serial)


def _fresh_times(verified: _Verified, floor: int | None) -> list[int]:
    """The signed server times of an answer that can date "now": results' server_time and live snapshots' as_of.

    A time older than the newest snapshot held is a stored result answered again, or a replay: not now.
    """
    times = [payload["server_time"] for payload, _ in verified.results]
    times += [payload["as_of"] for payload, _ in verified.accounts if payload.get("status") != "deleted"]
    return [t for t in times if floor is None or t >= floor]


def _note_failure(uow_factory, now: int, reason: Reason, *, refusal: bool = False) -> None:
    """Keep why the sync did not complete (as data, for the screens to word), and an answer refused."""
    with uow_factory(write=True) as uow:
        clock_mod.note_laptop_time(uow, now)
        uow.settings.update_sync_state(online=refusal, last_attempt_at=now, last_error=stored(reason))
        if refusal:
            uow.replica.record_refusal("answer", None, stored(reason), now)
        uow.commit()


def failed_report(reason: Reason, **counts) -> SyncReport:
    """The report of a sync that did not complete: the reason as data and in English words."""
    return SyncReport(ok=False, error=reason.message, error_reason=reason, **counts)


def _refused_answer(exc: SignatureError, answer, keyring) -> Reason:
    """Why an answer was not believed: the key file it lacks, in plain words, or what the verifier found."""
    if isinstance(exc, UntrustedAnswer):
        return exc.reason
    if answer is not None and (untrusted := untrusted_key_reason(answer, keyring)) is not None:
        return untrusted
    # the verifier's reason, flat beside "cause" (its code): French throughout
    return Reason("sync", "sync-answer-refused-cause", {**exc.reason.params, "cause": exc.reason.code})


#: The sync's steps in the order they come, as codes (a screen words them): progress(step, **params).
STEPS = (SENDING, FETCHING_ACCOUNTS, FETCHING_LEDGERS, UP_TO_DATE) = (
    "sending", "fetching-accounts", "fetching-ledgers", "up-to-date")
#: A detail of FETCHING_ACCOUNTS on a big listing (issue 26): which accounts are being kept (first, last, total).
STORING_ACCOUNTS = "storing-accounts"


def sync_now(uow_factory, clock, transport=None, progress: Callable[..., None] | None = None, *,
             tries: int = 1, sleep: Callable[[float], None] = time.sleep, backoff_s: float = 1.0):
    """One sync: push every pending op (in order, in batches of MAX_BATCH), verify, merge; then pull.

    tries > 1 resends after a failure with doubling back-off (the same op_ids: applied once). ``progress`` is
    called with each step's code (STEPS) and its values as data (``count`` of the changes sent).
    """

    before = _shown_state(uow_factory)
    report = None
    try:
        report = _sync_now(uow_factory, clock, transport, progress, tries=tries, sleep=sleep, backoff_s=backoff_s)
        return report
    finally:
        _tell_screens(uow_factory, before, report)


#: What a sync changes on every screen whatever else it did: online or not, the last success, the last error.
_SHOWN_STATE = ("online", "last_success_at", "last_error")


def _shown_state(uow_factory) -> tuple | None:
    """The sync state every screen shows, and the price list and terms held (a newer list is named on the accounts
    it does not apply to yet, R23); None when the store cannot be read (the screens are then told anyway)."""
    try:
        with uow_factory() as uow:
            state = uow.settings.sync_state()
            versions = uow.replica.current_versions()
    except Exception:  # noqa: BLE001 - the sync itself says what went wrong; this only decides a refresh
        return None
    return tuple(json.dumps(state.get(key), sort_keys=True) for key in _SHOWN_STATE) + versions


def _tell_screens(uow_factory, before: tuple, report: SyncReport | None) -> None:
    """Issue 21: the open pages refresh what a sync changed. The store's sync generation rises when this sync sent
    something, updated an account, succeeded (the last sync moved) or changed the connection state; an attempt
    that failed as the one before did (offline, back-off) changes no screen and leaves it."""
    owner = getattr(uow_factory, "__self__", uow_factory)  # a Store, or its bound unit_of_work
    mark = getattr(owner, "mark_synced", None)
    if mark is None:
        return
    if report is None or report.sent or report.accounts_updated or before is None \
            or _shown_state(uow_factory) != before:
        mark()


def _sync_now(uow_factory, clock, transport, progress, *, tries, sleep, backoff_s) -> SyncReport:
    say = progress or (lambda step, **params: None)
    now = clock.now()
    with uow_factory(write=True) as uow:
        url = uow.settings.get("server_url")
        token = uow.settings.get("token")
        client_id = uow.settings.ensure_client_id()
        uow.commit()
    if transport is None:
        if not url or not token:
            reason = Reason("sync", "sync-no-server", {})
            _note_failure(uow_factory, now, reason)
            return failed_report(reason)
        try:
            transport = HttpTransport(url, token)
        except settings.InsecureServerUrl as exc:
            reason = exc.reason
            _note_failure(uow_factory, now, reason)
            return failed_report(reason)
        owned = True
    else:
        owned = False
    try:
        with _lock_for(uow_factory):  # "Sync now" and the background syncer never run at once
            return _sync(uow_factory, clock, transport, client_id, say, tries, sleep, backoff_s)
    finally:
        if owned:
            transport.close()


class SyncLock:
    """A lock that can tell how many syncs wait for it, so a test sees a second sync queue up without a timer."""

    def __init__(self):
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self.waiting = 0

    def __enter__(self) -> "SyncLock":
        with self._changed:
            self.waiting += 1
            self._changed.notify_all()
        try:
            self._lock.acquire()
        finally:
            with self._changed:
                self.waiting -= 1
                self._changed.notify_all()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def wait_for_waiters(self, count: int, timeout: float) -> bool:
        """True once count syncs wait for this lock (an event to wait on, not a delay)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.waiting >= count, timeout)


_locks: dict[str, SyncLock] = {}
_locks_guard = threading.Lock()


def _lock_for(uow_factory) -> SyncLock:
    """One sync at a time per store (keyed by its data folder)."""
    owner = getattr(uow_factory, "__self__", uow_factory)  # a Store, or its bound unit_of_work
    key = str(getattr(owner, "home", "any"))
    with _locks_guard:
        return _locks.setdefault(key, SyncLock())


def _partner(uow_factory, transport, tries, sleep, backoff_s) -> str:
    """The partner the token belongs to: learned once from the server's signed GET /whoami, bound to this very
    token, and kept; a new token (or server) learns it again. SignatureError when the answer does not say so."""
    binding = transport.token_binding
    with uow_factory() as uow:
        held = uow.settings.pinned_partner(binding)
    if held is not None:
        return held
    envelope = _with_retries(transport.whoami, tries, sleep, backoff_s)
    with uow_factory(write=True) as uow:
        untrusted = untrusted_key_reason({"whoami": envelope}, uow.keyring)
        if untrusted:
            raise UntrustedAnswer(untrusted)
        payload = replica.verify(uow.keyring, envelope, "technician")
        partner = payload.get("partner")
        if payload.get("token_binding") != binding or not isinstance(partner, str) or not partner:
            raise SignatureError.of("technician-other-token")
        uow.settings.pin_partner(partner, binding)
        uow.commit()
    return partner


def _sync(uow_factory, clock, transport, client_id, say, tries, sleep, backoff_s):

    sent = applied = rejected = conflicts = updated = 0
    refused: list[str] = []
    named: set[str] = set()  # accounts the sent ops named: their ledgers are pulled whatever their revision
    learned = False  # a signed server time dated this sync (else the HTTP Date header may)
    warned: list[str] = []  # warnings the server gave with applied ops (R6)
    try:
        try:
            partner = _partner(uow_factory, transport, tries, sleep, backoff_s)
        except SignatureError as exc:
            reason = _refused_answer(exc, None, None)
            _note_failure(uow_factory, clock.now(), reason, refusal=True)
            return failed_report(reason, refused=(stored(reason),))
        while True:
            with uow_factory(write=True) as uow:
                ops = uow.outbox.pending()
                batch = ops[:MAX_BATCH]
                if not batch:
                    break
                bodies = [json.loads(op.body) for op in batch]
                uow.outbox.mark_attempt(batch)  # from here on they may reach the server
                uow.commit()
            say(SENDING, count=len(bodies))
            sent_at: list[int] = []

            def send():
                sent_at.append(clock.now())  # the laptop's time of the attempt that answered (clock offset)
                return transport.sync({"client_id": client_id, "ops": bodies})

            answer = _with_retries(send, tries, sleep, backoff_s)
            now = clock.now()
            with uow_factory(write=True) as uow:
                try:
                    verified = _verify_answer(uow.keyring, answer, {b["op_id"]: b for b in bodies}, partner)
                except SignatureError as exc:
                    reason = _refused_answer(exc, answer, uow.keyring)
                    uow.rollback()
                    _note_failure(uow_factory, now, reason, refusal=True)
                    return failed_report(reason, sent=sent, applied=applied, rejected=rejected, conflicts=conflicts,
                                   accounts_updated=updated, refused=tuple(refused + [stored(reason)]),
                                   warnings=tuple(warned))
                fresh = _fresh_times(verified, clock_mod.replica_floor(uow))
                a, r, c, u, ref = _merge(uow, verified, now, warned)
                if fresh:
                    clock_mod.learn(uow, max(fresh), sent_at[-1], now, clock_mod.SIGNED)
                    learned = True
                uow.commit()
            sent += len(bodies)
            named.update(b["account_id"] for b in bodies)
            applied, rejected, conflicts, updated = applied + a, rejected + r, conflicts + c, updated + u
            refused += ref
            if len(verified.results) < len(bodies):
                # the server answered only part of the batch; the rest stays queued for the next sync
                break
        say(FETCHING_ACCOUNTS)
        updated_ids, ref = _pull(uow_factory, clock, transport, tries, sleep, backoff_s, learned, partner, say)
        updated += len(updated_ids)
        refused += ref
        terms_mod.pull(uow_factory, clock, transport)  # the rental terms, for the new-account form offline (R26)
        say(FETCHING_LEDGERS)
        with uow_factory() as uow:
            wanted = uow.replica.ledgers_to_pull(named)
        _pull_ledgers_and_history(uow_factory, clock, transport, wanted)
    except SyncError as exc:
        _note_failure(uow_factory, clock.now(), exc.reason)
        return failed_report(exc.reason, sent=sent, applied=applied, rejected=rejected, conflicts=conflicts,
                       accounts_updated=updated, refused=tuple(refused), warnings=tuple(warned))
    now = clock.now()
    with uow_factory(write=True) as uow:
        clock_mod.note_laptop_time(uow, now)
        skew = clock_mod.load_skew(uow)
        uow.settings.update_sync_state(online=True, last_attempt_at=now, last_success_at=now,
                                   last_error=None)
        uow.commit()
    say(UP_TO_DATE)
    return SyncReport(ok=True, sent=sent, applied=applied, rejected=rejected, conflicts=conflicts,
                      accounts_updated=updated, refused=tuple(refused), clock_offset_s=skew.offset_s,
                      warnings=tuple(warned))


def _with_retries(call, tries: int, sleep, backoff_s: float):
    delay = backoff_s
    for attempt in range(max(1, tries)):
        try:
            return call()
        except ServerError as exc:
            if exc.status < 500 or attempt + 1 >= tries:
                raise
        except SyncError:
            if attempt + 1 >= tries:
                raise
        sleep(delay)
        delay = min(delay * 2, 60.0)
    raise AssertionError("unreachable")


def _pull(uow_factory, clock, transport, tries, sleep, backoff_s, learned: bool = False,
          partner: str | None = None, say: Callable[[str], None] = lambda message: None
          ) -> tuple[list[str], list[str]]:
    """GET /pricelist and GET /accounts: a fresh laptop gets the partner's accounts; others get news.

    The live snapshots' as_of date the server's now (signed), so the clock offset is learned here too;
    when nothing signed dated this sync, the answer's HTTP Date header does (unsigned, a fallback).
    """
    prices = _with_retries(transport.pricelist, tries, sleep, backoff_s)
    asked_at: list[int] = []
    where = _cursor_binding(transport)
    with uow_factory() as uow:
        kept = uow.settings.get(CURSOR_SETTING)
    since = kept.get("cursor") if isinstance(kept, dict) and kept.get("for") == where else None

    def listing_call():
        asked_at.append(clock.now())
        return transport.accounts(since) if since is not None else transport.accounts()

    listing = _with_retries(listing_call, tries, sleep, backoff_s)
    now = clock.now()
    date = getattr(transport, "last_date", None)
    refused: list[str] = []
    updated: list[str] = []
    with uow_factory(write=True) as uow:
        untrusted = untrusted_key_reason({"pricelist": prices}, uow.keyring)
        if untrusted:  # said in plain words, once, instead of "trusted keys are none"
            uow.replica.record_refusal("pricelist", None, stored(untrusted), now)
            refused.append("price list")
        elif uow.replica.store_pricelist(uow.keyring, prices, now) is None:
            refused.append("price list")
        envelopes = listing.get("accounts") if isinstance(listing, dict) else None
        if not isinstance(envelopes, list):
            uow.replica.record_refusal("answer", None, stored(Reason.of("account-list-malformed")), now)
            refused.append("account list")
            envelopes = []
        floor = clock_mod.replica_floor(uow)
        uow.commit()
    fresh: list[int] = []
    # Issue 26: a first sync of thousands of accounts is kept a chunk per transaction, so the technician's own
    # edits are never held behind it; the cursor is kept only once every chunk is in (an interrupted first sync
    # simply asks for the full list again).
    for start in range(0, len(envelopes), ACCOUNTS_PER_WRITE):
        if len(envelopes) > ACCOUNTS_PER_WRITE:
            say(STORING_ACCOUNTS, first=start + 1, last=min(start + ACCOUNTS_PER_WRITE, len(envelopes)),
                total=len(envelopes))
        with uow_factory(write=True) as uow:
            chunk = envelopes[start:start + ACCOUNTS_PER_WRITE]
            rows = uow.replica.held_rows(chunk)  # one query, not one look-up per snapshot
            revisions = {account_id: held.revision for account_id, held in rows.items()}  # before they change
            for envelope in chunk:
                row = uow.replica.store_account(uow.keyring, envelope, now, partner, rows)
                if row is None:
                    refused.append("account snapshot")
                    continue
                if revisions.get(row.account_id) != row.revision:
                    updated.append(row.account_id)
                    revisions[row.account_id] = row.revision
                if row.status != "deleted" and (floor is None or row.as_of >= floor):
                    fresh.append(row.as_of)
            uow.commit()
    signed = None if fresh or learned else _signed_server_time(uow_factory, clock, transport)
    with uow_factory(write=True) as uow:
        if fresh:
            clock_mod.learn(uow, max(fresh), asked_at[-1], now, clock_mod.SIGNED)
        elif signed is not None:
            clock_mod.learn(uow, *signed, clock_mod.SIGNED)
        elif not learned and isinstance(date, int):
            clock_mod.learn_from_date(uow, date, asked_at[-1], now)
        cursor = listing.get("cursor") if isinstance(listing, dict) else None
        # The next sync asks only for what changed after this listing (DESIGN §5 GET /accounts?since=). Any refused
        # snapshot (not genuine, another partner's, older than held) keeps the old cursor: the same changes are
        # asked again next time, and refused again if they deserve it.
        if isinstance(cursor, str) and len(cursor) <= 120 and not [r for r in refused if r != "price list"]:
            uow.settings.put(CURSOR_SETTING, {"for": where, "cursor": cursor})
        uow.commit()
    return updated, refused


def _signed_server_time(uow_factory, clock, transport) -> tuple[int, int, int] | None:
    """(server time, laptop before, laptop after) from a signed GET /whoami: a quiet sync (issue 26) brings no
    snapshot to date it, and the clock offset is learned from a signed time whenever the server answers. None
    when the answer is missing or not genuine (the HTTP Date header then stands in, shown but never used)."""
    before = clock.now()
    try:
        envelope = transport.whoami()
    except (ServerError, SyncError):
        return None
    after = clock.now()
    with uow_factory() as uow:
        try:
            payload = replica.verify(uow.keyring, envelope, "technician")
        except SignatureError:
            return None
    server_time = payload.get("server_time")
    if payload.get("token_binding") != getattr(transport, "token_binding", None) or not isinstance(server_time, int):
        return None
    return server_time, before, after


#: The cursor of the last listing of GET /accounts, with the server and token it came from (issue 26)
CURSOR_SETTING = "accounts_cursor"
#: Account snapshots kept per transaction while a listing is stored (a first sync of a big partner)
ACCOUNTS_PER_WRITE = 500


def _cursor_binding(transport) -> str:
    """The server and token a cursor belongs to: another server, or another token, starts from the full list."""
    return f"{getattr(transport, 'base_url', '')}|{getattr(transport, 'token_binding', '')}"


class _Offline(Exception):
    """The server went away (or failed) during the pulls: the rest waits for the next sync."""


def _fetch(call, *args):
    """One pull's pages, or None when the server refuses this account's (e.g. no longer the partner's)."""
    try:
        return call(*args)
    except ServerError as exc:
        if exc.status >= 500:
            raise _Offline() from None
        return None
    except SyncError:
        raise _Offline() from None


#: GETs of ledgers and histories in flight at once after a sync (the server answers them in parallel workers)
PULLS_AT_ONCE = 4


def _pull_ledgers_and_history(uow_factory, clock, transport, account_ids) -> None:
    """Each account's ledger lines (R25 statements) and history (R25) for the screens offline: best effort,
    never blocks a sync; what is held is read once, the pages fetched a few at a time, each account kept in
    one write.

    The ledger is recorded with the account revision it was pulled at (read before the request, so a change
    made meanwhile is pulled again next time); a pull that fails is simply tried at the next sync.
    """
    if not account_ids:
        return
    with uow_factory() as uow:
        held = {}
        for account_id in account_ids:
            row = uow.replica.get_account(account_id)
            held[account_id] = (uow.replica.newest_ledger_id(account_id), row.revision if row is not None else None,
                                uow.history.newest_id(account_id))

    def fetch(account_id: str):
        newest_line, _, newest_event = held[account_id]
        try:
            return _fetch(transport.ledger, account_id, newest_line), _fetch(transport.history, account_id,
                                                                             newest_event)
        except _Offline:
            return None

    with ThreadPoolExecutor(max_workers=PULLS_AT_ONCE, thread_name_prefix="rentdesk-pull") as pool:
        fetched = list(pool.map(fetch, account_ids))
    for account_id, found in zip(account_ids, fetched):
        if found is None:
            return  # offline (or the server failed) from here: the rest waits for the next sync
        lines, events = found
        if lines is None and events is None:
            continue
        with uow_factory(write=True) as uow:
            if lines is not None:
                uow.replica.store_ledger_lines(account_id, lines, clock.now(), held[account_id][1])
            if events is not None:
                uow.history.store_events(account_id, events, clock.now())
            uow.commit()


#: Seconds an on-demand pull (the technician opened a statement or history) may take before the screen shows what
#: is held: the screen must not hang on a bad connection
DETAILS_TIMEOUT_S = 5.0


def pull_details(uow_factory, clock, account_id: str, transport=None) -> bool:
    """Issue 26: a sync pulls the ledger and history only of accounts that changed; the first time the technician
    opens an account's statement or history while online, they are fetched here and kept for offline use.

    Best effort: nothing configured, offline, refused or slow (DETAILS_TIMEOUT_S) leaves what is held and the
    screen says what it says offline. True when something was fetched and kept."""
    with uow_factory() as uow:
        if uow.replica.get_account(account_id) is None or uow.replica.ledger_is_current(account_id):
            return False
        url, token = uow.settings.get("server_url"), uow.settings.get("token")
    owned = transport is None
    if owned:
        if not url or not token:
            return False
        try:
            transport = HttpTransport(url, token, timeout=DETAILS_TIMEOUT_S)
        except settings.InsecureServerUrl:
            return False
    try:
        _pull_ledgers_and_history(uow_factory, clock, transport, [account_id])
    finally:
        if owned:
            transport.close()
    with uow_factory() as uow:
        return uow.replica.ledger_is_current(account_id)


def renew_customer_link(uow_factory, clock, account_id: str, transport=None) -> Reason | None:
    """R27: ask the server for a new link to the customer's page (it mails it to them; the old one stops at once),
    then sync so the signed snapshot says when it was made. Online only: offline, the reason says so (nothing is
    queued: a link is no op). Returns None when done, else the reason."""
    with uow_factory() as uow:
        url, token = uow.settings.get("server_url"), uow.settings.get("token")
    owned = transport is None
    if owned:
        if not url or not token:
            return Reason("sync", "sync-no-server", {})
        try:
            transport = HttpTransport(url, token)
        except settings.InsecureServerUrl as exc:
            return exc.reason
    try:
        transport.customer_link(account_id)
    except SyncError as exc:
        return exc.reason
    finally:
        if owned:
            transport.close()
    report = sync_now(uow_factory, clock)
    return None if report.ok else report.error_reason
