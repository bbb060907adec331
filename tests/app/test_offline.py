"""Working offline (DESIGN §6): the verified replica, the outbox, the projection and the offline checks,
with real signatures (demo key) on a real SQLCipher store and no server at all."""

from __future__ import annotations

import json

import pytest

from app import services
from app.errors import from_stored
from rental.money import SECONDS_PER_DAY, TICKS_PER_MILLI

from .builders import ACCOUNT_ID, PBX_ID, account_payload, monthly, pricelist_payload, seed

IP_PORT = "01-00010-001"  # 0.500 iSC a month
UC = "01-00020-001"  # 1.250 iSC a month
HARDWARE = "01-00500-001"
THIRD_PARTY = "90-00100-001"


@pytest.fixture
def prices(demo_prices):
    return monthly(demo_prices)


@pytest.fixture
def online_once(store, signer, demo_prices, prices, clock):
    """A store that synced once: the demo price list and Acme Dental with 10 IP ports and 100 iSC."""
    seed(store, signer, clock.now(), pricelist=pricelist_payload(demo_prices),
         account=account_payload(as_of=clock.now(), licenses={IP_PORT: 10}, prices=prices))
    return store


def detail(store, clock):
    return services.account_detail(store.unit_of_work(), clock, ACCOUNT_ID)


# --------------------------------------------------------------------------- replica


def test_a_verified_snapshot_is_kept_verbatim_with_its_parsed_fields(store, signer, prices, clock):
    envelope = signer.sign_envelope("account", account_payload(as_of=clock.now(), licenses={IP_PORT: 10},
                                                               prices=prices))
    with store.unit_of_work(write=True) as uow:
        uow.replica.store_account(uow.keyring, envelope, clock.now())
        uow.commit()
    with store.unit_of_work() as uow:
        row = uow.replica.get_account(ACCOUNT_ID)
        assert json.loads(row.envelope) == envelope
        assert (row.revision, row.name, row.status, row.rate_ticks_per_s) == (3, "Acme Dental", "active", 60_000)


def test_a_snapshot_older_than_the_one_held_is_refused_with_the_reason_shown(online_once, signer, prices, clock):
    older = account_payload(as_of=clock.now() - 3600, revision=2, licenses={}, prices=prices, name="Acme OLD")
    seed(online_once, signer, clock.now(), account=older)
    view = detail(online_once, clock)
    assert view.revision == 3 and view.name == "Acme Dental"
    refusals = services.sync_status(online_once.unit_of_work()).refusals
    assert "older than revision 3" in refusals[0].reason
    kept = from_stored(refusals[0].reason)  # as data: the screens word it in the technician's language
    assert (kept.code, kept.params["revision"], kept.params["held_revision"]) == ("snapshot-older", 2, 3)


def test_a_tampered_snapshot_is_refused_with_a_reason_not_a_crash(online_once, signer, prices, clock):
    envelope = signer.sign_envelope("account", account_payload(as_of=clock.now(), revision=9, balance_milli=1,
                                                               prices=prices))
    envelope["sig"] = envelope["sig"][:-2] + ("AA" if not envelope["sig"].endswith("AA") else "BA")
    with online_once.unit_of_work(write=True) as uow:
        assert uow.replica.store_account(uow.keyring, envelope, clock.now()) is None
        uow.commit()
    assert detail(online_once, clock).revision == 3
    reason = services.sync_status(online_once.unit_of_work()).refusals[0].reason
    assert "refused" in reason and ("signature" in reason or "base64" in reason)
    kept = from_stored(reason)  # as data, the verifier's reason as its cause: worded in the reader's language
    assert kept.code == "snapshot-refused" and kept.params["cause"] in ("envelope-bad-signature",
                                                                       "envelope-not-canonical")


def test_an_envelope_signed_by_an_unknown_key_is_refused(online_once, prices, clock):
    from rental.signing import SigningKey

    stranger = SigningKey.generate("stranger")
    seed(online_once, stranger, clock.now(), account=account_payload(as_of=clock.now(), revision=10, prices=prices))
    assert detail(online_once, clock).revision == 3
    assert "unknown key" in services.sync_status(online_once.unit_of_work()).refusals[0].reason


# --------------------------------------------------------------------------- projection


def test_the_balance_runs_down_per_second_offline(online_once, clock):
    start = detail(online_once, clock).confirmed
    clock.advance(SECONDS_PER_DAY)
    later = detail(online_once, clock).confirmed
    assert start.balance_ticks - later.balance_ticks == 12 * 500 * 10 * SECONDS_PER_DAY
    assert later.monthly_milli == 5000 and later.status == "active"


