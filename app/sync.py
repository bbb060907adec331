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
from dataclasses import dataclass
from typing import Callable

import httpx

from rental.errors import SignatureError
from rental.reasons import Reason
from rental.rules import reductions as reductions_of
from rental.signing import token_binding

from . import clock as clock_mod, history as history_mod, outbox, replica, settings, terms as terms_mod
from .errors import ServerError, SyncError, stored
from .views import SyncReport
from .models import Reduction as ReductionRow, ToggleOccurrence

API = "/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
MAX_BATCH = 200  # ops per POST /sync; a longer outbox goes in several batches, in order
STATUSES = ("applied", "rejected", "conflict")


class HttpTransport:
    """The license server's JSON API over httpx, with timeouts; https unless the server is this machine."""

    def __init__(self, base_url: str, token: str, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = settings.check_server_url(base_url)
        self.token_binding = token_binding(token)  # what a signed /whoami answer for this token carries
        self._client = httpx.Client(base_url=self.base_url + API, timeout=timeout, transport=transport,
                                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                                    follow_redirects=False, trust_env=False)
        self.last_date: int | None = None  # the last answer's HTTP Date (unsigned: a fallback for the clock offset)

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        try:
            response = self._client.request(method, path, json=body, params=params)
        except httpx.TimeoutException:
            raise SyncError("sync-timeout") from None
        except httpx.HTTPError as exc:
            raise SyncError("sync-unreachable") from None
        self.last_date = clock_mod.http_date(response.headers.get("date"))
        try:
            data = response.json()
        except ValueError:
            raise SyncError("sync-not-json", status=response.status_code) from None
        if response.status_code >= 400:
            code = data.get("error", "error") if isinstance(data, dict) else "error"
            message = data.get("message", "") if isinstance(data, dict) else ""
            raise ServerError(response.status_code, str(code), str(message))
        if not isinstance(data, dict):
            raise SyncError("sync-not-object")
        return data

    def health(self) -> dict:
        return self._call("GET", "/health")

    def whoami(self) -> dict:
        return self._call("GET", "/whoami")

    def pricelist(self) -> dict:
        return self._call("GET", "/pricelist")

    def terms(self) -> dict:
        return self._call("GET", "/terms")

    def accounts(self) -> dict:
        return self._call("GET", "/accounts")

    def account(self, account_id: str) -> dict:
        return self._call("GET", f"/accounts/{account_id}")

    def ledger(self, account_id: str, newer_than: int | None = None) -> list:
        """Ledger lines of the account newest first, following the pages back to line newer_than."""
        return self._pages(f"/accounts/{account_id}/ledger", "lines", newer_than)

    def history(self, account_id: str, newer_than: int | None = None) -> list:
        """The account's events newest first (R25), following the pages back to event newer_than."""
        return self._pages(f"/accounts/{account_id}/history", "events", newer_than)

    def _pages(self, path: str, key: str, newer_than: int | None) -> list:
        """A list paged newest first by `before` (ledger, history), back to the item with id newer_than."""
        items: list = []
        params: dict = {}
        for _ in range(10_000):
            page = self._call("GET", path, params=params)
            found = page.get(key)
            if not isinstance(found, list):
                break
            items.extend(found)
            cursor = page.get("next_before")
            reached = newer_than is not None and any(
                isinstance(item, dict) and isinstance(item.get("id"), int) and item["id"] <= newer_than
                for item in found)
            if not isinstance(cursor, int) or not found or reached:
                break
            params = {"before": cursor}
        return items

    def sync(self, body: dict) -> dict:
        return self._call("POST", "/sync", body)


class UntrustedAnswer(SignatureError):
    """An answer signed with a key this app does not trust; its reason says which key file is missing."""

    def __init__(self, reason: Reason):
        self.reason = reason
        super().__init__(reason.message)


def untrusted_key_reason(answer, keyring) -> Reason | None:
    """When an answer is signed with a key this app does not trust, say which key file is missing (plain words,
    not the verifier's "trusted keys are none"); None when every envelope names a trusted key."""
    envelopes = []
    if isinstance(answer, dict):
        for value in answer.values():
            envelopes += value if isinstance(value, list) else [value]
    for envelope in envelopes:
        kid = envelope.get("kid") if isinstance(envelope, dict) else None
        if isinstance(kid, str) and kid not in keyring:
            return Reason("sync", "sync-untrusted-key", {"kid": kid})
    return None


@dataclass(frozen=True)
class ConnectionCheck:
    """What a first run learnt of a server and token: who is connected, or what failed as a code the screen words
    (unreachable, not-a-server, token-unknown, server-error with detail, untrusted-key with kid)."""

    ok: bool
    technician: str | None = None
    partner: str | None = None
    code: str | None = None
    field: str | None = None  # server_url | token: where the problem is shown
    detail: str | None = None  # the server's own words (server-error) or the key id (untrusted-key)


def check_connection(url: str, token: str, keyring, *,
                     transport: httpx.BaseTransport | None = None) -> ConnectionCheck:
    """Ask the server who the token belongs to and check its signing key is trusted here (nothing is stored)."""
    try:
        api = HttpTransport(url, token, transport=transport, timeout=httpx.Timeout(10.0))
    except settings.InsecureServerUrl as exc:
        return ConnectionCheck(False, code="server-error", field="server_url", detail=str(exc))
    try:
        try:
            health = api.health()
        except SyncError:
            return ConnectionCheck(False, code="unreachable", field="server_url")
        if health.get("status") != "ok":
            return ConnectionCheck(False, code="not-a-server", field="server_url")
        try:
            envelope = api.whoami()
        except ServerError as exc:
            if exc.status == 401:
                return ConnectionCheck(False, code="token-unknown", field="token")
            return ConnectionCheck(False, code="server-error", field="server_url", detail=exc.server_message)
        except SyncError:
            return ConnectionCheck(False, code="not-a-server", field="server_url")
        kid = envelope.get("kid") if isinstance(envelope, dict) else None
        if isinstance(kid, str) and kid not in keyring:
            return ConnectionCheck(False, code="untrusted-key", field="server_url", detail=kid)
        try:  # signed: whose token this is, bound to this very token (the same answer sync pins the partner on)
            me = keyring.verify_envelope(envelope, "technician")
        except SignatureError:
            return ConnectionCheck(False, code="not-a-server", field="server_url")
        if me.get("token_binding") != api.token_binding:
            return ConnectionCheck(False, code="not-a-server", field="server_url")
        technician, partner = str(me.get("technician", "")), str(me.get("partner", ""))
        return ConnectionCheck(True, technician, partner)
    finally:
        api.close()


@dataclass(frozen=True)
class _Verified:
    results: list  # (payload, envelope)
    accounts: list  # (payload, envelope)
    pricelist: tuple | None  # (payload, envelope)


def _verify_answer(keyring, answer: dict, sent: dict[str, dict], partner: str | None = None) -> _Verified:
    """Every envelope of a POST /sync answer, verified; SignatureError names the first that is not genuine."""
    if not isinstance(answer, dict) or not isinstance(answer.get("results"), list) \
            or not isinstance(answer.get("accounts", []), list):
        raise SignatureError("the sync answer is not the document DESIGN §5 describes")
    results = []
    for envelope in answer["results"]:
        payload = replica.verify(keyring, envelope, "op-result")
        op = sent.get(payload.get("op_id"))
        if op is None:
            continue  # a result for an op not sent now (a replayed answer): nothing to merge
        if payload.get("account_id") != op["account_id"] or payload.get("status") not in STATUSES \
                or isinstance(payload.get("server_time"), bool) or not isinstance(payload.get("server_time"), int):
            raise SignatureError(f"the result for op {payload.get('op_id')} does not match the op sent")
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
    session = uow.session
    refused: list[str] = []
    # only the accounts this answer's results name: parsing every snapshot held cost ~1 s a batch at 10,000 accounts
    before = {row.account_id: json.loads(row.payload)
              for row in replica.accounts_named(session, {payload["account_id"] for payload, _ in verified.results})}
    if verified.pricelist is not None:
        if replica.store_pricelist(session, uow.keyring, verified.pricelist[1], now) is None:
            refused.append("price list")
    updated = 0
    for payload, envelope in verified.accounts:
        if replica.keep_account(session, payload, envelope, now) is None:
            refused.append(f"account {payload['account_id']} revision {payload['revision']} (older than held)")
        else:
            updated += 1
    applied = rejected = conflicts = 0
    # The batch's ops in one query, and no flush before each look-up: a query (and a flush) per result
    # took more than the rest of the merge (0.45 s of a 1.7 s sync of 1,000 ops).
    ops = outbox.get_many(session, [payload["op_id"] for payload, _ in verified.results])
    with session.no_autoflush:
        for payload, envelope in verified.results:
            op = ops.pop(payload["op_id"], None)  # a repeated result finds its op taken, as the op it names is
            if op is None or op.state != outbox.PENDING:
                continue
            if payload["status"] == "applied":
                applied += 1
                if op.kind in ("set_licenses", "remove_pbx"):
                    _remember_reductions(session, op, before.get(op.account_id), payload)
            elif payload["status"] == "rejected":
                rejected += 1
            else:
                conflicts += 1
            outbox.apply_result(session, op, payload, envelope, now)
            if warned is not None:
                warned.extend(outbox.warnings_of(payload))
    return applied, rejected, conflicts, updated, refused


def _remember_reductions(session, op, previous: dict | None, payload: dict) -> None:
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
        session.add(ReductionRow(at=r.at, pbx_id=body["pbx_id"], serial=r.serial, ref=r.ref, from_qty=r.from_qty,
                                 to_qty=r.to_qty))
    if any(warning.code == "toggle-warning" for warning in outbox.warnings_of(payload)):
        session.add(ToggleOccurrence(at=at, serial=serial))


def _fresh_times(verified: _Verified, floor: int | None) -> list[int]:
    """The signed server times of an answer that can date "now": results' server_time and live snapshots' as_of.

    A time older than the newest snapshot held is a stored result answered again, or a replay: not now.
    """
    times = [payload["server_time"] for payload, _ in verified.results]
    times += [payload["as_of"] for payload, _ in verified.accounts if payload.get("status") != "deleted"]
    return [t for t in times if floor is None or t >= floor]


def _note_failure(uow_factory, now: int, reason: Reason, *, refusal: bool = False) -> None:
    """Keep why the sync did not complete (as data, for the screens to word), and an answer refused."""
    with uow_factory() as uow:
        clock_mod.note_laptop_time(uow.session, now)
        settings.update_sync_state(uow.session, online=refusal, last_attempt_at=now, last_error=stored(reason))
        if refusal:
            replica.record_refusal(uow.session, "answer", None, stored(reason), now)
        uow.commit()


def _failed(reason: Reason, **counts) -> SyncReport:
    """The report of a sync that did not complete: the reason as data and in English words."""
    return SyncReport(ok=False, error=reason.message, error_reason=reason, **counts)


def _refused_answer(exc: SignatureError, answer, keyring) -> Reason:
    """Why an answer was not believed: the key file it lacks, in plain words, or what the verifier found."""
    if isinstance(exc, UntrustedAnswer):
        return exc.reason
    if answer is not None and (untrusted := untrusted_key_reason(answer, keyring)) is not None:
        return untrusted
    if exc.reason is not None:  # the verifier's reason, flat beside "cause" (its code): French throughout
        return Reason("sync", "sync-answer-refused-cause", {**exc.reason.params, "cause": exc.reason.code})
    return Reason("sync", "sync-answer-refused", {"detail": str(exc)})


def sync_now(uow_factory, clock, transport=None, progress: Callable[[str], None] | None = None, *,
             tries: int = 1, sleep: Callable[[float], None] = time.sleep, backoff_s: float = 1.0):
    """One sync: push every pending op (in order, in batches of MAX_BATCH), verify, merge; then pull.

    tries > 1 resends after a failure with doubling back-off (the same op_ids: applied once).
    """

    say = progress or (lambda message: None)
    now = clock.now()
    with uow_factory() as uow:
        url = settings.get(uow.session, "server_url")
        token = settings.get(uow.session, "token")
        client_id = settings.ensure_client_id(uow.session)
        uow.commit()
    if transport is None:
        if not url or not token:
            reason = Reason("sync", "sync-no-server", {})
            _note_failure(uow_factory, now, reason)
            return _failed(reason)
        try:
            transport = HttpTransport(url, token)
        except settings.InsecureServerUrl as exc:
            reason = exc.reason
            _note_failure(uow_factory, now, reason)
            return _failed(reason)
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
        held = settings.pinned_partner(uow.session, binding)
    if held is not None:
        return held
    envelope = _with_retries(transport.whoami, tries, sleep, backoff_s)
    with uow_factory() as uow:
        untrusted = untrusted_key_reason({"whoami": envelope}, uow.keyring)
        if untrusted:
            raise UntrustedAnswer(untrusted)
        payload = replica.verify(uow.keyring, envelope, "technician")
        partner = payload.get("partner")
        if payload.get("token_binding") != binding or not isinstance(partner, str) or not partner:
            raise SignatureError("the signed technician document answers another token than this laptop's")
        settings.pin_partner(uow.session, partner, binding)
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
            return _failed(reason, refused=(stored(reason),))
        while True:
            with uow_factory() as uow:
                ops = outbox.pending(uow.session)
                batch = ops[:MAX_BATCH]
                if not batch:
                    break
                bodies = [json.loads(op.body) for op in batch]
                outbox.mark_attempt(uow.session, batch)  # from here on they may reach the server
                uow.commit()
            say(f"Sending {len(bodies)} change(s)…")
            sent_at: list[int] = []

            def send():
                sent_at.append(clock.now())  # the laptop's time of the attempt that answered (clock offset)
                return transport.sync({"client_id": client_id, "ops": bodies})

            answer = _with_retries(send, tries, sleep, backoff_s)
            now = clock.now()
            with uow_factory() as uow:
                try:
                    verified = _verify_answer(uow.keyring, answer, {b["op_id"]: b for b in bodies}, partner)
                except SignatureError as exc:
                    reason = _refused_answer(exc, answer, uow.keyring)
                    uow.rollback()
                    _note_failure(uow_factory, now, reason, refusal=True)
                    return _failed(reason, sent=sent, applied=applied, rejected=rejected, conflicts=conflicts,
                                   accounts_updated=updated, refused=tuple(refused + [stored(reason)]),
                                   warnings=tuple(warned))
                fresh = _fresh_times(verified, clock_mod.replica_floor(uow.session))
                a, r, c, u, ref = _merge(uow, verified, now, warned)
                if fresh:
                    clock_mod.learn(uow.session, max(fresh), sent_at[-1], now, clock_mod.SIGNED)
                    learned = True
                uow.commit()
            sent += len(bodies)
            named.update(b["account_id"] for b in bodies)
            applied, rejected, conflicts, updated = applied + a, rejected + r, conflicts + c, updated + u
            refused += ref
            if len(verified.results) < len(bodies):
                # the server answered only part of the batch; the rest stays queued for the next sync
                break
        say("Fetching accounts and prices…")
        updated_ids, ref = _pull(uow_factory, clock, transport, tries, sleep, backoff_s, learned, partner)
        updated += len(updated_ids)
        refused += ref
        terms_mod.pull(uow_factory, clock, transport)  # the rental terms, for the new-account form offline (R26)
        say("Fetching ledgers…")
        with uow_factory() as uow:
            wanted = replica.ledgers_to_pull(uow.session, named)
        _pull_ledgers(uow_factory, clock, transport, wanted)
        _pull_history(uow_factory, clock, transport, wanted)
    except SyncError as exc:
        _note_failure(uow_factory, clock.now(), exc.reason)
        return _failed(exc.reason, sent=sent, applied=applied, rejected=rejected, conflicts=conflicts,
                       accounts_updated=updated, refused=tuple(refused), warnings=tuple(warned))
    now = clock.now()
    with uow_factory() as uow:
        clock_mod.note_laptop_time(uow.session, now)
        skew = clock_mod.load_skew(uow.session)
        settings.update_sync_state(uow.session, online=True, last_attempt_at=now, last_success_at=now,
                                   last_error=None)
        uow.commit()
    say("Up to date.")
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
          partner: str | None = None) -> tuple[list[str], list[str]]:
    """GET /pricelist and GET /accounts: a fresh laptop gets the partner's accounts; others get news.

    The live snapshots' as_of date the server's now (signed), so the clock offset is learned here too;
    when nothing signed dated this sync, the answer's HTTP Date header does (unsigned, a fallback).
    """
    prices = _with_retries(transport.pricelist, tries, sleep, backoff_s)
    asked_at: list[int] = []

    def listing_call():
        asked_at.append(clock.now())
        return transport.accounts()

    listing = _with_retries(listing_call, tries, sleep, backoff_s)
    now = clock.now()
    date = getattr(transport, "last_date", None)
    refused: list[str] = []
    updated: list[str] = []
    with uow_factory() as uow:
        floor = clock_mod.replica_floor(uow.session)
        fresh: list[int] = []
        untrusted = untrusted_key_reason({"pricelist": prices}, uow.keyring)
        if untrusted:  # said in plain words, once, instead of "trusted keys are none"
            replica.record_refusal(uow.session, "pricelist", None, stored(untrusted), now)
            refused.append("price list")
        elif replica.store_pricelist(uow.session, uow.keyring, prices, now) is None:
            refused.append("price list")
        envelopes = listing.get("accounts") if isinstance(listing, dict) else None
        if not isinstance(envelopes, list):
            replica.record_refusal(uow.session, "answer", None, "The account list is not what DESIGN §5 describes: "
                                                               "refused.", now)
            refused.append("account list")
            envelopes = []
        held = replica.revisions(uow.session)  # read once: 10,000 accounts must not mean 10,000 full reads each
        for envelope in envelopes:
            row = replica.store_account(uow.session, uow.keyring, envelope, now, partner)
            if row is None:
                refused.append("account snapshot")
                continue
            if held.get(row.account_id) != row.revision:
                updated.append(row.account_id)
                held[row.account_id] = row.revision
            if row.status != "deleted" and (floor is None or row.as_of >= floor):
                fresh.append(row.as_of)
        if fresh:
            clock_mod.learn(uow.session, max(fresh), asked_at[-1], now, clock_mod.SIGNED)
        elif not learned and isinstance(date, int):
            clock_mod.learn_from_date(uow.session, date, asked_at[-1], now)
        uow.commit()
    return updated, refused


