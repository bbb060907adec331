"""A technician's day in the real app, in Chromium, against a real license server on 127.0.0.1."""

from __future__ import annotations


from playwright.sync_api import expect

from rental.signing import SigningKey

from . import steps

IP_PORT = "01-00010-001"  # 0.500 iSC per month
UC = "01-00020-001"  # 1.250 iSC per month
HARDWARE = "01-00500-001"  # never rentable (R2)


def test_a_day_online_then_offline_then_synced_applies_every_change(page, live_app, license_server):
    token = license_server.add_technician("Acme Partner", "Ann")
    [key] = license_server.issue_keys("100", 1)
    steps.first_run(page, live_app, license_server, token)
    assert "Sync complete" in steps.sync_now(page, live_app)  # the price list arrives

    account = steps.create_account(page, live_app, "Hotel du Lac", "it@hotel-du-lac.example")
    steps.load_key(page, account, key)
    expect(page.locator(".meter-panel")).to_contain_text("+100.000 iSC not yet confirmed")
    steps.add_pbx(page, account, "Reception", "SN-1001")
    steps.set_quantities(page, {IP_PORT: 20}, expect_monthly="10.000 iSC")
    steps.queue_licenses(page)
    report = steps.sync_now(page, live_app)
    assert "4 changes sent" in report and "4 applied" in report

    page.goto(account)
    expect(page.locator("h1 .badge")).to_have_text("active")
    expect(page.locator("[data-testid=balance]")).to_have_text("100.000 iSC")
    expect(page.locator("[data-testid=monthly]")).to_have_text("10.000 iSC")

    license_server.stop()  # the server goes away; work goes on
    license_server.clock.advance(3600)
    pbx = page.locator("#pbxs table a", has_text="Reception").get_attribute("href")
    page.goto(live_app.url(pbx))
    steps.set_quantities(page, {IP_PORT: 24, UC: 4}, expect_monthly="17.000 iSC")
    steps.queue_licenses(page)
    steps.add_pbx(page, account, "Annex", "SN-1002", firmware="14r1")
    report = steps.sync_now(page, live_app)
    assert "did not complete" in report
    expect(page.locator("#sync-result")).to_contain_text("Set licenses")
    expect(page.locator("#sync-result")).to_contain_text("Add PBX")

    license_server.start()  # back online
    report = steps.sync_now(page, live_app)
    assert "2 changes sent" in report and "2 applied" in report
    expect(page.locator("#sync-result")).to_contain_text("Nothing is waiting")
    page.goto(account)
    expect(page.locator("[data-testid=monthly]")).to_have_text("17.000 iSC")
    expect(page.locator("#pbxs table")).to_contain_text("Annex")


def test_a_rule_violation_shows_inline_next_to_its_item_and_nothing_is_queued(page, live_app, license_server):
    token = license_server.add_technician()
    steps.first_run(page, live_app, license_server, token)
    steps.sync_now(page, live_app)
    account = steps.create_account(page, live_app, "Bistro", "chef@bistro.example")
    steps.add_pbx(page, account, "Kitchen", "SN-7")
    page.fill(f"#qty-{HARDWARE}", "1")
    row = page.locator("tr.item-row", has=page.locator(f"#qty-{HARDWARE}"))
    expect(row.locator(".problem")).to_contain_text("R2")
    expect(row.locator(".problem")).to_contain_text("hardware license")
    page.fill(f"#qty-{HARDWARE}", "0")
    page.fill(f"#qty-{IP_PORT}", "10")
    expect(page.locator(".editor-summary")).to_contain_text("R14")  # no credit for 30 days yet
    expect(page.locator(".editor-summary")).to_contain_text("Load at least 4.929 iSC more")
    page.click("#license-editor button[type=submit]", force=True)  # disabled: a forced press sends nothing
    expect(page.locator(".editor-summary")).to_contain_text("R14")
    page.goto(live_app.url("/sync/"))
    expect(page.locator("#sync-result")).not_to_contain_text("Set licenses")


