"""One /sync batch writes its PBX updates and license lines at its end (one difference per account): what it
stores must be exactly what the same ops store one request at a time, PBXs coming and going in between included.
On SQLite and PostgreSQL."""

from __future__ import annotations

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
