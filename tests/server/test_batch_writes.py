"""One /sync batch writes its PBX updates and license lines at its end (one difference per account): what it
stores must be exactly what the same ops store one request at a time, PBXs coming and going in between included.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from license_server import models

from .helpers import IP_PORT, UC, VIDEO

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def day_of_changes(api, account_id: str) -> list[dict]:
    """A technician's afternoon on one account: licenses raised twice, a PBX added and licensed, the first PBX
    updated, the new one removed and registered again under the same id (its first row's update must not come
    back over it), then the first PBX's licenses changed once more."""
    rev = api.pbx_revision(account_id)
    op = api.op
    return [
        op("set_licenses", account_id, pbx_id="pbx-1", base_revision=rev, items={IP_PORT: 12}),
        op("set_licenses", account_id, pbx_id="pbx-1", base_revision=rev + 1, items={IP_PORT: 14, UC: 2}),
        op("register_pbx", account_id, pbx_id="pbx-2", name="Annexe", serial="SN-ANNEXE", platform="vmware",
           firmware="14r1", mode="rental"),
        op("set_licenses", account_id, pbx_id="pbx-2", base_revision=1, items={IP_PORT: 3}),
        op("update_pbx", account_id, pbx_id="pbx-1", base_revision=rev + 2, firmware="14r1", name="Accueil"),
        op("remove_pbx", account_id, pbx_id="pbx-2", base_revision=2),
        op("register_pbx", account_id, pbx_id="pbx-2", name="Annexe bis", serial="SN-ANNEXE-2", platform="hyper-v",
           firmware="14r1", mode="rental"),
        op("set_licenses", account_id, pbx_id="pbx-1", base_revision=rev + 3, items={UC: 2, VIDEO: 1}),
    ]


def stored(api, account_id: str) -> tuple:
    """The account as the tables hold it (not as an answer words it)."""
    with api.ctx.engine.connect() as connection:
        pbxs = connection.execute(select(models.pbxs.c.pbx_id, models.pbxs.c.name, models.pbxs.c.serial,
                                         models.pbxs.c.platform, models.pbxs.c.firmware, models.pbxs.c.revision)
                                  .where(models.pbxs.c.account_id == account_id)
                                  .order_by(models.pbxs.c.pbx_id)).all()
        lines = connection.execute(select(models.licenses.c.pbx_id, models.licenses.c.ref, models.licenses.c.qty,
                                          models.licenses.c.monthly_milli)
                                   .where(models.licenses.c.account_id == account_id)
                                   .order_by(models.licenses.c.pbx_id, models.licenses.c.ref)).all()
        row = connection.execute(select(models.accounts.c.balance_ticks, models.accounts.c.rate_ticks_per_s,
                                        models.accounts.c.revision)
                                 .where(models.accounts.c.id == account_id)).one()
    return [tuple(p) for p in pbxs], [tuple(line) for line in lines], tuple(row)


def test_a_batch_stores_what_the_same_ops_store_one_request_at_a_time(api):
    together, one_by_one = api.running_account("200"), api.running_account("200")
    ops = day_of_changes(api, together)
    api.applied(*ops)
    for each in day_of_changes(api, one_by_one):
        api.applied(each)
    pbxs, lines, row = stored(api, together)
    assert (pbxs, lines, row) == stored(api, one_by_one)
    assert [(p[0], p[1], p[3], p[4]) for p in pbxs] == [("pbx-1", "Accueil", "vmware", "14r1"),
                                                       ("pbx-2", "Annexe bis", "hyper-v", "14r1")]
    assert [(line[0], line[1], line[2]) for line in lines] == [("pbx-1", UC, 2), ("pbx-1", VIDEO, 1)]
    assert pbxs[1][2] == "SN-ANNEXE-2" and pbxs[1][5] == 1  # the registration anew, as it was written
    snapshot = api.account(together)  # and the answer reads the same tables
    assert {(p["pbx_id"], lic["ref"], lic["qty"]) for p in snapshot["pbxs"] for lic in p["licenses"]} == {
        ("pbx-1", UC, 2), ("pbx-1", VIDEO, 1)}


def licensed_account(api, tag: str) -> str:
    """An account with credit and two rental PBXs, pbx-1 renting 10 IP ports, serials of its own (R6 follows the
    serial within the partner: two accounts sharing one would share their reductions)."""
    account_id = api.new_account(name="Client")
    api.load(account_id, "300")
    for pbx_id in ("pbx-1", "pbx-2"):
        assert api.register(account_id, pbx_id, serial=f"SN-{tag}-{pbx_id}")["status"] == "applied"
    assert api.set_licenses(account_id, {IP_PORT: 10})["status"] == "applied"
    return account_id


