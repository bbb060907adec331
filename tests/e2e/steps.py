"""What a technician does, as browser steps: each waits for what the screen shows, never for time."""

from __future__ import annotations

import os
import re
import uuid

from playwright.sync_api import Page, expect

from .conftest import PASSPHRASE


def first_run(page: Page, app, server=None, token: str | None = None) -> None:
    """Open RentDesk from its launch URL and create the store, connected or offline."""
    page.goto(app.launch_url)
    expect(page.locator("h1")).to_be_visible()
    page.fill("#passphrase", PASSPHRASE)
    page.fill("#confirm", PASSPHRASE)
    if server is None:
        page.click("button[value=offline]")
    else:
        page.fill("#server_url", server.url)
        page.fill("#token", token)
        page.click("button[value=online]")
    expect(page).to_have_url(re.compile(r"/accounts/$"))


def french(page: Page, app) -> None:
    """Settings: RentDesk in French."""
    page.goto(app.url("/settings/"))
    page.select_option("#language", "fr")
    page.locator("form[action$='/language'] button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")


def shot(page: Page, name: str) -> None:
    """With RENTDESK_SHOTS_DIR set, the screen as it is now, as NAME.png there (docs/screenshots are made elsewhere)."""
    folder = os.environ.get("RENTDESK_SHOTS_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, name + ".png"), full_page=False)


def sync_now(page: Page, app) -> str:
    """Press Sync now and return the report's text once it shows."""
    page.goto(app.url("/sync/"))  # goto waits for "load": htmx is ready
    page.click("#sync-now")
    report = page.locator("[data-testid=sync-report]")
    expect(report).to_be_visible()
    return report.inner_text()


def create_account(page: Page, app, name: str, email: str, signatory: str = "Claire Martin") -> str:
    """A new account (the customer's signatory accepts the rental terms when the laptop holds some, R26);
    returns its page URL."""
    page.goto(app.url("/accounts/new"))
    page.fill("#name", name)
    page.fill("#contact_email", email)
    if page.locator("[data-testid=terms-acceptance]").count():
        page.check("input[name=terms_accepted]")
        page.fill("#accepted_by", signatory)
    page.click("form.panel button[type=submit]")
    expect(page.locator("h1")).to_contain_text(name)
    return page.url


def load_key(page: Page, account_url: str, key: str) -> None:
    page.goto(account_url)
    page.fill("#key", key)
    page.click("#key-form button[type=submit]")
    expect(page.locator(".notice.ok, #key-error").first).to_be_visible()  # queued (page reloaded) or refused


def add_pbx(page: Page, account_url: str, name: str, serial: str, firmware: str = "13r2", platform: str = "vmware") -> str:
    """Register a rental PBX; returns the PBX page URL (the license editor)."""
    page.goto(account_url)
    page.get_by_role("link", name=re.compile("Add PBX|Ajouter un PBX")).first.click()
    page.fill("#name", name)
    page.fill("#serial", serial)
    page.select_option("#platform", platform)
    page.fill("#firmware", firmware)
    page.click("form.panel button[type=submit]")
    expect(page.locator("#license-editor")).to_be_visible()
    page.wait_for_load_state("load")  # htmx is ready before anything is typed
    return page.url


def set_quantities(page: Page, quantities: dict[str, int], expect_monthly: str | None = None) -> None:
    """Type quantities in the license editor and wait for the preview to show them."""
    for ref, qty in quantities.items():
        page.fill(f"#qty-{ref}", str(qty))
    if expect_monthly:
        expect(page.locator("[data-testid=after-monthly]")).to_have_text(expect_monthly)


def queue_licenses(page: Page) -> None:
    page.click("#license-editor button[type=submit]")
    expect(page.locator(".meter-panel")).to_be_visible()


def customer_with_licenses(page: Page, app, server, token: str, quantities: dict[str, int],
                           expect_monthly: str | None = None) -> tuple[str, str]:
    """A laptop's first run, then a synced account "Hotel du Lac" with a 100 iSC key and the PBX "Reception" renting
    quantities; returns (account URL, PBX URL)."""
    [key] = server.issue_keys("100", 1)
    first_run(page, app, server, token)
    sync_now(page, app)  # the price list
    account = create_account(page, app, "Hotel du Lac", "it@hotel-du-lac.example")
    load_key(page, account, key)
    pbx = add_pbx(page, account, "Reception", "SN-1001")
    set_quantities(page, quantities, expect_monthly=expect_monthly)
    queue_licenses(page)  # at once: the preview typing set off must not cancel the save
    assert "4 applied" in sync_now(page, app)
    return account, pbx


def partner_customer(page: Page, app, server, quantities: dict[str, int],
                     expect_monthly: str | None = None) -> tuple[str, str, str]:
    """Ann of Acme Partner and her laptop's synced customer (customer_with_licenses): (her token, the account URL,
    the PBX URL); the token also serves as a colleague's laptop of the same partner."""
    token = server.add_technician("Acme Partner", "Ann")
    account, pbx = customer_with_licenses(page, app, server, token, quantities, expect_monthly=expect_monthly)
    return token, account, pbx


def another_laptop_sets_licenses(server, token: str, pbx_url: str, items: dict[str, int]) -> None:
    """A colleague's laptop (the partner's token, straight to the API, on the PBX's signed revision) sets the PBX's
    licenses first."""
    account_id, pbx_id = re.search(r"/accounts/([^/]+)/pbx/([^/?#]+)", pbx_url).groups()
    with server.client(token) as client:
        signed = server.keyring.verify_envelope(client.get(f"/accounts/{account_id}").json(), "account")
        [pbx] = [p for p in signed["pbxs"] if p["pbx_id"] == pbx_id]
        op = {"op_id": str(uuid.uuid4()), "kind": "set_licenses", "account_id": account_id, "pbx_id": pbx_id,
              "base_revision": pbx["revision"], "items": items}
        answer = client.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [op]}).json()
    assert server.keyring.verify_envelope(answer["results"][0], "op-result")["status"] == "applied"


