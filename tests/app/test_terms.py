"""The rental terms on the laptop (R26): fetched at sync, kept verified for offline use, accepted by a new account.

A real license server on 127.0.0.1 and real SQCipher stores; the server's clock is moved, never slept on.
"""

from __future__ import annotations

import json

import pytest

from app import services, terms
from app.clock import MovableClock
from app.models import TermsReplica

from .conftest import FAST_KDF, PASSPHRASE

V1 = {"version": "2027-01", "texts": {"en": "# Rental terms\n\nRent is charged **per second**.",
                                      "fr": "# Conditions de location\n\nLe loyer est décompté **à la seconde**."}}
V2 = {"version": "2027-02", "texts": {"en": "# Rental terms, second edition", "fr": "# Conditions, deuxième édition"}}


@pytest.fixture
def server_clock(clock):
    return clock


@pytest.fixture
def laptop(tmp_path, server, token, clock):
    store = services.initialise(tmp_path / "laptop", PASSPHRASE, server.url, token, demo=True, kdf=FAST_KDF)
    yield store
    store.close()


def sync(store, clock):
    report = services.sync_now(store, MovableClock(clock.now()))
    assert report.ok, report.error
    return report


def create(store, clock, **acceptance):
    return services.create_account(store.unit_of_work(), clock, "Acme Dental", "office@acme-dental.example",
                                   **acceptance)


def test_a_sync_brings_the_terms_and_the_laptop_keeps_them_for_offline_use(laptop, server, clock):
    assert terms.held(laptop.unit_of_work()) is None
    server.publish_terms(V1)
    sync(laptop, clock)
    held = terms.held(laptop.unit_of_work())
    assert (held.version, held.published_at, held.texts) == ("2027-01", clock.now(), V1["texts"])
    server.stop()  # offline from here on
    assert not services.sync_now(laptop, clock).ok
    assert terms.held(laptop.unit_of_work()).version == "2027-01"


def test_a_server_without_terms_answers_no_terms_and_the_sync_still_succeeds(laptop, server, clock):
    sync(laptop, clock)
    assert terms.held(laptop.unit_of_work()) is None


def test_a_newer_version_replaces_the_held_one_and_an_older_one_never_does(laptop, server, clock):
    server.publish_terms(V1)
    sync(laptop, clock)
    with laptop.unit_of_work() as uow:
        old_envelope = json.loads(uow.session.get(TermsReplica, "2027-01").envelope)
    clock.advance(60)
    server.publish_terms(V2)
    sync(laptop, clock)
    assert terms.held(laptop.unit_of_work()).version == "2027-02"
    with laptop.unit_of_work(write=True) as uow:  # an old answer replayed
        assert terms.store(uow.replica, uow.keyring, old_envelope, clock.now()) is None
        uow.commit()
    assert terms.held(laptop.unit_of_work()).version == "2027-02"
    assert any("older than 2027-02" in r.reason for r in services.sync_status(laptop.unit_of_work()).refusals)


def test_terms_whose_signature_does_not_verify_are_refused(laptop, server, clock):
    envelope = server.ctx.sign("terms", {"version": "2027-01", "published_at": 1, "texts": V1["texts"]})
    envelope["payload"] = envelope["payload"][:-4] + ("AAAA" if not envelope["payload"].endswith("AAAA") else "BBBB")
    with laptop.unit_of_work(write=True) as uow:
        assert terms.store(uow.replica, uow.keyring, envelope, clock.now()) is None
        uow.commit()
    assert terms.held(laptop.unit_of_work()) is None