def test_credit_running_out_offline_shows_suspended_from_the_exact_second_the_server_uses(store, signer, demo_prices,
                                                                                          prices, clock):
    seed(store, signer, clock.now(), pricelist=pricelist_payload(demo_prices),
         account=account_payload(as_of=clock.now(), balance_milli=1000, licenses={IP_PORT: 10}, prices=prices))
    rate = 12 * 500 * 10
    depletes_at = clock.now() + 1000 * TICKS_PER_MILLI // rate  # DESIGN §3
    view = detail(store, clock)
    assert view.confirmed.ends_at == depletes_at
    clock.set(depletes_at - 1)
    assert detail(store, clock).confirmed.status == "active"
    clock.set(depletes_at)
    suspended = detail(store, clock).confirmed
    assert suspended.status == "suspended" and suspended.rate_ticks_per_s == 0
    assert suspended.balance_ticks == 1000 * TICKS_PER_MILLI % rate  # the remainder stays (SPEC)
    summary = services.list_accounts(store.unit_of_work(), clock)[0]
    assert summary.status == "suspended"


def test_a_pending_key_counts_as_credit_not_yet_confirmed(online_once, signer, clock):
    key = signer.issue_key(25_000, clock.now())
    services.load_key(online_once.unit_of_work(), clock, ACCOUNT_ID, key)
    view = detail(online_once, clock)
    assert view.pending_credit_milli == 25_000
    assert view.pending.balance_ticks - view.confirmed.balance_ticks == 25_000 * TICKS_PER_MILLI
    assert [op.effect for op in view.ops] == ["+25.000 iSC, not yet confirmed"]
    assert view.confirmed.balance_ticks == 100_000 * TICKS_PER_MILLI


def test_pending_licenses_show_the_new_consumption_and_runtime(online_once, clock):
    services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 10, UC: 4})
    view = detail(online_once, clock)
    assert view.confirmed.monthly_milli == 5000
    assert view.pending.monthly_milli == 5000 + 4 * 1250
    assert view.pending.ends_at < view.confirmed.ends_at
    pbx = view.pbxs[0]
    assert [(l.ref, l.qty) for l in pbx.licenses] == [(IP_PORT, 10)]
    assert [(l.ref, l.qty) for l in pbx.pending_licenses] == [(IP_PORT, 10), (UC, 4)]


def test_the_burn_down_reaches_zero_at_the_end_of_credit(online_once, clock):
    curve = services.burn_down(online_once.unit_of_work(), clock, ACCOUNT_ID)
    assert curve.confirmed[0] == (clock.now(), 100_000 * TICKS_PER_MILLI)
    assert curve.confirmed[-1][0] == curve.confirmed_ends_at
    assert curve.confirmed[-1][1] < 12 * 500 * 10  # less than one second of rent is left
    assert curve.pending is None


def test_a_newer_price_list_is_announced_for_the_next_connection(online_once, signer, demo_prices, clock):
    seed(online_once, signer, clock.now(), pricelist=pricelist_payload(demo_prices, version="2027-01",
                                                                       published_at=clock.now()))
    notice = services.pricelist_notice(online_once.unit_of_work(), ACCOUNT_ID)
    assert notice.current_version == "2027-01" and notice.account_version == "2026-11"
    assert (notice.reason.rule, notice.reason.code) == ("R23", "pricelist-newer")
    [(account, listed)] = services.pricelist_notices(online_once.unit_of_work(), clock)
    assert account.account_id == ACCOUNT_ID and listed == notice


# --------------------------------------------------------------------------- outbox


def test_ops_are_kept_in_creation_order_each_with_its_own_op_id(online_once, clock):
    first = services.update_account(online_once.unit_of_work(), clock, ACCOUNT_ID, name="Acme Dental Care")
    second = services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 12})
    ops = detail(online_once, clock).ops
    assert [op.op_id for op in ops] == [first.op_id, second.op_id]
    assert first.op_id != second.op_id
    assert detail(online_once, clock).name == "Acme Dental Care"


def test_pending_license_changes_of_one_pbx_collapse_into_the_newest_desired_state(online_once, clock):
    services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 12})
    services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 14})
    last = services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 11, UC: 1})
    ops = detail(online_once, clock).ops
    assert [op.op_id for op in ops] == [last.op_id]
    body = _body(online_once, last.op_id)
    assert body["items"] == {IP_PORT: 11, UC: 1} and body["base_revision"] == 2


def test_a_license_change_a_sync_may_have_carried_is_never_rewritten(online_once, clock):
    sent = services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 12})
    with online_once.unit_of_work(write=True) as uow:
        uow.outbox.mark_attempt(uow.outbox.pending())
        uow.commit()
    newer = services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 14})
    assert [op.op_id for op in detail(online_once, clock).ops] == [sent.op_id, newer.op_id]
    assert _body(online_once, newer.op_id)["base_revision"] == 3  # it follows the one already sent