def another_laptop_removes_pbx(server, token: str, pbx_url: str) -> None:
    """A colleague's laptop (the partner's token, straight to the API, on the PBX's signed revision) removes the PBX
    first (R19)."""
    account_id, pbx_id = re.search(r"/accounts/([^/]+)/pbx/([^/?#]+)", pbx_url).groups()
    with server.client(token) as client:
        signed = server.keyring.verify_envelope(client.get(f"/accounts/{account_id}").json(), "account")
        [pbx] = [p for p in signed["pbxs"] if p["pbx_id"] == pbx_id]
        _applied(server, client, {"kind": "remove_pbx", "account_id": account_id, "pbx_id": pbx_id,
                                  "base_revision": pbx["revision"]})


def another_laptop_deletes_account(server, token: str, account_url: str) -> None:
    """A colleague's laptop deletes the account first, consenting to forfeit the balance its screen showed (R13)."""
    from rental.money import ticks_to_milli_floor

    account_id = re.search(r"/accounts/([^/?#]+)", account_url)[1]
    with server.client(token) as client:
        signed = server.keyring.verify_envelope(client.get(f"/accounts/{account_id}").json(), "account")
        _applied(server, client, {"kind": "delete_account", "account_id": account_id,
                                  "confirm_forfeit_milli": ticks_to_milli_floor(signed["balance_ticks"])})


def another_laptop_loads_key(server, token: str, account_url: str, credit: str) -> None:
    """A colleague's laptop loads an activation key of `credit` iSC on the account (R11, R17)."""
    account_id = re.search(r"/accounts/([^/?#]+)", account_url)[1]
    [key] = server.issue_keys(credit, 1)
    with server.client(token) as client:
        _applied(server, client, {"kind": "redeem_key", "account_id": account_id, "key": key})


def _applied(server, client, op: dict) -> None:
    """One op of another laptop (its own op id and client id), which the server must apply."""
    answer = client.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [{"op_id": str(uuid.uuid4()), **op}]})
    result = server.keyring.verify_envelope(answer.json()["results"][0], "op-result")
    assert result["status"] == "applied", result


def another_laptop_edits_account(server, token: str, account_url: str, **fields) -> None:
    """A colleague's laptop (the partner's token, straight to the API, on the account's signed revision) edits the
    account's fields first (e.g. auto_reload_days, R24)."""
    account_id = re.search(r"/accounts/([^/?#]+)", account_url)[1]
    with server.client(token) as client:
        signed = server.keyring.verify_envelope(client.get(f"/accounts/{account_id}").json(), "account")
        op = {"op_id": str(uuid.uuid4()), "kind": "update_account", "account_id": account_id,
              "base_revision": signed["revision"], **fields}
        answer = client.post("/sync", json={"client_id": str(uuid.uuid4()), "ops": [op]}).json()
    assert server.keyring.verify_envelope(answer["results"][0], "op-result")["status"] == "applied"
