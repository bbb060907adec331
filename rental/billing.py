"""Account state and per-second charging (DESIGN §3; R10, R13, R15, R17-R19, R21, R23, R25).

An account runs as (as_of, balance, rate): settling to t charges min(balance, rate·(t−as_of))
in O(number of rented lines), whatever the account's history. Every function is pure: it
returns the new state and the ledger entries that explain the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from .errors import RentalError
from .money import TICKS_PER_MILLI, check_milli, require_int
from .pricing import PriceList

CREDIT = "credit"
CHARGE = "charge"
FORFEIT = "forfeit"
EXPIRY = "expiry"

ACTIVE = "active"
IDLE = "idle"
SUSPENDED = "suspended"
DELETED = "deleted"


class ClockError(RentalError, ValueError):
    """A time earlier than the account's last settled second: money never runs backwards."""


@dataclass(frozen=True)
class Line:
    """A rented item on one PBX at the unit price in force when it was rated (R23)."""

    pbx_id: str
    ref: str
    qty: int
    monthly_milli: int
    price_version: str

    @property
    def rate(self) -> int:
        """Ticks per second: 12 · monthly price · quantity (SPEC, arithmetic)."""
        return 12 * self.monthly_milli * self.qty


@dataclass(frozen=True)
class Entry:
    """One ledger line: a credit, a charge of one item over one period, a forfeit or an expiry (R25).

    ``ticks`` is always ≥ 0; its kind says which way it moves the balance.
    """

    kind: str
    at: int
    ticks: int
    pbx_id: str | None = None
    ref: str | None = None
    qty: int = 0
    start: int | None = None
    end: int | None = None
    seconds: int = 0
    rate: int = 0
    price_version: str | None = None
    key_id: str | None = None
    auto: bool = False  # a credit redeemed by automatic reload (R24), not by hand

    @property
    def signed_ticks(self) -> int:
        """The entry's effect on the balance."""
        return self.ticks if self.kind == CREDIT else -self.ticks


@dataclass(frozen=True, slots=True)
class Account:
    """The running state of an account's credit (DESIGN §3)."""

    as_of: int
    balance: int = 0
    lines: tuple[Line, ...] = ()
    suspended: bool = False
    deleted: bool = False
    #: start of the retention period of R19: the end of the last charged second, or the last credit
    last_activity_at: int = 0
    price_version: str | None = None
    #: the configuration's rate, derived from lines once (settling is on the hot path)
    configured_rate: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        require_int(self.as_of, "as_of")
        require_int(self.balance, "balance")
        if self.balance < 0:
            raise RentalError("an account balance is never negative")
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "configured_rate", sum(line.rate for line in self.lines))

    @property
    def rate(self) -> int:
        """Ticks per second being charged now (0 when suspended, idle or deleted)."""
        if self.suspended or self.deleted:
            return 0
        return self.configured_rate

    @property
    def depletes_at(self) -> int | None:
        """The first second the balance cannot pay in full (R10, R18); None when nothing runs."""
        rate = self.rate
        if rate == 0:
            return None
        return self.as_of + self.balance // rate

    @property
    def status(self) -> str:
        """active, idle (nothing rented), suspended (credit used up, R18) or deleted (R13)."""
        if self.deleted:
            return DELETED
        if not self.lines:
            return IDLE
        return SUSPENDED if self.suspended else ACTIVE

    @property
    def monthly_milli(self) -> int:
        """Monthly consumption of the configuration in milli-iSC (R16, R21)."""
        return sum(line.monthly_milli * line.qty for line in self.lines)

    @property
    def remaining_seconds(self) -> int | None:
        """Seconds of rent the balance still pays at the current rate (R16); None when nothing runs."""
        rate = self.rate
        return None if rate == 0 else self.balance // rate

    def lines_of(self, pbx_id: str) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.pbx_id == pbx_id)


class _Unfrozen:
    """Account's very slots, without its frozen __setattr__: settling fills one with plain slot stores and then makes
    it an Account (a __class__ assignment, allowed between identical slot layouts), which costs less than the eight
    calls of object.__setattr__ a frozen instance otherwise needs (the hot path; bench/billing.py)."""

    __slots__ = Account.__slots__