def test_a_forged_activation_key_is_refused_with_its_message(page, live_app, license_server):
    forger = SigningKey.generate("demo")  # same kid, another private key
    forged = forger.issue_key(500_000, license_server.clock())
    steps.first_run(page, live_app)
    account = steps.create_account(page, live_app, "Garage Martin", "atelier@martin.example")
    steps.load_key(page, account, forged)
    error = page.locator("#key-error")
    expect(error).to_have_attribute("data-rule", "key-invalid")  # a code, not a rule of the guide: no "why?"
    expect(error).to_contain_text("This key is not genuine or was mistyped")
    expect(page.locator(".meter-panel")).not_to_contain_text("not yet confirmed")


def test_credit_running_out_shows_the_account_suspended(page, live_app, license_server):
    token = license_server.add_technician()
    [key] = license_server.issue_keys("10", 1)
    steps.first_run(page, live_app, license_server, token)
    steps.sync_now(page, live_app)
    account = steps.create_account(page, live_app, "Cabinet Roux", "contact@roux.example")
    steps.load_key(page, account, key)
    steps.add_pbx(page, account, "Office", "SN-9")
    steps.set_quantities(page, {IP_PORT: 10}, expect_monthly="5.000 iSC")
    steps.queue_licenses(page)
    assert "applied" in steps.sync_now(page, live_app)
    license_server.clock.advance(70 * 86_400)  # 10 iSC at 5 iSC a month last about 61 days
    license_server.sweep()
    page.goto(account)
    expect(page.locator("h1 .badge")).to_have_text("suspended")
    expect(page.locator(".meter-panel")).to_contain_text("R18")
    steps.sync_now(page, live_app)
    page.goto(live_app.url("/accounts/"))
    expect(page.locator("#account-list")).to_contain_text("suspended")


def test_the_french_ui_end_to_end_follows_the_system_language(page_fr, live_app, license_server):
    page = page_fr
    token = license_server.add_technician("Partenaire", "Léa")
    [key] = license_server.issue_keys("1234.5", 1)
    page.goto(live_app.launch_url)
    expect(page.locator("h1")).to_have_text("Bienvenue dans RentDesk")
    page.fill("#passphrase", "abc")
    expect(page.locator("#strength-text")).to_have_text("Trop courte : au moins 8 caractères.")
    steps.first_run(page, live_app, license_server, token)
    expect(page.locator("nav")).to_contain_text("Comptes")
    assert "Synchronisation terminée" in steps.sync_now(page, live_app)

    page.goto(live_app.url("/accounts/new"))
    page.fill("#name", "Hôtel des Alpes")
    page.fill("#contact_email", "accueil@alpes.example")
    page.click("form.panel button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Hôtel des Alpes")
    account = page.url
    steps.load_key(page, account, key)
    expect(page.locator(".meter-panel")).to_contain_text("+1\u00a0234,500 iSC pas encore confirmés")
    page.get_by_role("link", name="Ajouter un PBX").first.click()
    page.fill("#name", "Accueil")
    page.fill("#serial", "SN-FR-1")
    page.fill("#firmware", "12r1")  # R1 refuses it, in French
    page.click("form.panel button[type=submit]")
    expect(page.locator("#firmware-error")).to_contain_text("R1")
    expect(page.locator("#firmware-error")).to_contain_text("antérieur à 13r1")
    page.fill("#firmware", "14r2sr3")
    page.click("form.panel button[type=submit]")
    expect(page.locator("#license-editor")).to_contain_text("Avant de mettre en attente")
    page.wait_for_load_state("load")  # htmx is ready before anything is typed
    page.fill(f"#qty-{HARDWARE}", "1")
    row = page.locator("tr.item-row", has=page.locator(f"#qty-{HARDWARE}"))
    expect(row.locator(".problem")).to_contain_text("licence matérielle")
    page.fill(f"#qty-{HARDWARE}", "0")
    steps.set_quantities(page, {UC: 8}, expect_monthly="10,000 iSC")
    steps.queue_licenses(page)
    report = steps.sync_now(page, live_app)
    assert "4 changements envoyés" in report and "4 appliqués" in report
    page.goto(account)
    expect(page.locator("h1 .badge")).to_have_text("actif")
    expect(page.locator("[data-testid=balance]")).to_have_text("1\u00a0234,500 iSC")
    expect(page.locator("[data-testid=runtime]")).to_contain_text("jours")
