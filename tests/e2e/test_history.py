"""The account's history in Chromium (R25): after a sync the account page lists what the server recorded, with
times and technicians, still offline; a change queued offline shows on top, marked not yet synced; in French too."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from . import steps

#: The longest account name allowed (200 characters), French.
LONG_NAME = ("Société d'exploitation des Thermes et de l'Hôtel-Dieu de Châtel-Guyon — " * 4)[:200]
TECHNICIAN = "Anne-Sophie Lefèvre-Dubois"
SERIAL = "IPVA-" + "7" * 95  # the longest serial: one unbreakable word


def test_the_history_shows_offline_with_the_queued_change_on_top_in_english_and_french(
        page, page_fr, live_app, license_server, tmp_path):
    token = license_server.add_technician("Alpine Télécom", TECHNICIAN)
    [key] = license_server.issue_keys("250", 1)
    steps.first_run(page, live_app, license_server, token)
    steps.sync_now(page, live_app)
    account = steps.create_account(page, live_app, LONG_NAME, "accueil@thermes.example")
    steps.load_key(page, account, key)
    steps.add_pbx(page, account, "Standard de l'Hôtel-Dieu", SERIAL, firmware="14r1")
    steps.set_quantities(page, {"01-00010-001": 40}, expect_monthly="20.000 iSC")
    steps.queue_licenses(page)
    assert "4 applied" in steps.sync_now(page, live_app)
    license_server.stop()  # on site: offline from here on

    page.goto(account)
    editor = page.get_by_role("link", name="Standard de l'Hôtel-Dieu").first.get_attribute("href")
    page.goto(live_app.url(editor))
    page.wait_for_load_state("load")
    steps.set_quantities(page, {"01-00010-001": 48}, expect_monthly="24.000 iSC")
    steps.queue_licenses(page)

    page.goto(account)
    history = page.locator("[data-testid=history]")
    queued = history.locator("[data-testid=history-queued]")
    expect(queued).to_have_count(1)
    expect(queued).to_contain_text("Licenses of PBX Standard de l'Hôtel-Dieu changed: 01-00010-001: 40 → 48")
    expect(queued).to_contain_text("not yet synced")
    recorded = history.locator("[data-testid=history-event]")
    expect(recorded).to_have_count(4)
    expect(recorded.nth(0)).to_contain_text("Licenses of PBX Standard de l'Hôtel-Dieu changed: 01-00010-001: 0 → 40")
    expect(recorded.nth(1)).to_contain_text(f"PBX Standard de l'Hôtel-Dieu registered in rental mode (serial {SERIAL})")
    expect(recorded.nth(2)).to_contain_text("Activation key loaded: +250.000 iSC")
    expect(recorded.nth(3)).to_contain_text(f"Account created: {LONG_NAME}")
    for row in range(4):
        expect(recorded.nth(row)).to_contain_text(TECHNICIAN)
    # the queued change sits above every recorded event
    assert history.locator("tbody tr").first.get_attribute("data-testid") == "history-queued"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024  # long names and serials wrap
    page.screenshot(path=str(tmp_path / "history-en.png"), full_page=True)

    from app.web.security import fresh_launch_path  # the launch's first secret is spent: a new one-use one

    page_fr.goto(live_app.url(fresh_launch_path(live_app.app)))
    page_fr.goto(account + "/history")
    history_fr = page_fr.locator("[data-testid=history]")
    expect(page_fr.locator("h1")).to_contain_text("Historique de")
    expect(history_fr.locator("[data-testid=history-queued]")).to_contain_text("pas encore synchronisé")
    expect(history_fr.locator("[data-testid=history-queued]")).to_contain_text(
        "Licences du PBX Standard de l'Hôtel-Dieu modifiées : 01-00010-001: 40 → 48")
    expect(history_fr.locator("[data-testid=history-event]").nth(2)).to_contain_text(
        re.compile(r"Clé d’activation chargée : \+250[,.]000 iSC"))
    assert page_fr.evaluate("document.documentElement.scrollWidth") <= 1024
    page_fr.screenshot(path=str(tmp_path / "history-fr.png"), full_page=True)