def test_chained_edits_of_one_pbx_carry_the_revisions_the_server_will_see(online_once, clock):
    first = services.update_pbx(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, firmware="14r1")
    second = services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 3})
    assert _body(online_once, first.op_id)["base_revision"] == 2
    assert _body(online_once, second.op_id)["base_revision"] == 3


def test_an_account_created_offline_is_listed_as_pending_with_its_pbx(store, clock):
    made = services.create_account(store.unit_of_work(), clock, "Bistro Lumière", "chef@bistro.example", language="fr")
    services.register_pbx(store.unit_of_work(), clock, made.account_id, name="Kitchen", serial="K-1",
                          platform="hardware", firmware="13r1")
    [summary] = services.list_accounts(store.unit_of_work(), clock, query="lumière")
    assert summary.status == "pending" and summary.pending_ops == 2 and not summary.is_confirmed
    view = services.account_detail(store.unit_of_work(), clock, made.account_id)
    assert [p.name for p in view.pbxs] == ["Kitchen"] and view.language == "fr"


# --------------------------------------------------------------------------- offline checks


def refused(call):
    with pytest.raises(services.RuleViolation) as caught:
        call()
    return caught.value


def test_old_firmware_cannot_be_put_into_rental_mode_R1(online_once, clock):
    problem = refused(lambda: services.register_pbx(online_once.unit_of_work(), clock, ACCOUNT_ID, name="Old",
                                                    serial="S-2", platform="vmware", firmware="12r9sr3"))
    assert problem.rule == "R1" and "13r1" in problem.message
    assert detail(online_once, clock).ops == ()


def test_a_hardware_license_is_refused_with_its_rule_R2(online_once, clock):
    preview = services.preview_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID,
                                        {IP_PORT: 10, HARDWARE: 1, THIRD_PARTY: 1})
    assert not preview.ok
    assert {(p.rule, p.ref) for p in preview.problems} == {("R2", HARDWARE), ("R2", THIRD_PARTY)}
    problem = refused(lambda: services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID,
                                                    {HARDWARE: 1}))
    assert problem.rule == "R2"
    assert detail(online_once, clock).ops == ()


def test_a_cloud_pbx_needs_a_cloud_contract_R7(online_once, clock):
    problem = refused(lambda: services.register_pbx(online_once.unit_of_work(), clock, ACCOUNT_ID, name="Cloud",
                                                    serial="C-1", platform="cloud", firmware="14r1"))
    assert problem.rule == "R7" and "cloud contract" in problem.message


def test_rented_licenses_never_go_on_a_purchased_pbx_R8(store, signer, demo_prices, prices, clock):
    seed(store, signer, clock.now(), pricelist=pricelist_payload(demo_prices),
         account=account_payload(as_of=clock.now(), pbx_mode="purchased", prices=prices))
    problem = refused(lambda: services.set_licenses(store.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 1}))
    assert problem.rule == "R8"


def test_licenses_need_credit_for_thirty_days_and_the_refusal_says_how_much_is_missing_R14(online_once, clock):
    preview = services.preview_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 10, UC: 2000})
    assert [p.rule for p in preview.problems] == ["R14"]
    assert preview.missing_milli > 0 and "Load at least" in preview.problems[0].message


def test_a_pending_key_queued_first_counts_for_R14(online_once, signer, clock):
    big = {IP_PORT: 10, UC: 2000}
    services.load_key(online_once.unit_of_work(), clock, ACCOUNT_ID, signer.issue_key(5_000_000, clock.now()))
    preview = services.preview_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, big)
    assert preview.ok, preview.problems
    assert preview.after.monthly_milli == 5000 + 2000 * 1250


def test_restoring_a_reduced_item_within_a_week_warns_before_it_is_queued_R6(online_once, clock):
    with online_once.unit_of_work(write=True) as uow:
        from app.models import Reduction

        uow.session.add(Reduction(at=clock.now() - SECONDS_PER_DAY, pbx_id=PBX_ID, serial="SN-0001", ref=IP_PORT,
                                  from_qty=12, to_qty=10))
        uow.commit()
    with pytest.raises(services.NeedsConfirmation) as caught:
        services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 12})
    assert [(w.rule, w.code, w.params) for w in caught.value.warnings] == [("R6", "toggle-warning", {"refs": [IP_PORT]})]
    assert detail(online_once, clock).ops == ()
    queued = services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {IP_PORT: 12}, confirm=True)
    assert queued.warnings and detail(online_once, clock).ops[0].op_id == queued.op_id


