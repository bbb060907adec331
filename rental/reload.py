"""Automatic reload (R24): when the next deposited key is redeemed, and an account run forward through its reloads.

One pure arithmetic for both sides: the license server answers, decides and sweeps with it, the app
projects its meter, runtime, end date and chart with it, so both name the same second. Settling is
additive (SPEC), so charging up to a reload and on from it charges exactly what one settle would. A reload is an
installation of iSC, so a connection event (R9, R23): at its second the account is re-rated at the list then in
force (``prices``, a rental.pricing.PriceHistory), whoever applies it and whenever.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from . import billing, rules
from .billing import Account, Entry
from .money import SECONDS_PER_DAY, TICKS_PER_MILLI
from .pricing import PriceHistory
from .rules import Policy

#: auto_reload_days: 0 is off, else the runtime (days) at which the oldest deposited key is redeemed.
THRESHOLDS = (0, 14, 28)


@dataclass(frozen=True, order=True)
class Deposit:
    """An activation key held for an account (R24): verified, not yet redeemed. Ordered oldest first."""

    deposited_at: int
    key_id: str
    amount_milli: int

    def to_dict(self) -> dict:
        return {"key_id": self.key_id, "amount_milli": self.amount_milli, "deposited_at": self.deposited_at}

    @classmethod
    def from_dict(cls, data: dict) -> "Deposit":
        return cls(deposited_at=data["deposited_at"], key_id=str(data["key_id"]), amount_milli=data["amount_milli"])


@dataclass(frozen=True)
class Reload:
    """One automatic reload: the key redeemed at second `at`; whether it resumed the account; whether it was the
    last key held."""

    at: int
    key_id: str
    amount_milli: int
    resumed: bool = False
    last: bool = False


def ordered(deposits: Iterable[Deposit]) -> tuple[Deposit, ...]:
    """Deposits oldest first (then by key id: two deposits of one second have one order on every side)."""
    return tuple(sorted(deposits))


def next_reload_at(account: Account, days: int, deposits: tuple[Deposit, ...]) -> int | None:
    """The second the oldest deposited key is redeemed: when the runtime reaches `days`, or at once (the
    account's as_of) when it is shorter already or the account is suspended (R18); None when none will be."""
    if not days or not deposits or account.deleted or not account.configured_rate:
        return None
    if account.suspended:
        return account.as_of
    depletes_at = account.as_of + account.balance // account.configured_rate
    return max(account.as_of, depletes_at - days * SECONDS_PER_DAY)


class Run:
    """An account run forward through its reloads: the account (settled to the last reload, or as given), the
    deposits left, the reloads made and, built only when read, the ledger entries that explain it (R25)."""

    __slots__ = ("account", "deposits", "reloads", "_parts")

    def __init__(self, account: Account, deposits: tuple[Deposit, ...], reloads: tuple[Reload, ...], parts):
        self.account, self.deposits, self.reloads, self._parts = account, deposits, reloads, parts

    @property
    def entries(self) -> tuple[Entry, ...]:
        found: list[Entry] = []
        for change, credit in self._parts:
            found += change.entries
            found.append(credit)
        return tuple(found)


def run(account: Account, deposits: Iterable[Deposit], days: int, policy: Policy, until: int | None,
        prices: PriceHistory | None = None) -> Run:
    """Redeem every deposited key whose reload second is at or before `until` (all of them when None), each at
    its exact second, like a load by hand: a connection event (R9, R23), so the account is re-rated at the price
    list in force at that second (prices.at(second); none known: the prices stay); a suspended account resumes
    when the credit then pays resume_min_days of its configuration at those prices (R18). O(reloads) when the
    prices do not move: the account is not re-validated at each step."""
    deposits = tuple(deposits)
    reloads: list[Reload] = []
    parts: list = []
    while deposits:
        at = next_reload_at(account, days, deposits)
        if at is None or (until is not None and at > until):
            break
        change = billing.settle(account, at)
        settled = rerated(change.account, prices.at(at) if prices else None)
        deposit, deposits = deposits[0], deposits[1:]
        ticks = deposit.amount_milli * TICKS_PER_MILLI
        balance = settled.balance + ticks
        suspended = settled.suspended
        resumed = suspended and rules.credit_shortfall_milli(balance, settled.configured_rate,
                                                             policy.resume_min_days) == 0
        account = billing._advanced(settled, at, balance, suspended and not resumed, at)
        parts.append((change, Entry(kind=billing.CREDIT, at=at, ticks=ticks, key_id=deposit.key_id, auto=True)))
        reloads.append(Reload(at, deposit.key_id, deposit.amount_milli, resumed, last=not deposits))
    return Run(account, deposits, tuple(reloads), tuple(parts))


def rerated(account: Account, pricelist) -> Account:
    """The account's lines at pricelist's prices from its as_of on (R23); the same account when it is rated at
    that list already or no list is known."""
    if pricelist is None or account.price_version == pricelist.version or account.deleted:
        return account
    return replace(account, lines=billing.rerate(account.lines, pricelist), price_version=pricelist.version)


def forward(account: Account, deposits: Iterable[Deposit], days: int, policy: Policy, at: int,
            prices: PriceHistory | None = None) -> tuple[Run, billing.Change]:
    """The account as of second `at`: its reloads up to `at`, then settled to `at` (for answers and meters), its
    credit expired when the retention period ended by then (R19: whether or not the sweep wrote it down yet)."""
    done = run(account, deposits, days, policy, at, prices)
    return done, billing.expire(done.account, max(at, done.account.as_of), policy.retention_s)


def ends_at(account: Account, deposits: Iterable[Deposit], days: int, policy: Policy,
            prices: PriceHistory | None = None) -> int | None:
    """The end of credit counting the keys automatic reload will still redeem (R24), each re-rating at the list
    in force at its second (the newest known, ahead); None when nothing runs out."""
    return run(account, deposits, days, policy, None, prices).account.depletes_at


def balance_at(account: Account, deposits: Iterable[Deposit], days: int, policy: Policy, at: int,
               prices: PriceHistory | None = None) -> int:
    """The balance (ticks) at second `at`, reloads included (the burn-down chart)."""
    if at < account.as_of:
        at = account.as_of
    return forward(account, deposits, days, policy, at, prices)[1].account.balance