def _advanced(account: Account, as_of: int, balance: int, suspended: bool, last_activity_at: int) -> Account:
    """A copy of account with the fields settling changes, built without re-validating (hot path)."""
    new = _Unfrozen()  # calling the class: C's own allocation, cheaper than object.__new__(cls)
    new.as_of = as_of
    new.balance = balance
    new.lines = account.lines
    new.suspended = suspended
    new.deleted = account.deleted
    new.last_activity_at = last_activity_at
    new.price_version = account.price_version
    new.configured_rate = account.configured_rate
    new.__class__ = Account
    return new


def _changed(account: Account, *, balance: int | None = None, lines: tuple[Line, ...] | None = None,
             suspended: bool | None = None, last_activity_at: int | None = None,
             price_version: str | None | object = ...) -> Account:
    """dataclasses.replace of the fields credit and reconfigure change, at a fraction of its cost (hot path): the
    balance is checked as __post_init__ checks it, and the configured rate follows new lines."""
    if balance is None:
        balance = account.balance
    else:
        require_int(balance, "balance")
        if balance < 0:
            raise RentalError("an account balance is never negative")
    new = _Unfrozen()  # calling the class: C's own allocation, cheaper than object.__new__(cls)
    new.as_of = account.as_of
    new.balance = balance
    new.lines = account.lines if lines is None else tuple(lines)
    new.suspended = account.suspended if suspended is None else suspended
    new.deleted = account.deleted
    new.last_activity_at = account.last_activity_at if last_activity_at is None else last_activity_at
    new.price_version = account.price_version if price_version is ... else price_version
    new.configured_rate = account.configured_rate if lines is None else sum(line.rate for line in new.lines)
    new.__class__ = Account
    return new


class Change:
    """The result of an operation on an account: the new state and the ledger entries that explain it.

    The charge entries of a settled period are built only when read (settling stays O(1)).
    """

    __slots__ = ("account", "depleted_at", "_charged", "_extra", "_entries")

    def __init__(self, account: Account, entries: Iterable[Entry] = (), depleted_at: int | None = None,
                 *, charged: tuple | None = None):
        self.account = account
        self.depleted_at = depleted_at  # set when this change ran the credit out (R18)
        #: the charge, expanded lazily: (lines, start, end), or (settle's hot path) the account settled, whose lines ran
        #: from its as_of to this change's account's last_activity_at
        self._charged = charged
        self._extra = tuple(entries)
        self._entries = None

    @property
    def entries(self) -> tuple[Entry, ...]:
        if self._entries is None:
            charges: tuple[Entry, ...] = ()
            if self._charged is not None:
                lines, start, end = self._period()
                seconds = end - start
                charges = tuple(
                    Entry(kind=CHARGE, at=end, ticks=line.rate * seconds, pbx_id=line.pbx_id, ref=line.ref,
                          qty=line.qty, start=start, end=end, seconds=seconds, rate=line.rate,
                          price_version=line.price_version)
                    for line in lines
                    if line.rate > 0
                )
            self._entries = charges + self._extra
        return self._entries

    @property
    def charged_ticks(self) -> int:
        """Ticks charged by the settled period of this change."""
        if self._charged is None:
            return 0
        lines, start, end = self._period()
        return sum(line.rate for line in lines) * (end - start)

    def _period(self) -> tuple[tuple[Line, ...], int, int]:
        """(lines, start, end) of the settled period charged (only when _charged is set)."""
        charged = self._charged
        if type(charged) is tuple:
            return charged
        return charged.lines, charged.as_of, self.account.last_activity_at

    def then(self, account: Account, *entries: Entry) -> "Change":
        """This change followed by more entries, ending in account."""
        return Change(account, self._extra + entries, self.depleted_at,
                      charged=None if self._charged is None else self._period())


class _Settled(Change):
    """A Change as settle makes it on the hot path: the same class, allocated by calling it (C's own allocation and
    object's __init__, no argument) instead of object.__new__(Change), whose checks cost about 85 ns of the 1,860 a
    settle takes here (docs/benchmarks.md §16); settle fills its slots."""

    __slots__ = ()
    __init__ = object.__init__


def open_account(at: int) -> Account:
    """A new account with no credit and nothing rented."""
    return Account(as_of=require_int(at, "time"), last_activity_at=at)


