"""What a sync did, on screen (issue 21, items 3 and 5; DESIGN §5) against a live license server: a change queued
on the old price list and applied at a newer one says it was re-rated, with the monthly at both (R23); an account
renamed on this laptop while another renamed it shows the clash with the server's value and re-applies; English
and French."""

from __future__ import annotations

import re

import pytest

from license_server import admin

from .live import (  # noqa: F401  (server: the live server fixture)
    IP_PORT, rename_elsewhere, renamed_on_both_laptops, running_account, server, server_account, text)


def _price_rise_while_offline(client, csrf, server):
    """12 ports queued offline on 2026-11; 2027-02 (ports at 0.600) published before the sync."""
    account, licenses = running_account(client, csrf, server)
    server.stop()
    assert client.post(licenses, data={f"qty-{IP_PORT}": "12", "csrf_token": csrf}).status_code == 302
    data = admin.demo_pricelist()
    data["version"] = "2027-02"
    for item in data["items"]:
        if item["ref"] == IP_PORT:
            item["monthly_milli"] = 600
    server.start()
    server.publish_prices(data)
    return account


@pytest.mark.parametrize("language, words", [
    ("en", "Re-rated at the new price list (2026-11 → 2027-02): 6.000 iSC → 7.200 iSC a month."),
    ("fr", "Recalculé au nouveau tarif (2026-11 → 2027-02) : 6,000 iSC → 7,200 iSC par mois."),
])
def test_r23_a_change_queued_on_the_old_list_says_on_the_sync_and_account_pages_it_was_rerated(
        unlocked, csrf, server, language, words):
    account = _price_rise_while_offline(unlocked, csrf, server)
    unlocked.post("/settings/language", data={"language": language, "csrf_token": csrf})
    answer = unlocked.post("/sync/run", data={"csrf_token": csrf})
    assert words in text(answer.data)  # "Sync now"'s answer
    assert words in text(unlocked.get("/sync/").data)  # the sync page, later
    assert words in text(unlocked.get(account).data)


@pytest.mark.parametrize("language, words", [
    ("en", "Changed meanwhile by someone else: the server holds name → Azur Hotels."),
    ("fr", "Modifié entre-temps par quelqu’un d’autre : le serveur a nom → Azur Hotels."),
])
def test_two_laptops_renaming_one_account_show_the_clash_with_the_servers_name_and_reapply_mine(
        unlocked, csrf, server, language, words):
    account, account_id = renamed_on_both_laptops(unlocked, csrf, server, language="fr")
    unlocked.post("/settings/language", data={"language": language, "csrf_token": csrf})
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    held = server_account(server, account_id)
    assert (held["name"], held["language"]) == ("Azur Hotels", "fr")  # the e-mail language merged all the same
    for page in (unlocked.get("/sync/").data, unlocked.get(account).data):
        assert words in text(page)
    op_id = re.search(r'/sync/ops/([0-9a-f-]{36})/resolve', unlocked.get(account).data.decode())[1]
    # issue 21: re-applied once its review was seen (the server's name → mine), on the revision it was seen on
    review = unlocked.get(f"/sync/ops/{op_id}/review?next={account}").data.decode()
    seen = re.search(r'name="seen" value="([^"]+)"', review)[1]
    assert unlocked.post(f"/sync/ops/{op_id}/resolve", data={"decision": "reapply", "next": account, "seen": seen,
                                                            "csrf_token": csrf}).status_code == 302
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    assert server_account(server, account_id)["name"] == "Hôtel Azur & Spa"
    assert "/resolve" not in unlocked.get(account).data.decode()  # nothing waits for a decision any more


def test_one_laptop_renames_while_another_changes_the_email_both_stand_and_nothing_waits(unlocked, csrf, server):
    account, _ = running_account(unlocked, csrf, server)
    account_id = account.rsplit("/", 1)[-1]
    base = server_account(server, account_id)["revision"]
    edit = {"name": "Hôtel Azur", "contact_email": "compta@azur.example", "language": "en", "csrf_token": csrf}
    assert unlocked.post(account + "/edit", data=edit).status_code == 302
    assert rename_elsewhere(server, account_id, "Azur Hotels", base)["status"] == "applied"
    unlocked.post("/sync/run", data={"csrf_token": csrf})
    held = server_account(server, account_id)
    assert (held["name"], held["contact_email"]) == ("Azur Hotels", "compta@azur.example")
    assert "/resolve" not in unlocked.get(account).data.decode()
