"""Decisions a technician takes in the browser: a conflict with a change made elsewhere (re-apply or discard), an R6
reduce-then-restore that needs "I understand" before it is queued, and a laptop clock that is off (issue 8)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from . import steps
from .conftest import LiveApp

IP_PORT = "01-00010-001"  # 0.500 iSC per month
HOUR, DAY = 3600, 86_400


def a_customer_with_licenses(page, app, server, token, qty: int) -> tuple[str, str]:
    """A synced account with 100 iSC and a PBX running qty IP ports; returns (account URL, PBX URL)."""
    return steps.customer_with_licenses(page, app, server, token, {IP_PORT: qty})


def a_conflict_on_the_sync_screen(page, app, server, token):
    """Both laptops change the same PBX; this one syncs second and meets a conflict."""
    account, pbx = a_customer_with_licenses(page, app, server, token, 10)
    server.clock.advance(HOUR)
    steps.another_laptop_sets_licenses(server, token, pbx, {IP_PORT: 12})
    page.goto(pbx)
    steps.set_quantities(page, {IP_PORT: 16}, expect_monthly="8.000 iSC")
    steps.queue_licenses(page)
    report = steps.sync_now(page, app)
    assert "1 conflict" in report
    row = page.locator("#sync-result table.ops tr", has_text="Set licenses")
    expect(row).to_contain_text("conflict")
    expect(row).to_contain_text("changed meanwhile")
    # issue 21: what the colleague changed, by the item's name, and no raw id or revision number
    expect(row).to_contain_text("IP port license (per device) 10 → 12")
    expect(row).not_to_contain_text(re.search(r"/pbx/([^/?#]+)", pbx).group(1))
    expect(row).not_to_contain_text("revision")
    return account, row


def test_a_conflict_re_applied_on_the_new_state_is_applied_at_the_next_sync(page, live_app, license_server):
    token = license_server.add_technician()
    account, row = a_conflict_on_the_sync_screen(page, live_app, license_server, token)
    row.get_by_role("link", name="Re-apply on the new state").click()
    # issue 21: what mine does to the server's 12 ports, then asked (tests/e2e/test_two_laptop_conflicts.py)
    expect(page.locator("[data-testid=reapply-change]")).to_have_text(["IP port license (per device) 12 → 16"])
    page.locator("[data-testid=confirm-reapply]").click()
    expect(page.locator(".notice.ok, .flash").first).to_contain_text("queued again on the newest state")
    expect(page.locator("#sync-result table.ops")).to_contain_text("not yet synced")
    report = steps.sync_now(page, live_app)
    assert "1 applied" in report and "conflict" not in report
    expect(page.locator("#sync-result")).to_contain_text("Nothing is waiting")
    page.goto(account)
    expect(page.locator("[data-testid=monthly]")).to_have_text("8.000 iSC")  # mine, on top of the colleague's


def test_a_conflict_discarded_leaves_the_other_laptops_change_in_force(page, live_app, license_server):
    token = license_server.add_technician()
    account, row = a_conflict_on_the_sync_screen(page, live_app, license_server, token)
    page.once("dialog", lambda dialog: dialog.accept())  # "Discard this change? It will not be sent."
    row.get_by_role("button", name="Discard").click()
    expect(page.locator("#sync-result")).to_contain_text("Nothing is waiting")
    assert "0 changes sent" in steps.sync_now(page, live_app)
    page.goto(account)
    expect(page.locator("[data-testid=monthly]")).to_have_text("6.000 iSC")  # 12 ports: the colleague's


def test_a_quick_restore_warns_r6_and_is_queued_only_after_i_understand(page, live_app, license_server):
    token = license_server.add_technician()
    account, pbx = a_customer_with_licenses(page, live_app, license_server, token, 10)
    license_server.clock.advance(HOUR)
    page.goto(pbx)
    steps.set_quantities(page, {IP_PORT: 5}, expect_monthly="2.500 iSC")
    steps.queue_licenses(page)
    steps.sync_now(page, live_app)  # reduced over the weekend…
    license_server.clock.advance(2 * DAY)

    page.goto(pbx)
    steps.set_quantities(page, {IP_PORT: 10}, expect_monthly="5.000 iSC")  # …and restored on Monday
    expect(page.locator(".editor-summary .warning")).to_contain_text("R6 · Raising 01-00010-001 again soon after reducing it counts as reduce-then-restore")
    page.click("#license-editor button[type=submit]")
    understand = page.get_by_label("I understand the warning above and want to queue this change")
    expect(understand).to_be_visible()
    other = page.context.new_page()  # nothing was queued before "I understand"
    other.goto(live_app.url("/sync/"))
    expect(other.locator("#sync-result")).to_contain_text("Nothing is waiting")
    other.close()

    understand.check()
    page.click("#license-editor button[type=submit]")
    expect(page.locator(".meter-panel")).to_be_visible()
    steps.sync_now(page, live_app)
    expect(page.locator("[data-testid=sync-warnings]")).to_contain_text("reduce-then-restore")
    expect(page.locator("#server-answers")).to_contain_text("Hotel du Lac")
    page.goto(account)
    expect(page.locator("#server-answers [data-testid=result-warning]").first).to_contain_text("R6")


@pytest.fixture
def laptop_two_days_behind(tmp_path, license_server):
    app = LiveApp(tmp_path / "behind-home", lambda: license_server.clock() - 2 * DAY)
    yield app
    app.stop()


def test_a_laptop_two_days_behind_the_server_shows_the_clock_banner(page, laptop_two_days_behind, license_server):
    app = laptop_two_days_behind
    token = license_server.add_technician()
    steps.first_run(page, app, license_server, token)
    expect(page.locator("[data-testid=clock-notice]")).to_have_count(0)
    steps.create_account(page, app, "Garage Martin", "atelier@martin.example")
    steps.sync_now(page, app)  # the server's signed time arrives with the result
    page.goto(app.url("/accounts/"))
    expect(page.locator("header [data-testid=clock-notice]")).to_contain_text("2 days behind the license server's")
