"""View models: what each screen is given, plain frozen data built by the use cases (app/services.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from rental.money import TICKS_PER_MILLI
from rental.ops import KINDS
from rental.reasons import Reason

from .clock import ClockNotice


@dataclass(frozen=True)
class Figures:
    """What the credit buys for a configuration, as of ``at`` (R16): the numbers the UI shows; the projection
    computes the core ones (app.projection.figures), the use cases add what the policy and the list say of them."""

    at: int
    balance_ticks: int
    rate_ticks_per_s: int  # being charged now (0 when suspended or idle)
    monthly_milli: int  # consumption of the configuration (R16, R21), even while suspended
    remaining_seconds: int | None  # None when nothing runs
    ends_at: int | None  # the second the credit runs out (R18), counting the keys reload redeems (R24)
    status: str  # active | idle | suspended | deleted
    daily_milli: int = 0  # the average daily consumption the guide speaks of (R16), rounded down
    resume_needs_milli: int | None = None  # suspended: the least load that restarts it at the current list (R18)
    retained_until: int | None = None  # nothing runs: when the credit kept expires (R19)
    warn_s: int = 30 * 86_400  # a runtime under this is shown as a warning (the server's R14 horizon)
    resume_days: int = 1  # a suspended account restarts once its credit pays this many days (R18, the server's)
    reloads: tuple = ()  # R24: every automatic reload to come (rental.reload.Reload: at, key_id, amount_milli)

    @property
    def changes_at(self) -> int | None:
        """The next second what is shown of this account changes by time alone, after ``at``: an automatic reload
        redeems a held key and re-rates the account (R24, R23), the credit runs out and it stops (R10, R18), the
        credit kept expires (R19). An open page watches it (app/web/pages.py watch_until): no sync tells of it."""
        seconds = [self.reloads[0].at if self.reloads else None,
                   self.ends_at if self.status == "active" else None,
                   self.retained_until]
        return min((s for s in seconds if s is not None and s > self.at), default=None)

    @property
    def has_credit(self) -> bool:
        """The balance shows at least 0.001 iSC (amounts are shown rounded down): the words beside it say "used up"
        or "credit kept" only when the figure agrees (issue 22)."""
        return self.balance_ticks >= TICKS_PER_MILLI


@dataclass(frozen=True)
class DepositView:
    """A key held for an account (R24): confirmed by the server, or queued on this laptop."""

    key_id: str
    amount_milli: int
    deposited_at: int | None  # server time (None while queued)
    is_pending: bool = False  # a deposit queued here, not yet confirmed
    is_withdrawing: bool = False  # its withdrawal is queued


@dataclass(frozen=True)
class LicenseLine:
    ref: str
    name: str  # from the current price list, or the ref when unknown
    qty: int
    monthly_milli: int  # unit price the line is rated at (R23)
    rate_ticks_per_s: int  # the line's whole rate


@dataclass(frozen=True)
class PbxView:
    pbx_id: str
    name: str
    serial: str
    platform: str
    hardware_model: str | None
    firmware: str
    mode: str  # rental | purchased
    status: str
    revision: int | None  # None while only registered offline
    licenses: tuple[LicenseLine, ...]  # confirmed by the server
    pending_licenses: tuple[LicenseLine, ...] | None  # the desired state queued, when one is
    is_confirmed: bool  # the server knows this PBX
    is_pending_removal: bool
    has_pending_changes: bool


#: Refusals that re-applying can never turn into success (DESIGN §5's rule codes).
FINAL_RULES = frozenset({"key-used", "key-invalid", "deleted", "access", "op-reuse"})
#: Refusals of an op carrying a key that are about its account, not the key: the server did not use the key.
_KEY_LEFT_UNUSED = frozenset({"deleted", "access"})


def leaves_key_unused(kind: str | None, status: str, rule: str | None) -> bool:
    """A key this op carried, refused for its account (deleted meanwhile, R13; another partner's): the server did
    not use it, so it can be loaded or deposited on another account (R11, R24); not a key refused as used or
    forged."""
    declared = KINDS.get(kind) if kind else None
    return status == "rejected" and declared is not None and declared.carries_key and rule in _KEY_LEFT_UNUSED


@dataclass(frozen=True)
class OpView:
    """An op in the outbox: pending, or rejected/conflicting with the server's reason until resolved."""

    op_id: str
    seq: int
    kind: str
    account_id: str
    pbx_id: str | None
    summary: Reason  # one line, as a reason screens translate ("Set licenses of PBX Lobby: 01-00010-001 × 5")
    effect: str | None  # projected effect, e.g. "+12.000 iSC, not yet confirmed"
    state: str  # pending | rejected | conflict
    rule: str | None
    message: str | None
    created_at: int
    attempts: int  # how many syncs carried it (0: never left the laptop)
    credit_milli: int = 0  # a pending key's amount (R11), counted as not yet confirmed
    problems: tuple[Reason, ...] = ()  # the server's refusal as data (screens translate from the codes)
    #: waiting for a decision: what re-applying it would change on the server's current state (issue 21)
    overrides: tuple[Mapping[str, Any], ...] = ()
    account_name: str = ""  # the sync screen lists every account's changes: each says whose it is

    @property
    def needs_review(self) -> bool:
        """Re-applied only after seeing what it changes on the server's current state (issue 21)."""
        return KINDS[self.kind].reviewed_before_reapply

    @property
    def leaves_key_unused(self) -> bool:
        return leaves_key_unused(self.kind, self.state, self.rule)

    @property
    def is_final(self) -> bool:
        """Refused for a reason no newer state can change (a used or forged key, a deleted account): only discard."""
        return self.state == "rejected" and self.rule in FINAL_RULES


@dataclass(frozen=True)
class ReapplyReview:
    """What re-applying a refused or conflicting change would do now (issue 21): each difference against the
    server's current signed state, computed with rental.ops from the replica, shown before the technician
    confirms. ``revision`` is the account revision it was computed on: a confirmation made on another is asked
    again."""

    op: OpView
    account_name: str
    pbx_id: str | None
    pbx_name: str | None
    changes: tuple[Mapping[str, Any], ...]  # {"field", "from", "to"} (rental.reasons.change_text words each)
    revision: int | None
    problems: tuple[Reason, ...] = ()  # why re-applying would be refused now (nothing to confirm then)
    pbx_gone: bool = False  # the PBX is no longer on the server's account

    @property
    def can_reapply(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class AccountSummary:
    account_id: str
    name: str
    contact_email: str
    status: str  # projected to now (suspended from the exact second the server will use, R18)
    balance_ticks: int
    remaining_seconds: int | None
    ends_at: int | None
    monthly_milli: int
    pending_ops: int
    problem_ops: int  # rejected or conflicting ops waiting for a decision
    pending_credit_milli: int  # keys queued, not yet confirmed
    is_confirmed: bool  # the server has the account (False: created offline, not synced yet)
    clock_notice: ClockNotice | None = None  # the laptop's clock is off or went back (the same for every account)
    warn_s: int = 30 * 86_400  # a runtime under this is shown as a warning (the server's R14 horizon)
    at: int | None = None  # the server's time the row is projected to
    changes_at: int | None = None  # the next second the row changes by time alone (Figures.changes_at: R18, R24)


@dataclass(frozen=True)
class AccountView:
    account_id: str
    name: str
    contact_email: str
    cloud_contract: bool
    language: str
    partner: str | None
    revision: int | None
    is_confirmed: bool
    is_deleted: bool
    confirmed: Figures  # the verified snapshot projected to now
    pending: Figures | None  # the same figures with the queued ops applied; None when nothing is queued
    pending_credit_milli: int  # "+X iSC, not yet confirmed"
    price_version: str | None  # the list the account is rated at now (R23; Book.rated_version: reloads re-rate, R24)
    pbxs: tuple[PbxView, ...]
    ops: tuple[OpView, ...]  # pending, rejected and conflicting ops of this account, in order
    verified_at: int | None  # server time of the verified snapshot (its as_of)
    received_at: int | None  # laptop time it was received
    pending_edits: Mapping[str, object] = field(default_factory=dict)  # queued update_account fields
    results: tuple[ResultView, ...] = ()  # the account's newest verified op results (20), with warnings (R6)
    clock_notice: ClockNotice | None = None  # the laptop's clock is off or went back; figures use the server's time
    auto_reload_days: int = 0  # R24 as the server confirmed it (0 off)
    pending_reload_days: int | None = None  # a queued change of it
    deposits: tuple[DepositView, ...] = ()  # keys held (confirmed, then queued), oldest first
    terms: TermsAcceptance | None = None  # R26: the rental terms the customer accepted
    customer_link_at: int | None = None  # R27: when the customer's current link was made (none: no link known)

    @property
    def reload_days_shown(self) -> int:
        """R24 as this laptop shows it: a change of it queued here, else the server's setting."""
        return self.auto_reload_days if self.pending_reload_days is None else self.pending_reload_days


@dataclass(frozen=True)
class TermsAcceptance:
    """The customer's acceptance of the rental terms (R26): which version, by whom, recorded when by the server
    (None while the new account waits for the next sync)."""

    version: str
    accepted_by: str
    accepted_at: int | None


@dataclass(frozen=True)
class LicensePreview:
    """What a desired configuration of one PBX would do (R14, R16), computed offline with rental.rules."""

    ok: bool
    problems: tuple[Reason, ...]  # each with its ref when it concerns one item
    warnings: tuple[Reason, ...]  # R6 reduce-then-restore, R18 still suspended
    current: Figures
    after: Figures  # balance, new monthly consumption, new runtime and end date
    lines: tuple[LicenseLine, ...]  # the desired lines at the current price list
    missing_milli: int  # iSC missing for R14 (0 when enough)
    decision: Any = None  # the core's decision when ok (rental.ops.Decision): queueing it decides no second time
    #: the next second this preview changes by time alone (the state's stop, reload or expiry, R18, R24, R19; the
    #: second R14 starts refusing it): the editor's summary is worked out again then
    changes_at: int | None = None

    @property
    def confirmable(self) -> tuple[Reason, ...]:
        """The warnings queuing asks the technician to confirm first (R6's); the others, R18's, only inform."""
        return tuple(w for w in self.warnings if w.rule == "R6")

    @property
    def shown(self) -> "SummaryShown":
        """What the editor's summary shows of this preview that matters to money or the rules."""
        return SummaryShown(self.current.at, self.after.status, self.after.monthly_milli, self.after.ends_at,
                            tuple(sorted({p.code for p in self.problems}
                                         | {w.code for w in self.warnings if w.code != "still-suspended"})))


@dataclass(frozen=True)
class SummaryShown:
    """What a license editor's summary showed, carried by its form to the save (untrusted: words only, never money):
    the second it was worked out for, the configuration's status, monthly consumption and end of credit after the
    change (R16, R18), and the codes of the rule problems and warnings it said (R6, R14, ...)."""

    at: int
    status: str
    monthly_milli: int
    ends_at: int | None
    verdict: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountRef:
    """An account named on a screen that lists accounts for another reason (e.g. R23 notices)."""

    account_id: str
    name: str


@dataclass(frozen=True)
class PricelistNotice:
    """A newer price list applies to this account at its next connection event (R23)."""

    account_version: str | None
    current_version: str
    message: str
    reason: Reason | None = None  # the same as data: the screen words it in its language (R23)


@dataclass(frozen=True)
class BurnDown:
    """Balance over time until the end of credit; ``points`` are (second, balance ticks)."""

    now: int
    confirmed: tuple[tuple[int, int], ...]
    pending: tuple[tuple[int, int], ...] | None
    confirmed_ends_at: int | None
    pending_ends_at: int | None


@dataclass(frozen=True)
class StatementRow:
    pbx_id: str
    pbx_name: str
    ref: str
    item_name: str
    seconds: int
    rates: tuple[int, ...]  # ticks per second, one per price in the period
    ticks: int
    qty: int = 0  # the quantity charged in this row (a quantity changed in the period gives another row)
    unit_monthly_milli: int = 0  # the unit price per month the row was charged at (R12, R23)
    milli: int = 0  # the amount shown: the rows' milli add up to the charged total shown (largest remainder)


@dataclass(frozen=True)
class StatementView:
    """R25: per PBX and item the seconds, rate and amount, totals matching the ledger to the tick."""

    account_id: str
    start: int
    end: int
    rows: tuple[StatementRow, ...]
    charged_ticks: int
    credited_ticks: int
    forfeited_ticks: int
    expired_ticks: int
    lines_known: int  # ledger lines held for the account
    fetched_at: int | None  # when the ledger was last pulled; figures are as of then
    account_name: str = ""
    credits: tuple["CreditRow", ...] = ()  # R25: each key loaded by hand or redeemed by automatic reload (R24)
    held: tuple["HeldKey", ...] = ()  # R24, R25: keys held for automatic reload as the server last said
    as_of: int | None = None  # the second the figures are computed to (now; without a clock, the held snapshot's)


@dataclass(frozen=True)
class HeldKey:
    """A key held for automatic reload (R24): not yet credited, listed on the statement (R25)."""

    key_id: str
    amount_milli: int
    deposited_at: int


@dataclass(frozen=True)
class CreditRow:
    """A credit of the statement's period: the key it came from, and whether automatic reload redeemed it."""

    at: int
    key_id: str | None
    ticks: int
    is_automatic: bool


@dataclass(frozen=True)
class RefusalView:
    """Something the app refused to believe, with the reason (shown, never a crash)."""

    at: int
    what: str
    subject: str | None
    reason: str


@dataclass(frozen=True)
class ResultView:
    """The server's verified answer to one op, newest first, with the warnings it carried (R6)."""

    op_id: str
    account_id: str
    account_name: str
    kind: str | None
    status: str  # applied | rejected | conflict
    rule: str | None
    message: str | None
    warnings: tuple[Reason, ...]  # e.g. R6: a reduce-then-restore the server recorded on the account
    server_time: int  # the server's second the op took effect (or was refused)
    received_at: int  # laptop time the answer arrived
    problems: tuple[Reason, ...] = ()  # a refusal's problems as data

    @property
    def leaves_key_unused(self) -> bool:
        return leaves_key_unused(self.kind, self.status, self.rule)


@dataclass(frozen=True)
class SyncStatus:
    server_url: str | None
    online: bool | None  # None: never tried
    last_attempt_at: int | None
    last_success_at: int | None
    last_error: str | None  # in English words
    queued: int  # pending ops
    problems: tuple[OpView, ...]  # rejected and conflicting ops, with rule and message
    refusals: tuple[RefusalView, ...]  # newest first
    clock_notice: ClockNotice | None = None  # the laptop's clock is off (> 2 min) or went back since last seen
    clock_offset_s: int = 0  # server − laptop clock learned at the last sync (0 before the first)
    results: tuple[ResultView, ...] = ()  # the newest verified op results (50), each with its warnings
    last_error_reason: Reason | None = None  # why the last sync did not complete, as data (screens word it)

    @property
    def needs_new_token(self) -> bool:
        """The server said the token was revoked or has expired (401, DESIGN §5): the screens ask for a new one."""
        reason = self.last_error_reason
        return reason is not None and reason.code in ("sync-token-revoked", "sync-token-expired")


@dataclass(frozen=True)
class SettingsView:
    server_url: str | None
    has_token: bool
    language: str | None
    client_id: str


@dataclass(frozen=True)
class QueuedOp:
    """What a write queued: its op_id, and warnings shown with it."""

    op_id: str
    kind: str
    account_id: str
    warnings: tuple[Reason, ...] = ()
    pbx_id: str | None = None
    decision: Any = None  # the core's decision taken offline (rental.ops.Decision): what the server will decide
    key_amount_milli: int | None = None  # a key it carries, as read offline (R11, R24)
    #: how what was queued differs from what its form showed while open (reasons "crossed-*"), said with the save
    crossings: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class SyncReport:
    ok: bool
    sent: int = 0
    applied: int = 0
    rejected: int = 0
    conflicts: int = 0
    accounts_updated: int = 0
    refused: tuple[str, ...] = ()  # what was refused (bad signature, rollback): stored reasons or plain words
    error: str | None = None  # why the sync did not complete (offline, timeout, 401...), in English words
    error_reason: Reason | None = None  # the same as data: the screens word it in their language
    clock_offset_s: int | None = None  # server − laptop clock, learned by this sync (None: not completed)
    warnings: tuple[Reason, ...] = ()  # what the server warned about with ops it applied (R6 reduce-then-restore)


@dataclass(frozen=True)
class KeyFingerprint:
    kid: str
    fingerprint: str
    is_demo: bool


@dataclass(frozen=True)
class MeterView:
    """The live credit meter, polled every second: the figures now and with the queued changes, nothing more."""

    account_id: str
    is_deleted: bool
    confirmed: Figures
    pending: Figures | None
    pending_credit_milli: int
