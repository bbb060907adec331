"""Render each main screen with demo data in headless Chromium into docs/screenshots/ (`make screenshots`).

A real license server (demo key, demo price list) and the real app run on 127.0.0.1 with a
shared fake clock; a technician's work is played through the browser, then each screen is
captured at 1024×768, the smallest size the app is designed for.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e import steps  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveApp  # noqa: E402
from tests.support.license_server import LiveLicenseServer  # noqa: E402

DAY = 86_400
HOUR = 3_600


def shoot(page, out: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")  # sticky panels (the editor's summary) drawn where a reader starts
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rentdesk-shots-") as tmp, sync_playwright() as playwright:
        server = LiveLicenseServer(Path(tmp) / "server").start()
        skew = {"s": 0}  # the laptop's clock against the server's: set back at the end, to show the banner
        app = LiveApp(Path(tmp) / "home", lambda: server.clock() + skew["s"])
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(locale="en-US", viewport={"width": 1024, "height": 768})
            page = context.new_page()
            token = server.add_technician("Alpine Telecom", "Ann Technician")
            keys = server.issue_keys("250", 3) + server.issue_keys("12", 1)
            server.publish_terms()  # the demo rental terms (R26), English and French

            page.goto(app.launch_url)
            page.fill("#passphrase", "Tall-Green-Ladder-42")
            page.wait_for_timeout(400)  # let the strength hint answer (a picture, not a test)
            shoot(page, out, "01-first-run")
            steps.first_run(page, app, server, token)
            steps.sync_now(page, app)

            hotel = steps.create_account(page, app, "Hotel du Lac", "it@hotel-du-lac.example")
            steps.load_key(page, hotel, keys[0])
            reception = steps.add_pbx(page, hotel, "Reception", "IPVA-7F21", firmware="14r1")
            steps.set_quantities(page, {"01-00010-001": 40, "01-00020-001": 12, "01-00037-001": 40,
                                        "01-00039-001": 60}, expect_monthly="58.000 iSC")
            steps.queue_licenses(page)
            page.goto(hotel)  # R24: a key held for automatic reload, 28 days before the credit runs out
            page.fill("#deposit_key", keys[2])
            page.click("#deposit-form button[type=submit]")
            page.select_option("#auto_reload_days", "28")
            page.click("#reload-form button[type=submit]")
            clinic = steps.create_account(page, app, "Clinique Saint-Roch", "dsi@saint-roch.example")
            steps.load_key(page, clinic, keys[1])
            steps.add_pbx(page, clinic, "Main building", "IPVA-11C0", firmware="13r2sr5", platform="hyper-v")
            steps.set_quantities(page, {"01-00010-001": 120, "01-00036-001": 30, "01-00034-001": 8},
                                 expect_monthly="94.000 iSC")
            steps.queue_licenses(page)
            bakery = steps.create_account(page, app, "Boulangerie Martin", "contact@martin.example")
            steps.load_key(page, bakery, keys[3])
            steps.add_pbx(page, bakery, "Shop", "IPVA-0042", firmware="13r1")
            steps.set_quantities(page, {"01-00010-001": 6, "01-00020-001": 2}, expect_monthly="5.500 iSC")
            steps.queue_licenses(page)
            steps.sync_now(page, app)
            server.clock.advance(40 * DAY)  # time passes: balances drop, the bakery runs low
            steps.sync_now(page, app)  # the ledgers come back: statements have rows
            steps.create_account(page, app, "Garage Roux", "atelier@roux.example")  # created offline, pending

            page.goto(app.url("/accounts/"))
            shoot(page, out, "02-accounts")

            page.goto(reception)  # a change waiting for the next sync: the dashed line
            steps.set_quantities(page, {"01-00010-001": 48, "01-00021-001": 6}, expect_monthly="68.000 iSC")
            steps.queue_licenses(page)
            page.goto(hotel)
            shoot(page, out, "03-account")
            page.goto(hotel + "/history")  # R25: the queued change on top, then what the server recorded
            shoot(page, out, "16-history")

            page.goto(reception)
            page.fill("#qty-01-00500-001", "2")  # a hardware license: R2 next to the item
            page.locator("[id='problems-01-00500-001'] .problem").wait_for()
            page.wait_for_timeout(500)
            shoot(page, out, "04-license-editor")

            page.goto(app.url("/sync/"))
            shoot(page, out, "05-sync")
            page.goto(reception)  # back to a valid configuration, then sync: the server settles (R25 rows)
            page.fill("#qty-01-00500-001", "0")
            steps.queue_licenses(page)
            steps.sync_now(page, app)
            page.goto(app.url("/prices/"))
            shoot(page, out, "06-price-list")
            page.goto(app.url("/settings/"))
            shoot(page, out, "07-settings")
            page.goto(hotel + "/statement")
            shoot(page, out, "08-statement")
            page.goto(hotel + "/delete")
            shoot(page, out, "09-delete")
            page.goto(app.url("/rental/"))
            shoot(page, out, "14-software-rental")
            page.goto(app.url("/accounts/new"))
            page.fill("#name", "Pharmacie Durand")
            page.fill("#contact_email", "contact@pharmacie-durand.example")
            page.locator("[data-testid=terms-acceptance] summary").click()
            page.check("input[name=terms_accepted]")
            page.fill("#accepted_by", "Hélène Durand")
            shoot(page, out, "15-new-account-terms")

            # R6: voicemail reduced, synced, and restored two days later: "I understand" before it is queued
            server.clock.advance(HOUR)
            page.goto(reception)
            steps.set_quantities(page, {"01-00037-001": 20}, expect_monthly="64.000 iSC")
            steps.queue_licenses(page)
            steps.sync_now(page, app)
            server.clock.advance(2 * DAY)
            page.goto(reception)
            steps.set_quantities(page, {"01-00037-001": 40}, expect_monthly="68.000 iSC")
            page.click("#license-editor button[type=submit]")
            page.get_by_label("I understand the warning above and want to queue this change").wait_for()
            shoot(page, out, "12-r6-confirm")
            page.get_by_label("I understand the warning above and want to queue this change").check()
            steps.queue_licenses(page)

            context_fr = browser.new_context(locale="fr-FR", viewport={"width": 1024, "height": 768})
            page_fr = context_fr.new_page()
            from app.web.security import fresh_launch_path  # the launch's first secret is spent: a new one-use one

            page_fr.goto(app.url(fresh_launch_path(app.app)))
            page_fr.goto(hotel)
            shoot(page_fr, out, "10-account-fr")
            page_fr.goto(hotel + "/history")
            shoot(page_fr, out, "17-history-fr")
            page_fr.goto(app.url("/accounts/"))  # the list's rows, worded in one pass in Python (issue 27)
            shoot(page_fr, out, "20-accounts-fr")
            skew["s"] = -3 * DAY  # someone set the laptop's clock back: noticed, shown, nothing un-charged
            steps.sync_now(page, app)  # the R6 restore is applied, with the server's warning
            page.goto(app.url("/sync/"))
            page.locator("[data-testid=clock-notice]").first.wait_for()
            shoot(page, out, "13-sync-clock-and-r6")
            page.goto(app.url("/settings/"))
            page.click("form[action$='/lock'] button")
            page.wait_for_url("**/unlock")
            shoot(page, out, "11-unlock")
            context_fr.close()
            context.close()
        finally:
            browser.close()
            app.stop()
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
