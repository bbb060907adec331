"""Issue 21 item 7: a conflict names the PBX as this laptop holds it and says what the other change did, in the
technician's language, from codes and params (rental/reasons.py, app translations); never a raw id or revision
number. Two laptops against a real license server on 127.0.0.1."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from app import services
from app import create_app
from app.web.labels import reason_text

from .conftest import FAST_KDF
from .test_sync import IP_PORT, UC, laptop, prepare_customer, server_clock, sync_now  # noqa: F401  (fixtures)


@pytest.fixture
def screens(tmp_path, clock):
    """The app's screens, to word reasons the way a page does (EN and FR)."""
    app = create_app({"RENTDESK_HOME": str(tmp_path / "screens"), "TESTING": True, "TRUST_DEMO_KEY": True,
                      "CLOCK": clock, "BACKGROUND_SYNC": False, "STORE_KDF": FAST_KDF, "TIMEZONE": "UTC"})
    yield app
    app.extensions["rentdesk.shutdown"]()


def worded(app, reasons, locale: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return " ".join(reason_text(reason) for reason in reasons)


def conflict_of(store, clock, account_id):
    [op] = services.account_detail(store.unit_of_work(), clock, account_id).ops
    assert op.state == "conflict"
    return op


def test_a_conflict_names_the_pbx_and_says_what_the_other_laptop_changed(server, laptop, clock, screens):
    ann, bob = laptop("ann"), laptop("bob")
    account_id, pbx_id, _ = prepare_customer(ann, clock, server)
    services.set_licenses(ann.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 1})
    assert sync_now(ann, clock).ok and sync_now(bob, clock).ok
    services.set_licenses(bob.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 2, UC: 1})
    services.set_licenses(ann.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 5})  # ann has not seen bob's
    assert sync_now(bob, clock).applied == 1 and sync_now(ann, clock).conflicts == 1
    op = conflict_of(ann, clock, account_id)
    [reason] = op.problems
    assert reason.code == "pbx-changed-meanwhile" and reason.params["pbx"] == "Lobby"
    assert reason.params["changes"] == [
        {"field": "IP port license (per device)", "from": 1, "to": 2},
        {"field": "UC license (myApps, per user)", "from": 0, "to": 1}]
    english, french = worded(screens, op.problems, "en"), worded(screens, op.problems, "fr")
    assert english.startswith("Lobby was changed meanwhile by another change (IP port license (per device) 1 → 2, "
                              "UC license (myApps, per user) 0 → 1)")
    assert french.startswith("Lobby a été modifié entre-temps par une autre modification (IP port license (per "
                             "device) 1 → 2, UC license (myApps, per user) 0 → 1)")
    for text in (english, french):
        assert pbx_id not in text and "revision" not in text and "révision" not in text
    # the sync screen's list of results words it the same
    [result] = [r for r in services.sync_status(ann.unit_of_work(), clock).results if r.status == "conflict"]
    assert worded(screens, result.problems, "fr") == french


def test_a_pbx_renamed_on_the_other_laptop_is_named_as_held_here_and_the_rename_said(server, laptop, clock, screens):
    ann, bob = laptop("ann"), laptop("bob")
    account_id, pbx_id, _ = prepare_customer(ann, clock, server)
    assert sync_now(ann, clock).ok and sync_now(bob, clock).ok
    services.update_pbx(bob.unit_of_work(), clock, account_id, pbx_id, name="Reception", firmware="13r3")
    services.set_licenses(ann.unit_of_work(), clock, account_id, pbx_id, {IP_PORT: 5})
    assert sync_now(bob, clock).applied == 1 and sync_now(ann, clock).conflicts == 1
    op = conflict_of(ann, clock, account_id)
    english, french = worded(screens, op.problems, "en"), worded(screens, op.problems, "fr")
    assert english.startswith("Lobby was changed meanwhile by another change (name Lobby → Reception, "
                              "firmware 13r2 → 13r3)")
    assert french.startswith("Lobby a été modifié entre-temps par une autre modification (nom Lobby → Reception, "
                             "firmware 13r2 → 13r3)")
    assert pbx_id not in english + french