def afternoon(api, account_id: str) -> list[dict]:
    """Ops that write nothing before a batch's end: licenses raised, lowered (an R6 reduction) and raised again (a
    restore: a warning and an occurrence), the account and a PBX edited, and two refused (a stale revision, an
    unknown item)."""
    rev, op = api.pbx_revision(account_id), api.op
    return [
        op("set_licenses", account_id, pbx_id="pbx-1", base_revision=rev, items={IP_PORT: 12}),
        op("update_account", account_id, name="Boulangerie Émile & fils"),
        op("set_licenses", account_id, pbx_id="pbx-1", base_revision=rev + 1, items={IP_PORT: 8}),
        op("set_licenses", account_id, pbx_id="pbx-1", base_revision=rev + 2, items={IP_PORT: 12, UC: 1}),
        op("update_pbx", account_id, pbx_id="pbx-1", base_revision=rev + 3, name="Accueil"),
        op("set_licenses", account_id, pbx_id="pbx-2", base_revision=1, items={VIDEO: 2}),
        op("set_licenses", account_id, pbx_id="pbx-1", base_revision=rev, items={IP_PORT: 1}),
        op("set_licenses", account_id, pbx_id="pbx-2", base_revision=2, items={"99-99999-999": 1}),
        op("update_account", account_id, contact_email="fils@example.com", base_revision=1),
    ]


def every_row(api, account_id: str) -> dict:
    """Every row the account's ops wrote, in the order written, without the ids that differ between accounts."""
    found = {}
    with api.ctx.engine.connect() as connection:
        for table, order in ((models.accounts, None), (models.pbxs, "pbx_id"), (models.licenses, "ref"),
                             (models.ledger, "id"), (models.history, "id"), (models.reductions, "id"),
                             (models.toggle_occurrences, "id"), (models.redeemed_keys, None)):
            key = table.c.id if table is models.accounts else table.c.account_id
            query = select(table).where(key == account_id)
            if order is not None:
                query = query.order_by(*([table.c.pbx_id] if order == "ref" else []), table.c[order])
            found[table.name] = [{name: value for name, value in row.items()
                                  if name not in ("id", "account_id", "op_id", "changed_seq", "serial", "key_id")}
                                 for row in connection.execute(query).mappings()]
    for row in found["accounts"]:  # each field's last edit: the revision it made (the client ids differ here)
        row["edited"] = {name: stamp[0] for name, stamp in json.loads(row["edited"]).items()}
    for row in found["history"]:  # the key loaded at the start and the serials are the account's own
        row["params"] = {name: value for name, value in json.loads(row["params"]).items()
                         if name not in ("key_id", "serial")}
    return found


def answered(api, account_id: str) -> dict:
    """The account as the API answers it, without its id and its PBXs' serials (another account's)."""
    snapshot = {key: value for key, value in api.account(account_id).items() if key != "account_id"}
    snapshot["pbxs"] = [{key: value for key, value in pbx.items() if key != "serial"} for pbx in snapshot["pbxs"]]
    return snapshot


def test_a_batch_of_several_accounts_stores_every_row_the_same_ops_store_one_at_a_time(api, clock):
    """R6, R25, edit stamps, refusals: one batch interleaving two accounts' ops (decided before the writers' lock
    on SQLite, written with one statement per table on PostgreSQL) leaves every row, every history line in its
    order and every op result as the same ops sent one request at a time on two other accounts."""
    together = [licensed_account(api, "A1"), licensed_account(api, "A2")]
    one_by_one = [licensed_account(api, "B1"), licensed_account(api, "B2")]
    clock.advance(3 * 86_400)  # the first op of each account charges three days: ledger lines

    def interleaved(accounts):
        return [op for pair in zip(*(afternoon(api, account_id) for account_id in accounts)) for op in pair]

    batched = api.sync(*interleaved(together)).results
    single = [api.sync(op).result for op in interleaved(one_by_one)]
    assert [r["status"] for r in batched] == [r["status"] for r in single] == (
        ["applied"] * 12 + ["conflict", "conflict", "rejected", "rejected", "applied", "applied"])
    assert [r["warnings"] for r in batched][6:8] == [r["warnings"] for r in single][6:8] != [[], []]  # R6 restore
    drop = ("op_id", "account_id")
    assert [{k: v for k, v in r.items() if k not in drop} for r in batched] == [
        {k: v for k, v in r.items() if k not in drop} for r in single]
    for mine, theirs in zip(together, one_by_one):
        rows = every_row(api, mine)
        assert rows == every_row(api, theirs)
        assert rows["reductions"] and rows["toggle_occurrences"] and rows["ledger"]
        assert answered(api, mine) == answered(api, theirs)
