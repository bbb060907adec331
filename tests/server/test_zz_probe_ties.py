import random
import pytest
from license_server import admin
from rental import billing
from .helpers import DAY, IP_PORT, UC

SIGN = {"credit": 1, "charge": -1, "forfeit": -1, "expiry": -1}


def entries_of(lines):
    return [billing.Entry(kind=l["kind"], at=l["at"], ticks=l["ticks"], pbx_id=l.get("pbx_id"), ref=l.get("ref"),
                          qty=l.get("qty") or 0, start=l.get("start"), end=l.get("end"), seconds=l.get("seconds") or 0,
                          rate=l.get("rate") or 0) for l in lines]


@pytest.mark.parametrize("seed", range(300))
def test_probe(api, ctx, clock, seed):
    rnd = random.Random(seed)
    account_id = api.running_account(str(rnd.randint(20, 60)), {IP_PORT: rnd.randint(1, 20), UC: rnd.randint(0, 3)})
    api.sync(api.op("update_account", account_id, auto_reload_days=rnd.choice([0, 14, 28])))
    seen = []  # (second, balance) read before any op of that second
    version = 0
    for step in range(rnd.randint(3, 12)):
        clock.advance(rnd.choice([1, 59, 3600, DAY + 7, 9 * DAY, 40 * DAY, 400 * DAY]))
        acc = api.account(account_id)
        seen.append((clock.now, acc["balance_ticks"]))
        what = rnd.random()
        if what < 0.25:
            api.load(account_id, str(rnd.randint(1, 30)))
        elif what < 0.4:
            [key] = admin.issue_keys(ctx, rnd.randint(500, 20_000), 1)
            api.sync(api.op("deposit_key", account_id, key=key))
        elif what < 0.6:
            api.sync(api.set_licenses_op(account_id, {IP_PORT: rnd.randint(0, 30), UC: rnd.randint(0, 3)}))
        elif what < 0.7:
            version += 1
            prices = admin.demo_pricelist()
            prices["version"] = f"2099-{seed:02d}-{version}"
            f = rnd.choice([(1, 2), (2, 1), (3, 2)])
            for item in prices["items"]:
                item["monthly_milli"] = item["monthly_milli"] * f[0] // f[1]
            admin.publish_prices(ctx, prices)
        elif what < 0.85:
            api.sweep()
    clock.advance(rnd.choice([1, 3 * DAY]))
    lines = api.ledger(account_id, limit=1000)["lines"]
    final = api.account(account_id)["balance_ticks"]
    assert sum(SIGN[l["kind"]] * l["ticks"] for l in lines) == final
    entries = entries_of(lines)
    for i in range(len(seen)):
        for j in range(i + 1, len(seen)):
            (a, ba), (b, bb) = seen[i], seen[j]
            rows, totals = billing.statement(entries, a, b)
            # events at exactly a were in ba when read? reads come before ops of that second
            moved = totals["credit"] - totals["charge"] - totals["forfeit"] - totals["expiry"]
            assert ba + moved == bb, (seed, i, j, a, b, ba, bb, moved, totals)

