"""An independent recomputation of every balance from the ledger alone (R13, R18, R19, R25).

Written from the rules, not from the server's code: walk each account's ledger lines in
the order they were written; credits add, charges, forfeits and expiries subtract; the
running balance never dips below 0; the end is the stored balance, to the tick. Charges
are also checked line by line (ticks = rate · seconds, periods never overlap, so no
second is charged twice) and every activation key credits at most one account, once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from rental.money import TICKS_PER_MILLI

CREDIT, CHARGE, FORFEIT, EXPIRY = "credit", "charge", "forfeit", "expiry"
KINDS = (CREDIT, CHARGE, FORFEIT, EXPIRY)


@dataclass
class Recomputed:
    """What the ledger says about one account."""

    credits: int = 0
    charges: int = 0
    forfeits: int = 0
    expiries: int = 0
    lines: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return self.credits - self.charges - self.forfeits - self.expiries


def recompute(lines: Iterable[Mapping]) -> Recomputed:
    """Fold one account's ledger lines (oldest first) into its totals, noting every rule a line breaks."""
    result = Recomputed()
    periods: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    for line in lines:
        kind, ticks = line["kind"], line["ticks"]
        result.lines += 1
        if not isinstance(ticks, int) or isinstance(ticks, bool) or ticks < 0:
            result.problems.append(f"line {line.get('id')}: ticks {ticks!r} is not a whole number ≥ 0")
            continue
        if kind == CREDIT:
            result.credits += ticks
        elif kind == CHARGE:
            result.charges += ticks
            seconds = line.get("seconds")
            start, end = line.get("period_start", line.get("start")), line.get("period_end", line.get("end"))
            if line.get("rate") is not None and seconds is not None and ticks != line["rate"] * seconds:
                result.problems.append(f"line {line.get('id')}: charge {ticks} ≠ rate {line['rate']} × {seconds} s")
            if start is not None and end is not None:
                if end - start != seconds:
                    result.problems.append(f"line {line.get('id')}: period [{start}, {end}) is not {seconds} s")
                periods[(line.get("pbx_id"), line.get("ref"))].append((start, end))
        elif kind == FORFEIT:
            result.forfeits += ticks
        elif kind == EXPIRY:
            result.expiries += ticks
        else:
            result.problems.append(f"line {line.get('id')}: unknown kind {kind!r}")
        if result.balance < 0:
            result.problems.append(f"line {line.get('id')}: the balance went below 0 ({result.balance})")
    for item, spans in periods.items():
        spans.sort()
        for (a_start, a_end), (b_start, b_end) in zip(spans, spans[1:]):
            if b_start < a_end:
                result.problems.append(
                    f"{item}: seconds [{b_start}, {min(a_end, b_end)}) charged twice (double charge)")
    return result


@dataclass
class Audit:
    """The whole database checked against its own ledger."""

    accounts: int = 0
    ledger_lines: int = 0
    credits: int = 0
    keys_redeemed: int = 0
    problems: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.problems, "the ledger disagrees:\n" + "\n".join(self.problems[:30])


def audit_database(engine) -> Audit:
    """Recompute every account of the license server's database from its ledger table.

    Reads the tables with plain SQL (not the server's code), so a bug there cannot hide itself.
    """
    from sqlalchemy import text

    audit = Audit()
    with engine.connect() as conn:
        accounts = {row.id: row for row in conn.execute(text(
            "SELECT id, balance_ticks, rate_ticks_per_s, deleted FROM accounts"))}
        lines_by_account: dict[str, list[dict]] = defaultdict(list)
        for row in conn.execute(text(
                "SELECT id, account_id, kind, ticks, pbx_id, ref, period_start, period_end, seconds, rate, key_id "
                "FROM ledger ORDER BY id")):
            lines_by_account[row.account_id].append(dict(row._mapping))
        redeemed = list(conn.execute(text("SELECT key_id, account_id, amount_milli FROM redeemed_keys")))
    audit.accounts = len(accounts)
    credited_keys: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for account_id, lines in lines_by_account.items():
        if account_id not in accounts:
            audit.problems.append(f"ledger lines for an unknown account {account_id}")
        for line in lines:
            if line["kind"] == CREDIT and line.get("key_id"):
                credited_keys[line["key_id"]].append((account_id, line["ticks"]))
    for account_id, row in accounts.items():
        lines = lines_by_account.get(account_id, [])
        audit.ledger_lines += len(lines)
        result = recompute(lines)
        audit.credits += sum(1 for line in lines if line["kind"] == CREDIT)
        audit.problems += [f"account {account_id}: {problem}" for problem in result.problems]
        if result.balance != row.balance_ticks:
            audit.problems.append(
                f"account {account_id}: stored balance {row.balance_ticks} ≠ ledger "
                f"(credits {result.credits} − charges {result.charges} − forfeits {result.forfeits} "
                f"− expiries {result.expiries} = {result.balance}), off by {row.balance_ticks - result.balance}")
        if row.balance_ticks < 0:
            audit.problems.append(f"account {account_id}: negative balance {row.balance_ticks}")
    # R11: every key credits at most one account, once, for exactly its amount.
    by_key = {row.key_id: row for row in redeemed}
    audit.keys_redeemed = len(by_key)
    if len(by_key) != len(redeemed):
        audit.problems.append("a key is listed as redeemed twice")
    for key_id, credits in credited_keys.items():
        if len(credits) != 1:
            audit.problems.append(f"key {key_id} credited {len(credits)} times: {credits}")
        row = by_key.get(key_id)
        if row is None:
            audit.problems.append(f"key {key_id} credited but not recorded as redeemed")
        elif credits[0] != (row.account_id, row.amount_milli * TICKS_PER_MILLI):
            audit.problems.append(f"key {key_id}: credit {credits[0]} ≠ redemption {tuple(row)}")
    for key_id in by_key.keys() - credited_keys.keys():
        audit.problems.append(f"key {key_id} recorded as redeemed but never credited")
    return audit
