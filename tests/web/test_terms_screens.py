"""The "Software rental" section and the terms on the new-account form (R26), through the test client."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import terms
from app.web.state import EXTENSION
from rental.signing import load_signing_key

from .conftest import START

ROOT = Path(__file__).resolve().parents[2]
TEXTS = {"en": "# Rental terms\n\nRent is charged **per second**.\n\n<script>alert('x')</script>",
         "fr": "# Conditions de location\n\nLe loyer est décompté **à la seconde**."}


@pytest.fixture
def held(app, unlocked):
    """Terms version 2027-01 kept on this laptop, as a sync would have stored them (signed by the demo key)."""
    signer = load_signing_key(ROOT / "keys" / "demo" / "demo.key")
    envelope = signer.sign_envelope("terms", {"version": "2027-01", "published_at": START - 86_400, "texts": TEXTS})
    store = app.extensions[EXTENSION].store
    with store.unit_of_work(write=True) as uow:
        assert terms.store(uow.replica, uow.keyring, envelope, START) is not None
        uow.commit()
    return "2027-01"


def new_account(client, csrf, **extra):
    return client.post("/accounts/new", data={"name": "Acme Hotel", "contact_email": "it@acme.example",
                                              "language": "en", "csrf_token": csrf, **extra})


def test_the_section_says_when_no_terms_are_held_yet(unlocked):
    page = unlocked.get("/rental/").data.decode()
    assert "Software rental" in page and 'data-testid="no-terms"' in page


def test_the_section_shows_the_terms_rendered_and_sanitised_with_their_version(unlocked, held):
    page = unlocked.get("/rental/").data.decode()
    assert "version 2027-01" in page and "signed by the license server" in page
    assert "<h1>Rental terms</h1>" in page and "<strong>per second</strong>" in page
    assert "<script>alert" not in page
    french = unlocked.get("/rental/?lang=fr").data.decode()
    assert "<h1>Conditions de location</h1>" in french and 'lang="fr" data-testid="terms-text"' in french


def test_the_main_navigation_leads_to_the_section(unlocked):
    page = unlocked.get("/accounts/").data.decode()
    assert 'href="/rental/"' in page


def test_the_new_account_form_asks_for_the_acceptance_only_when_terms_are_held(unlocked, csrf):
    assert 'data-testid="terms-acceptance"' not in unlocked.get("/accounts/new").data.decode()
    assert new_account(unlocked, csrf).status_code == 302  # no terms held: the account is queued as before


def test_an_account_without_acceptance_is_refused_next_to_the_signatory_field(unlocked, csrf, held):
    form = unlocked.get("/accounts/new").data.decode()
    assert 'data-testid="terms-acceptance"' in form and 'value="2027-01"' in form
    response = new_account(unlocked, csrf, terms_version="2027-01", accepted_by="Dr Alice Martin")  # box unticked
    assert response.status_code == 200
    page = response.data.decode()
    assert 'id="accepted_by-error"' in page and "R26" in page and "version 2027-01" in page
    assert 'value="Dr Alice Martin"' in page  # nothing typed is lost


def test_an_accepted_account_is_queued_and_its_page_says_who_accepted_which_terms(unlocked, csrf, held, app):
    response = new_account(unlocked, csrf, terms_version="2027-01", accepted_by="Dr Alice Martin",
                           terms_accepted="on")
    assert response.status_code == 302
    page = unlocked.get(response.headers["Location"]).data.decode()
    assert "Rental terms</a> 2027-01 · accepted by Dr Alice Martin, recorded at the next sync" in page
    app.extensions[EXTENSION].language = "fr"
    page = unlocked.get(response.headers["Location"]).data.decode()
    assert "Conditions de location</a> 2027-01 · acceptées par Dr Alice Martin, enregistrées à la prochaine " \
           "synchronisation" in page


def test_the_refusal_reads_in_french_for_a_french_technician(unlocked, csrf, held, app):
    app.extensions[EXTENSION].language = "fr"
    page = new_account(unlocked, csrf, terms_version="2027-01").data.decode()
    assert "Le client doit accepter les conditions de location version 2027-01" in page
    assert "Nom du signataire du client" in page


def test_a_signatory_name_of_300_characters_is_refused_with_the_limit_said_never_cut(unlocked, csrf, held):
    """R26: the acceptance records the signatory's name as typed; one too long is refused, nothing queued."""
    form = unlocked.get("/accounts/new").data.decode()
    field = re.search(r'<input id="accepted_by"[^>]*>', form).group(0)
    # the field says its limit; a browser would cut a pasted name at a maxlength without a word
    assert "maxlength" not in field and "At most 200 characters." in form
    response = new_account(unlocked, csrf, terms_version="2027-01", accepted_by="S" * 300, terms_accepted="on")
    assert response.status_code == 200
    page = response.data.decode()
    assert 'id="accepted_by-error"' in page and "200" in page and "300" in page
    assert 'value="' + "S" * 300 + '"' in page  # nothing typed is lost
    assert "Acme Hotel" not in unlocked.get("/accounts/").data.decode()  # nothing queued


def test_a_form_with_a_bad_name_and_no_acceptance_says_both_at_once(unlocked, csrf, held):
    """One round of fixes: the signatory's problem (R26) shows beside the name's, not after the name is fixed."""
    response = unlocked.post("/accounts/new", data={"name": "   ", "contact_email": "it@acme.example",
                                                    "language": "en", "terms_version": "2027-01",
                                                    "accepted_by": "   ", "terms_accepted": "on", "csrf_token": csrf})
    assert response.status_code == 200
    page = response.data.decode()
    assert 'id="name-error"' in page and 'id="accepted_by-error"' in page


def test_a_new_account_form_opened_before_newer_terms_arrived_asks_the_acceptance_again_R26(
        unlocked, csrf, held, app):
    """The form was opened on terms 2027-01 and the customer accepted them; a background sync brought 2027-03 before
    the save. Nothing is queued, the form shows the new version with the box unticked: the customer accepted the
    older version, and ticking it again is the technician's act after showing the new terms (never one more click
    on a box still ticked for the old ones)."""
    signer = load_signing_key(ROOT / "keys" / "demo" / "demo.key")
    newer = signer.sign_envelope("terms", {"version": "2027-03", "published_at": START, "texts": TEXTS})
    store = app.extensions[EXTENSION].store
    with store.unit_of_work(write=True) as uow:
        assert terms.store(uow.replica, uow.keyring, newer, START) is not None
        uow.commit()
    answer = new_account(unlocked, csrf, terms_version=held, accepted_by="Claire Martin", terms_accepted="on")
    assert answer.status_code == 200
    page = answer.data.decode()
    assert "version 2027-01" in page and "2027-03 is current" in page  # R26, said next to the signatory
    assert 'name="terms_version" value="2027-03"' in page
    box = re.search(r'<input type="checkbox" name="terms_accepted"[^>]*>', page)[0]
    assert "checked" not in box
    assert 'value="Claire Martin"' in page  # the name typed stays
    assert "Acme Hotel" not in unlocked.get("/accounts/").data.decode()  # nothing queued