def test_a_forged_key_is_refused_at_once_with_its_message(online_once, clock):
    from rental.signing import SigningKey

    forged = SigningKey.generate("demo").issue_key(1_000_000, clock.now())  # right kid, wrong private key
    problem = refused(lambda: services.load_key(online_once.unit_of_work(), clock, ACCOUNT_ID, forged))
    assert problem.rule == "key-invalid" and "not genuine" in problem.message
    typo = refused(lambda: services.load_key(online_once.unit_of_work(), clock, ACCOUNT_ID, "ISC1-ABCDE-FGHJK"))
    assert typo.rule == "key-invalid"
    assert detail(online_once, clock).ops == ()


def test_one_key_is_queued_once_on_a_laptop(online_once, signer, clock):
    key = signer.issue_key(1000, clock.now())
    services.load_key(online_once.unit_of_work(), clock, ACCOUNT_ID, key)
    assert refused(lambda: services.load_key(online_once.unit_of_work(), clock, ACCOUNT_ID, key)).rule == "key-used"


def test_deleting_an_account_needs_the_balance_shown_as_consent_R13(online_once, clock):
    problem = refused(lambda: services.delete_account(online_once.unit_of_work(), clock, ACCOUNT_ID, 0))
    assert problem.rule == "R13" and "100.000 iSC" in problem.message
    balance_milli = detail(online_once, clock).confirmed.balance_ticks // TICKS_PER_MILLI
    services.delete_account(online_once.unit_of_work(), clock, ACCOUNT_ID, balance_milli)
    assert detail(online_once, clock).pending.status == "deleted"
    blocked = refused(lambda: services.set_licenses(online_once.unit_of_work(), clock, ACCOUNT_ID, PBX_ID, {}))
    assert blocked.rule == "deleted"


def test_a_bad_e_mail_is_refused_with_the_field_named(store, clock):
    problem = refused(lambda: services.create_account(store.unit_of_work(), clock, "Acme", "not-an-email"))
    assert problem.problems[0].field == "contact_email"
    assert services.list_accounts(store.unit_of_work(), clock) == []


@pytest.mark.parametrize("field, fields, words", [
    ("firmware", {"firmware": "13r2sr5-beta-build-0042"}, "too long for a firmware version"),
    ("serial", {"serial": "S" * 101}, "The serial number must be 1 to 100 printable characters"),
    ("name", {"name": "Lobby\nDesk"}, "The PBX name must be 1 to 200 printable characters on one line"),
])
def test_pbx_fields_are_checked_by_the_same_function_as_the_server_bad_op(online_once, clock, field, fields, words):
    pbx = {"name": "Annex", "serial": "S-9", "platform": "vmware", "firmware": "13r2", **fields}
    problem = refused(lambda: services.register_pbx(online_once.unit_of_work(), clock, ACCOUNT_ID, **pbx))
    assert (problem.rule, problem.problems[0].field) == ("bad-op", field) and words in problem.message
    assert detail(online_once, clock).ops == ()


def test_a_plain_http_server_on_another_machine_is_refused(store):
    with pytest.raises(services.InsecureServerUrl, match="https"):
        services.set_settings(store.unit_of_work(), server_url="http://licenses.example.com")
    assert services.get_settings(store.unit_of_work()).server_url == "http://127.0.0.1:9"
    assert services.set_settings(store.unit_of_work(), server_url="https://licenses.example.com").server_url \
        == "https://licenses.example.com"


def _body(store, op_id):
    with store.unit_of_work() as uow:
        return json.loads(uow.outbox.get(op_id).body)



def test_a_result_kept_twice_in_one_unit_of_work_updates_its_row_and_a_ledger_pulled_twice_adds_nothing(store, clock):
    """The outbox's and the replica's look-ups made once per batch still see what the same unit of work added."""
    with store.unit_of_work(write=True) as uow:
        op = uow.outbox.enqueue("update_account", ACCOUNT_ID, {"name": "Acme"}, clock.now())
        uow.outbox.get_many([op.op_id])
        refused = {"op_id": op.op_id, "account_id": ACCOUNT_ID, "status": "rejected", "server_time": clock.now(),
                   "rule": "R14", "message": "no", "problems": []}
        uow.outbox.apply_result(op, refused, {"type": "op-result"}, clock.now())
        uow.outbox.apply_result(op, {**refused, "message": "still no"}, {"type": "op-result"}, clock.now())
        lines = [{"id": 7, "kind": "credit", "at": clock.now(), "ticks": 5}]
        assert uow.replica.store_ledger_lines(ACCOUNT_ID, lines, clock.now(), 3) == 1
        assert uow.replica.store_ledger_lines(ACCOUNT_ID, lines + lines, clock.now(), 3) == 0
        uow.commit()
    with store.unit_of_work() as uow:
        [(row, _)] = uow.outbox.recent_results(uow.keyring, ACCOUNT_ID)
        assert row.message == "still no"
        assert uow.replica.ledger_entries(ACCOUNT_ID)[2] == 1