def _pull_ledgers(uow_factory, clock, transport, account_ids) -> None:
    """Ledger lines for statements offline (R25); best effort, never blocks a sync.

    Each is recorded with the account revision it was pulled at (read before the request, so a change
    made meanwhile is pulled again next time); a pull that fails is simply tried at the next sync.
    """
    for account_id in account_ids:
        with uow_factory() as uow:
            newest = replica.newest_ledger_id(uow.session, account_id)
            row = replica.get_account(uow.session, account_id)
            revision = row.revision if row is not None else None
        try:
            lines = transport.ledger(account_id, newest)
        except ServerError as exc:
            if exc.status >= 500:
                return
            continue  # this account's ledger is refused (e.g. no longer the partner's): the others still come
        except SyncError:
            return  # offline again: the rest waits for the next sync
        with uow_factory() as uow:
            replica.store_ledger_lines(uow.session, account_id, lines, clock.now(), revision)
            uow.commit()


def _pull_history(uow_factory, clock, transport, account_ids) -> None:
    """The accounts' history (R25) for the screens offline; best effort like the ledgers, never blocks a sync."""
    for account_id in account_ids:
        with uow_factory() as uow:
            newest = history_mod.newest_id(uow.session, account_id)
        try:
            events = transport.history(account_id, newest)
        except ServerError as exc:
            if exc.status >= 500:
                return
            continue
        except SyncError:
            return
        with uow_factory() as uow:
            history_mod.store_events(uow.session, account_id, events, clock.now())
            uow.commit()


