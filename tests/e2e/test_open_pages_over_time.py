"""In Chromium, open pages against what rental/ computes for now: an account page left open while the credit runs
out, with no sync at all, says "suspended" in its title and PBX list as its meter does (R10, R18: the page's watch
fires at that second); and "Remove PBX" clicked on a page a background sync changed underneath (a colleague's
licenses) removes nothing and shows what the server holds (R19); a PBX page open when a sync brings the PBX's
removal says so and leaves nothing to act on (R19), as an account page does when a sync brings the account's deletion
(R13). English and French. With RENTDESK_SHOTS_DIR set,
each screen is photographed before and after (docs/screenshots are made elsewhere)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from . import steps

AFTER = 10_000  # ms: the page's watch asks every 2 s, then each component asks


def _depletes_at(server, token: str, account_url: str) -> int:
    account_id = account_url.rstrip("/").rsplit("/", 1)[-1]
    with server.client(token) as client:
        return server.keyring.verify_envelope(client.get(f"/accounts/{account_id}").json(), "account")["depletes_at"]


def _runs_out_while_open(page, app, server, lang: str, words: dict) -> None:
    token, account, _pbx = steps.partner_customer(page, app, server, {"01-00010-001": 40},
                                                  expect_monthly="20.000 iSC")  # 100 iSC: five months
    depletes_at = _depletes_at(server, token, account)
    server.stop()  # offline: no sync will tell the page
    if lang == "fr":
        steps.french(page, app)
    page.goto(account)
    expect(page.locator("#account-title .badge")).to_have_text(words["active"])
    server.clock.set(depletes_at - 5)
    expect(page.get_by_test_id("runtime")).to_contain_text(words["seconds"], timeout=AFTER)
    steps.shot(page, f"account-before-credit-runs-out-{lang}")
    server.clock.set(depletes_at)  # R18: the account stops at this second; the meter says so within a second
    expect(page.get_by_test_id("suspended")).to_be_visible(timeout=AFTER)
    expect(page.locator("#account-title .badge")).to_have_text(words["suspended"], timeout=AFTER)
    expect(page.locator("#pbx-list")).to_contain_text(words["suspended"])
    page.locator("#pbx-list").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    steps.shot(page, f"account-after-credit-ran-out-{lang}")


def test_an_account_page_left_open_says_suspended_everywhere_at_the_second_the_credit_runs_out_R18(
        page, live_app, license_server):
    _runs_out_while_open(page, live_app, license_server, "en",
                         {"active": "active", "suspended": "suspended", "seconds": "s"})


def test_a_page_left_open_says_suspendu_everywhere_at_the_second_the_credit_runs_out_in_french_R18(
        page, live_app, license_server):
    _runs_out_while_open(page, live_app, license_server, "fr",
                         {"active": "actif", "suspended": "suspendu", "seconds": "s"})


def _remove_over_a_sync(page, app, server, lang: str, words: dict) -> None:
    token, account, pbx = steps.partner_customer(page, app, server, {"01-00010-001": 40}, expect_monthly="20.000 iSC")
    if lang == "fr":
        steps.french(page, app)
    page.goto(pbx)
    steps.shot(page, f"pbx-before-colleague-change-{lang}")
    steps.another_laptop_sets_licenses(server, token, pbx, {"01-00010-001": 60})
    assert app.background_sync().accounts_updated == 1  # learnt while the page is open
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("form[action$='/remove'] button").click()
    expect(page).to_have_url(re.compile(re.escape(pbx) + "$"))
    notice = page.locator(".notice.warn").first
    expect(notice).to_contain_text(words["nothing"])
    expect(notice).to_contain_text(words["holds"])
    steps.shot(page, f"pbx-after-colleague-change-remove-clicked-{lang}")
    expect(page.locator("#sync-chip")).not_to_contain_text(words["queued"])
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("form[action$='/remove'] button").click()  # seen now: queued as asked
    expect(page).to_have_url(re.compile(re.escape(account) + "$"))
    expect(page.locator("#pbx-list")).to_contain_text(words["removal"])


def test_remove_pbx_clicked_on_a_page_a_background_sync_changed_removes_nothing_unseen_R19(
        page, live_app, license_server):
    _remove_over_a_sync(page, live_app, license_server, "en",
                        {"nothing": "nothing was queued", "holds": "60 × IP port license (per device)",
                         "queued": "queued", "removal": "removal queued"})


def test_remove_pbx_over_a_background_sync_says_it_in_french_R19(page, live_app, license_server):
    _remove_over_a_sync(page, live_app, license_server, "fr",
                        {"nothing": "rien n’a été mis en attente", "holds": "60 ×",
                         "queued": "en attente", "removal": "retrait en attente"})


def test_a_pbx_page_open_when_a_background_sync_brings_its_removal_leaves_nothing_to_act_on_R19(
        page, live_app, license_server):
    """The PBX page's facts fetch themselves after the sync and say the PBX is gone; its actions (edit, remove) and
    its license editor go with it, out of band: nothing is left on the page to queue against a PBX that is not
    there any more."""
    token, _account, pbx = steps.partner_customer(page, live_app, license_server, {"01-00010-001": 40},
                                                  expect_monthly="20.000 iSC")
    page.goto(pbx)
    expect(page.locator("#license-editor")).to_be_visible()
    steps.another_laptop_removes_pbx(license_server, token, pbx)
    live_app.background_sync()
    expect(page.get_by_test_id("pbx-gone")).to_contain_text("no longer on the account", timeout=AFTER)
    expect(page.locator("#pbx-title")).to_contain_text("removed", timeout=AFTER)
    expect(page.locator("#license-editor")).to_be_hidden()
    expect(page.locator("#pbx-actions button")).to_have_count(0)
    expect(page.locator("#pbx-actions a")).to_have_count(0)


def test_an_account_page_open_when_a_background_sync_brings_its_deletion_takes_delete_and_add_pbx_away_R13(
        page, live_app, license_server):
    """The account's title fetches itself after the sync and says deleted; Delete… and Add PBX go with it."""
    token, account, _pbx = steps.partner_customer(page, live_app, license_server, {"01-00010-001": 40},
                                                  expect_monthly="20.000 iSC")
    page.goto(account)
    expect(page.locator("#account-delete a")).to_have_count(1)
    expect(page.locator("#add-pbx a")).to_have_count(1)
    steps.another_laptop_deletes_account(license_server, token, account)
    live_app.background_sync()
    expect(page.locator("#account-title .badge")).to_have_text("deleted", timeout=AFTER)
    expect(page.locator("#account-delete a")).to_have_count(0)
    expect(page.locator("#add-pbx a")).to_have_count(0)
