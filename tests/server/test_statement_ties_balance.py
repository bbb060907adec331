"""R25, R19, R24, SPEC arithmetic: over random lives of an account on the real server (loads, deposits with
automatic reload, licence changes, price lists published, sweeps or none, years idle), the balance the server
answers at any two seconds differs by exactly what the statement of the period between them moves, to the tick,
and the ledger adds up to the balance."""

from __future__ import annotations

import random

import pytest

from license_server import admin
from rental import billing

from .helpers import DAY, IP_PORT, UC

SIGN = {"credit": 1, "charge": -1, "forfeit": -1, "expiry": -1}


def entries_of(lines: list[dict]) -> list[billing.Entry]:
    return [billing.Entry(kind=line["kind"], at=line["at"], ticks=line["ticks"], pbx_id=line.get("pbx_id"),
                          ref=line.get("ref"), qty=line.get("qty") or 0, start=line.get("start"), end=line.get("end"),
                          seconds=line.get("seconds") or 0, rate=line.get("rate") or 0) for line in lines]


@pytest.mark.parametrize("seed", range(80))
def test_the_balance_at_any_two_seconds_differs_by_the_statement_between_them(api, ctx, clock, seed):
    rnd = random.Random(seed)
    account_id = api.running_account(str(rnd.randint(20, 60)), {IP_PORT: rnd.randint(1, 20), UC: rnd.randint(0, 3)})
    api.sync(api.op("update_account", account_id, auto_reload_days=rnd.choice([0, 14, 28])))
    seen = []  # (second, balance answered), read before any op of that second
    for version in range(rnd.randint(3, 12)):
        clock.advance(rnd.choice([1, 59, 3600, DAY + 7, 9 * DAY, 40 * DAY, 400 * DAY]))
        seen.append((clock.now, api.account(account_id)["balance_ticks"]))
        what = rnd.random()
        if what < 0.25:
            api.load(account_id, str(rnd.randint(1, 30)))
        elif what < 0.4:
            [key] = admin.issue_keys(ctx, rnd.randint(500, 20_000), 1)
            api.sync(api.op("deposit_key", account_id, key=key))
        elif what < 0.6:
            api.sync(api.set_licenses_op(account_id, {IP_PORT: rnd.randint(0, 30), UC: rnd.randint(0, 3)}))
        elif what < 0.7:
            prices = admin.demo_pricelist()
            prices["version"] = f"2099-{seed:02d}-{version}"
            num, den = rnd.choice([(1, 2), (2, 1), (3, 2)])
            for item in prices["items"]:
                item["monthly_milli"] = item["monthly_milli"] * num // den
            admin.publish_prices(ctx, prices)
        elif what < 0.85:
            api.sweep()
    clock.advance(rnd.choice([1, 3 * DAY]))
    lines = api.ledger(account_id, limit=1000)["lines"]
    assert sum(SIGN[line["kind"]] * line["ticks"] for line in lines) == api.account(account_id)["balance_ticks"]
    entries = entries_of(lines)
    for i, (start, before) in enumerate(seen):
        for end, after in seen[i + 1:]:
            _, totals = billing.statement(entries, start, end)
            moved = totals["credit"] - totals["charge"] - totals["forfeit"] - totals["expiry"]
            assert before + moved == after, (start, end, totals)
