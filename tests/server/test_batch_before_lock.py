"""A SQLite batch of several ops is decided and signed before the writers' lock is taken (issue 27), then written
under it only when everything it read is still so; otherwise it is decided again under the lock. What it stores
is what a batch decided under the lock stores (tests/server/test_batch_writes.py); here: when it may and may not
be decided early, and what happens when an account moved in between."""

from __future__ import annotations

from license_server import admin, batch
from license_server.db import writing

from .helpers import IP_PORT, UC
from .test_batch_writes import licensed_account


def early_batch(api, ctx, clock, ops: list[dict]):
    """What apply_ops does before the lock: the batch prepared, its keys read, and decided unlocked."""
    caller = ctx.tokens.check(ctx.engine, api.token, clock()).caller
    outcomes, todo = batch.prepare(ctx, ops, clock())
    keys = batch._verify_keys(ctx, [op for _, op, _, _ in todo])
    return caller, todo, keys, batch.decide_unlocked(ctx, caller, todo, clock(), keys, "")


def two_license_changes(api) -> tuple[str, int, list[dict]]:
    """An account renting on two PBXs, its first PBX's revision, and a batch changing the licenses of both."""
    account_id = licensed_account(api, "A")
    rev = api.pbx_revision(account_id)
    return account_id, rev, [api.op("set_licenses", account_id, pbx_id="pbx-1", base_revision=rev, items={IP_PORT: 12}),
                             api.op("set_licenses", account_id, pbx_id="pbx-2", base_revision=1, items={UC: 2})]


def statuses(api, outcomes) -> list[str]:
    return [api.keyring.verify_envelope(outcome.result, "op-result")["status"] for outcome in outcomes]


def test_set_licenses_on_unchanged_accounts_are_written_as_decided_before_the_lock(api, ctx, clock):
    account_id, rev, ops = two_license_changes(api)
    caller, todo, keys, early = early_batch(api, ctx, clock, ops)
    assert early is not None and statuses(api, early[1]) == ["applied", "applied"]
    assert api.pbx_revision(account_id) == rev  # nothing written yet
    with writing(ctx.engine) as connection:
        assert early[0].still_holds(connection, ctx.current_prices(connection))
    written, applied, _ = batch.commit(ctx, caller, todo, clock(), keys, "", early)
    assert written is early[0] and applied is early[1]  # the very results signed before the lock
    licenses = {(p["pbx_id"], lic["ref"]): lic["qty"] for p in api.account(account_id)["pbxs"] for lic in p["licenses"]}
    assert licenses == {("pbx-1", IP_PORT): 12, ("pbx-2", UC): 2}


def test_a_batch_is_decided_again_under_the_lock_when_its_account_moved_in_between(api, ctx, clock):
    account_id, rev, ops = two_license_changes(api)
    caller, todo, keys, early = early_batch(api, ctx, clock, ops)
    assert statuses(api, early[1]) == ["applied", "applied"]
    assert api.set_licenses(account_id, {IP_PORT: 20})["status"] == "applied"  # another laptop, meanwhile
    with writing(ctx.engine) as connection:
        assert not early[0].still_holds(connection, ctx.current_prices(connection))
    written, applied, _ = batch.commit(ctx, caller, todo, clock(), keys, "", early)
    assert written is not early[0]
    assert statuses(api, applied) == ["conflict", "applied"]  # pbx-1's revision moved: decided on what is now
    licenses = {(p["pbx_id"], lic["ref"]): lic["qty"] for p in api.account(account_id)["pbxs"] for lic in p["licenses"]}
    assert licenses == {("pbx-1", IP_PORT): 20, ("pbx-2", UC): 2}


def test_r6_memory_written_in_between_is_seen(api, ctx, clock):
    """R6 follows the serial: a reduction another account of the partner made meanwhile, on a PBX bearing that
    serial, changes what a restore decides, so the batch is decided again."""
    account_id = licensed_account(api, "A")
    rev = api.pbx_revision(account_id)
    ops = [api.op("set_licenses", account_id, pbx_id="pbx-2", base_revision=1, items={UC: 2}),
           api.op("set_licenses", account_id, pbx_id="pbx-1", base_revision=rev, items={IP_PORT: 12})]
    _, _, _, early = early_batch(api, ctx, clock, ops)
    other = api.new_account(name="Other")
    api.load(other, "100")
    assert api.register(other, "pbx-9", serial="SN-A-pbx-1")["status"] == "applied"  # the same serial
    assert api.set_licenses(other, {IP_PORT: 3}, pbx_id="pbx-9")["status"] == "applied"
    assert api.set_licenses(other, {IP_PORT: 1}, pbx_id="pbx-9")["status"] == "applied"  # a reduction of SN-A-pbx-1
    with writing(ctx.engine) as connection:
        assert not early[0].still_holds(connection, ctx.current_prices(connection))


def test_batches_that_write_at_once_are_decided_under_the_lock(api, ctx, clock):
    account_id = licensed_account(api, "A")
    one = [api.set_licenses_op(account_id, {IP_PORT: 12})]
    assert early_batch(api, ctx, clock, one)[3] is None  # a single op: the single-op path, as it was
    [key] = admin.issue_keys(ctx, 1_000_000, 1)
    with_key = one + [api.op("redeem_key", account_id, key=key)]
    assert early_batch(api, ctx, clock, with_key)[3] is None  # a key's row decides its race at once (R11)
    removal = [api.op("remove_pbx", account_id, pbx_id="pbx-2", base_revision=1), *one]
    assert early_batch(api, ctx, clock, removal)[3] is None  # a PBX going: written at once
    assert [r["status"] for r in api.sync(*removal).results] == ["applied", "applied"]  # and applied all the same
    [held] = admin.issue_keys(ctx, 1_000_000, 1)
    assert api.sync(api.op("deposit_key", account_id, key=held)).result["status"] == "applied"
    [deposit] = api.account(account_id)["deposits"]
    withdrawal = [api.set_licenses_op(account_id, {IP_PORT: 13}),
                  api.op("withdraw_key", account_id, key_id=deposit["key_id"])]
    # found while deciding: a held key given back, its row deleted at once (R24)
    assert early_batch(api, ctx, clock, withdrawal)[3] is None
    assert [r["status"] for r in api.sync(*withdrawal).results] == ["applied", "applied"]
    assert api.account(account_id)["deposits"] == []