def settle(account: Account, at: int) -> Change:
    """Charge the account up to second at: one entry per rented line (R10, R25); stop at depletion (R18).

    The hot path (bench/billing.py, docs/benchmarks.md §12, §16): the new Account is filled in place (_advanced's
    stores, inlined: one call less) and the charged period is kept as the settled account itself (no tuple)."""
    if type(at) is not int:
        require_int(at, "time")
    as_of = account.as_of
    if at < as_of:
        raise ClockError(
            f"cannot settle to {at}: the account is already settled to {as_of} "
            "(times that decide money only move forward)"
        )
    change = _Settled()  # a Change whose slots are filled here: no __init__ call on the hot path
    change._extra = ()
    change._entries = None
    new = _Unfrozen()  # calling the class: C's own allocation, cheaper than object.__new__(cls)
    new.as_of = at
    new.lines = account.lines
    new.deleted = deleted = account.deleted
    new.price_version = account.price_version
    new.configured_rate = rate = account.configured_rate
    balance = account.balance
    if deleted or account.suspended or not rate:  # nothing runs: nothing charged, nothing depletes
        new.balance = balance
        new.suspended = account.suspended
        new.last_activity_at = account.last_activity_at
        change.depleted_at = change._charged = None
    else:
        depletes_at = as_of + balance // rate
        if at < depletes_at:
            new.suspended = False
            change.depleted_at = None
            end = at
        else:  # the balance cannot pay the whole span: it stops at depletion, suspended from then (R18)
            new.suspended = True
            change.depleted_at = end = depletes_at
        if end > as_of:
            new.balance = balance - rate * (end - as_of)
            new.last_activity_at = end
            change._charged = account  # the period charged: its lines from its as_of to new.last_activity_at
        else:
            new.balance = balance
            new.last_activity_at = account.last_activity_at
            change._charged = None
    new.__class__ = Account
    change.account = new
    return change


def project(account: Account, at: int) -> Account:
    """The account as it will be at second at, with nothing else happening (for display)."""
    if at <= account.as_of:
        return account
    return settle(account, at).account


def credit(account: Account, at: int, milli: int, *, key_id: str | None = None) -> Change:
    """Settle, then load milli-iSC (R11, R17); resumption is a separate decision (R14, R18)."""
    check_milli(milli, "credit")
    _require_alive(account)
    change = settle(account, at)
    entry = Entry(kind=CREDIT, at=at, ticks=milli * TICKS_PER_MILLI, key_id=key_id)
    account = _changed(change.account, balance=change.account.balance + entry.ticks, last_activity_at=at)
    return change.then(account, entry)


def reconfigure(account: Account, at: int, lines: Iterable[Line], *, resume: bool | None = None,
                price_version: str | None = None) -> Change:
    """Settle at the old rates, then run the new configuration from second at (R15, R19).

    ``resume`` True lifts a suspension (the caller checked R14), False keeps it, None keeps
    the current state. An empty configuration ends the rent: nothing is charged from at on.
    ``price_version``, when given, is the list the account is rated at from now on (R23).
    """
    _require_alive(account)
    change = settle(account, at)
    new_lines = tuple(line for line in lines if line.qty > 0)
    suspended = change.account.suspended if resume is None else not resume
    if not new_lines:
        suspended = False
    account = _changed(change.account, lines=new_lines, suspended=suspended,
                       price_version=change.account.price_version if price_version is None else price_version)
    if account.rate and account.balance < account.rate:
        account = _changed(account, suspended=True)  # cannot pay even the first second (R10)
    return change.then(account)


def rerate(lines: Iterable[Line], pricelist: PriceList) -> tuple[Line, ...]:
    """The same items at the prices of pricelist (R23): applied only at a connection event.

    An item no longer on the list keeps the price it was rated at.
    """
    rated = []
    version = pricelist.version
    for line in lines:
        item = pricelist.get(line.ref)
        if item is None or (line.monthly_milli == item.monthly_milli and line.price_version == version):
            rated.append(line)  # already at this list's price: the same line (no copy on the hot path)
        else:
            rated.append(replace(line, monthly_milli=item.monthly_milli, price_version=version))
    return tuple(rated)