def test_offline_a_new_account_needs_the_customers_acceptance_of_the_version_held(laptop, server, clock):
    server.publish_terms(V1)
    sync(laptop, clock)
    server.stop()
    with pytest.raises(services.RuleViolation) as refused:
        create(laptop, clock)
    [problem] = refused.value.problems
    assert (problem.rule, problem.code, problem.params, problem.field) == (
        "R26", "terms-not-accepted", {"version": "2027-01"}, "accepted_by")
    with pytest.raises(services.RuleViolation, match="record the signatory's name"):
        create(laptop, clock, terms_version="2027-01", accepted_by="   ", terms_accepted=True)
    with pytest.raises(services.RuleViolation, match="record the signatory's name"):  # typed, but the box is not ticked
        create(laptop, clock, terms_version="2027-01", accepted_by="Dr Alice Martin")
    with pytest.raises(services.RuleViolation, match="accepted the rental terms version 2026-12, but version 2027-01 is"):
        create(laptop, clock, terms_version="2026-12", accepted_by="Dr Alice Martin", terms_accepted=True)
    queued = create(laptop, clock, terms_version="2027-01", accepted_by="Dr Alice Martin", terms_accepted=True)
    [op] = [op for op in services.queued_ops(laptop.unit_of_work(), clock) if op.op_id == queued.op_id]
    assert op.state == "pending"


def test_an_acceptance_made_offline_is_recorded_by_the_server_at_sync(laptop, server, token, clock):
    server.publish_terms(V1)
    sync(laptop, clock)
    queued = create(laptop, clock, terms_version="2027-01", accepted_by="Dr Alice Martin", terms_accepted=True)
    # the account page says it offline already, to be recorded at the next sync
    offline = services.account_detail(laptop.unit_of_work(), clock, queued.account_id).terms
    assert offline == services.TermsAcceptance("2027-01", "Dr Alice Martin", None)
    clock.advance(3600)  # back at the office
    sync(laptop, clock)
    with server.client(token) as client:
        account = server.keyring.verify_envelope(client.get(f"/accounts/{queued.account_id}").json(), "account")
    assert (account["terms_version"], account["terms_accepted_by"], account["terms_accepted_at"]) == (
        "2027-01", "Dr Alice Martin", clock.now())
    recorded = services.account_detail(laptop.unit_of_work(), clock, queued.account_id).terms
    assert recorded == services.TermsAcceptance("2027-01", "Dr Alice Martin", clock.now())


def test_an_acceptance_of_terms_replaced_meanwhile_is_refused_at_sync_and_the_new_ones_arrive(
        laptop, server, clock):
    server.publish_terms(V1)
    sync(laptop, clock)
    queued = create(laptop, clock, terms_version="2027-01", accepted_by="Dr Alice Martin", terms_accepted=True)
    clock.advance(60)
    server.publish_terms(V2)  # the vendor published new terms while the technician was on site
    report = sync(laptop, clock)
    assert report.rejected == 1
    [op] = [op for op in services.queued_ops(laptop.unit_of_work(), clock) if op.op_id == queued.op_id]
    assert (op.state, op.rule) == ("rejected", "R26")
    assert "version 2027-02 is current" in op.message
    assert terms.held(laptop.unit_of_work()).version == "2027-02"  # ready for the customer's new acceptance


def test_without_terms_held_the_account_is_queued_as_before(laptop, clock):
    queued = create(laptop, clock)
    assert queued.kind == "create_account"


@pytest.mark.parametrize("markdown,kept,dropped", [
    ("# Title\n\n**bold** and *it*", ["<h1>Title</h1>", "<strong>bold</strong>", "<em>it</em>"], []),
    ("| a | b |\n| --- | --- |\n| 1 | 2 |", ["<table>", "<td>1</td>"], []),
    ("<script>alert(1)</script>\n\ntext", ["text"], ["<script"]),
    ("[click](javascript:alert(1))", ["click"], ['href="javascript']),
    ('<img src=x onerror="alert(1)">', ["&lt;img"], ["<img"]),  # raw HTML is shown as text, never as HTML
    ("[vendor](https://vendor.example/terms)", ['href="https://vendor.example/terms"', 'rel="noopener noreferrer"'], []),
])
def test_the_terms_are_rendered_from_markdown_and_sanitised(markdown, kept, dropped):
    html = str(terms.render(markdown))
    for fragment in kept:
        assert fragment in html
    for fragment in dropped:
        assert fragment not in html