class BackgroundSyncer:
    """Syncs in a thread: at start, on poke() (after an edit), every interval, and with back-off while offline.

    While the server is unreachable it retries at min_backoff doubling to max_backoff, so the first
    attempt after the server comes back reaches it; a report goes to on_report after each attempt.
    ``wait(seconds)`` is how the thread waits between attempts: by default on its wake-up event, so
    poke() and stop() cut it short; tests pass their own and no test waits in real time.
    """

    def __init__(self, uow_factory, clock, *, interval_s: float = 300.0, min_backoff_s: float = 5.0,
                 max_backoff_s: float = 300.0, transport_factory: Callable[[], object] | None = None,
                 on_report: Callable[[object], None] | None = None,
                 wait: Callable[[float], object] | None = None):
        self._uow_factory = uow_factory
        self._clock = clock
        self.interval_s = interval_s
        self.min_backoff_s = min_backoff_s
        self.max_backoff_s = max_backoff_s
        self._transport_factory = transport_factory
        self._on_report = on_report
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._wait = wait or self._wake.wait
        self._thread: threading.Thread | None = None
        self.last_report = None
        self.attempts = 0
        self.next_delay_s = 0.0
        self._backoff = min_backoff_s

    @property
    def is_stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> "BackgroundSyncer":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rentdesk-sync", daemon=True)
            self._thread.start()
        return self

    def poke(self) -> None:
        """Try now (an edit was queued, or the user pressed Sync now)."""
        self._wake.set()

    def request_stop(self) -> None:
        """Ask the thread to end after its current attempt (stop() also waits for it)."""
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float = 30.0) -> bool:
        """Wait for the thread to end by itself (after request_stop()); True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def stop(self, timeout: float = 30.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def sync_once(self):
        """One sync now; sync_now itself waits for any other sync of this store (one lock, _lock_for)."""
        transport = self._transport_factory() if self._transport_factory else None
        try:
            report = sync_now(self._uow_factory, self._clock, transport=transport)
        except Exception as exc:  # a sync must never kill the thread; the reason is kept
            report = _failed(Reason("sync", "sync-failed", {"detail": str(exc)}))
        finally:
            close = getattr(transport, "close", None)
            if close:
                close()
        self.attempts += 1
        self.last_report = report
        if self._on_report:
            self._on_report(report)
        return report

    def step(self) -> float:
        """One attempt; returns how long to wait before the next: the interval after a success, else the back-off
        (min_backoff doubling up to max_backoff while the server stays unreachable)."""
        report = self.sync_once()
        if report.ok:
            self._backoff = self.min_backoff_s
            self.next_delay_s = self.interval_s
        else:
            self.next_delay_s = self._backoff
            self._backoff = min(self._backoff * 2, self.max_backoff_s)
        return self.next_delay_s

    def _run(self) -> None:
        while not self._stop.is_set():
            delay = self.step()
            if self._stop.is_set():
                break
            self._wait(delay)
            self._wake.clear()