def lines_for(pbx_id: str, items: Mapping[str, int], pricelist: PriceList) -> tuple[Line, ...]:
    """Lines of a desired PBX configuration rated at pricelist (refs must be on it)."""
    lines = []
    for ref, qty in sorted(items.items()):
        require_int(qty, f"quantity of {ref}")
        if qty <= 0:
            continue
        item = pricelist.item(ref)
        lines.append(Line(pbx_id=pbx_id, ref=ref, qty=qty, monthly_milli=item.monthly_milli,
                          price_version=pricelist.version))
    return tuple(lines)


def forfeit(account: Account, at: int) -> Change:
    """Delete the account: the remaining iSC are forfeited for good (R13)."""
    _require_alive(account)
    change = settle(account, at)
    balance = change.account.balance
    account = replace(change.account, balance=0, lines=(), suspended=False, deleted=True)
    if not balance:
        return change.then(account)
    return change.then(account, Entry(kind=FORFEIT, at=at, ticks=balance))


def retention_ends_at(account: Account, retention_s: int) -> int | None:
    """When the left-over credit of an account that runs nothing expires (R19); None if it runs or holds nothing."""
    if account.deleted or account.balance == 0 or account.rate:
        return None
    return account.last_activity_at + retention_s


def expire(account: Account, at: int, retention_s: int) -> Change:
    """Expire the balance kept past the retention period (R19); no change before it ends."""
    change = settle(account, at)
    account = change.account
    ends = retention_ends_at(account, retention_s)
    if ends is None or at < ends:
        return change
    entry = Entry(kind=EXPIRY, at=ends, ticks=account.balance)
    return change.then(replace(account, balance=0), entry)


def _require_alive(account: Account) -> None:
    if account.deleted:
        raise RentalError("the account was deleted: its iSC were forfeited and it can no longer be used (R13)")


@dataclass(frozen=True)
class StatementRow:
    """Per PBX and item: seconds charged, rate and amount over a period (R25)."""

    pbx_id: str
    ref: str
    seconds: int = 0
    ticks: int = 0
    rates: tuple[int, ...] = field(default=())
    qty: int = 0  # with by_quantity: the quantity charged (one row per quantity and rate)


def statement(entries: Iterable[Entry], start: int, end: int, *,
              by_quantity: bool = False) -> tuple[list[StatementRow], dict[str, int]]:
    """Sum the charge entries whose period lies in [start, end) per (PBX, item), with totals by kind.

    Charges that straddle a bound are pro-rated by the exact second: additivity (SPEC) makes
    rate·seconds of the overlap the exact charge of that overlap. by_quantity gives a row per
    (PBX, item, quantity, rate), so each row has one quantity and one unit price (R25).
    """
    rows: dict[tuple[str, str], StatementRow] = {}
    totals = {CREDIT: 0, CHARGE: 0, FORFEIT: 0, EXPIRY: 0}
    for entry in entries:
        if entry.kind == CHARGE:
            lo, hi = max(entry.start, start), min(entry.end, end)
            if hi <= lo:
                continue
            seconds = hi - lo
            ticks = entry.rate * seconds
            key = (entry.pbx_id, entry.ref) + ((entry.qty, entry.rate) if by_quantity else ())
            row = rows.get(key, StatementRow(entry.pbx_id, entry.ref, qty=entry.qty if by_quantity else 0))
            rates = row.rates if entry.rate in row.rates else row.rates + (entry.rate,)
            rows[key] = StatementRow(entry.pbx_id, entry.ref, row.seconds + seconds, row.ticks + ticks, rates, row.qty)
            totals[CHARGE] += ticks
        elif start <= entry.at < end:
            totals[entry.kind] += entry.ticks
    return sorted(rows.values(), key=lambda r: (r.pbx_id, r.ref, r.qty, r.rates)), totals


def clipped(entries: Iterable[Entry], at: int) -> list[Entry]:
    """The entries as of second at: charges cut at it (additivity: rate·seconds of each part, SPEC), other entries
    made at or before it (a snapshot as of at has its reloads of that second applied, rental.reload.run)."""
    kept = []
    for entry in entries:
        if entry.kind != CHARGE:
            if entry.at <= at:
                kept.append(entry)
        elif entry.start is None or entry.end is None or entry.end <= at:
            kept.append(entry)
        elif entry.start < at:
            seconds = at - entry.start
            kept.append(replace(entry, at=at, end=at, seconds=seconds, ticks=entry.rate * seconds))
    return kept
