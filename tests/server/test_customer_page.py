"""The customer's own page (R27): a private link derived per account, renewable; the page as of the server's now;
the customer's two actions (load a key R11, end a PBX's rent R19) through the op path, recorded `by: "customer"`;
safe by default (plain 404, 429 per address, CSRF 400). SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from license_server import admin, links, models
from rental.money import format_milli
from sqlalchemy import select

from .helpers import DAY, IP_PORT, UC

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

PUBLIC = "https://licenses.example.com"


@pytest.fixture
def settings() -> dict:
    return {"PUBLIC_URL": PUBLIC + "/", "TOKEN_GUESS_LIMIT": 5, "TOKEN_GUESS_WINDOW_S": 300}


@pytest.fixture
def web(app):
    return app.test_client()


def token_of(url: str) -> str:
    assert url.startswith(PUBLIC + "/customer/"), url
    return url.rsplit("/", 1)[1]


def current_token(ctx, account_id: str) -> str:
    with ctx.engine.connect() as connection:
        row = connection.execute(select(models.accounts).where(models.accounts.c.id == account_id)).mappings().one()
    return token_of(links.current_url(ctx, dict(row)))


def csrf_and_op(html: str) -> dict:
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
            "op_id": re.search(r'name="op_id" value="([^"]+)"', html).group(1)}


def text(html: str) -> str:
    """The page's words without tags, spaces collapsed (what a reader sees)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#34;", '"').replace("&#39;", "'")


def renew_by_api(api, account_id: str) -> tuple[int, dict]:
    return api.call("POST", f"/accounts/{account_id}/customer-link")


# --------------------------------------------------------------------------- the link's life


def test_an_account_has_a_link_from_its_creation_that_opens_its_page(api, ctx, web, clock):
    account_id = api.running_account("100")
    payload = api.account(account_id)
    assert payload["customer_link_at"] == clock.now  # made with the account
    token = current_token(ctx, account_id)
    assert len(token) >= 43 and len(links.account_of(token) or "") == 36  # ≥ 32 bytes of MAC in it
    response = web.get(f"/customer/{token}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Boulangerie Émile" in html
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_renewing_by_the_api_stops_the_old_link_at_once_and_tells_the_app_when(api, ctx, web, clock):
    account_id = api.running_account("100")
    old = current_token(ctx, account_id)
    revision = api.account(account_id)["revision"]
    clock.advance(3600)
    status, body = renew_by_api(api, account_id)
    assert status == 200, body
    new = token_of(body["url"])
    assert new != old and new == current_token(ctx, account_id)
    assert web.get(f"/customer/{old}").status_code == 404
    assert web.get(f"/customer/{new}").status_code == 200
    payload = api.account(account_id)
    assert payload["customer_link_at"] == clock.now == body["customer_link_at"]
    assert payload["revision"] == revision + 1  # the app refuses older snapshots: a change is a new revision
    events = api.call("GET", f"/accounts/{account_id}/history")[1]["events"]
    assert (events[0]["kind"], events[0]["technician"], events[0]["by"]) == ("customer-link", "Ann", "technician")


def test_another_partners_account_cannot_get_a_link(api, rival):
    account_id = api.new_account()
    status, body = renew_by_api(rival, account_id)
    assert (status, body["error"]) == (404, "not-found")


def test_without_public_url_the_api_says_so_and_nothing_changes(api, ctx, web):
    ctx.settings.values["PUBLIC_URL"] = None
    try:
        account_id = api.new_account()
        before = api.account(account_id)
        status, body = renew_by_api(api, account_id)
        assert (status, body["error"]) == (409, "no-public-url")
        assert api.account(account_id)["revision"] == before["revision"]
    finally:
        ctx.settings.values["PUBLIC_URL"] = PUBLIC


def test_the_cli_prints_a_new_link_and_exits_2_without_public_url(app, api, ctx, web):
    account_id = api.new_account()
    old = current_token(ctx, account_id)
    result = app.test_cli_runner().invoke(args=["customer-link", account_id])
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url == f"{PUBLIC}/customer/{current_token(ctx, account_id)}"
    assert web.get(f"/customer/{old}").status_code == 404
    assert web.get(f"/customer/{token_of(url)}").status_code == 200
    ctx.settings.values["PUBLIC_URL"] = None
    try:
        result = app.test_cli_runner().invoke(args=["customer-link", account_id])
        assert result.exit_code == 2
        assert "PUBLIC_URL" in result.output
    finally:
        ctx.settings.values["PUBLIC_URL"] = PUBLIC


def test_a_link_is_the_same_in_every_process_and_depends_on_the_secret(ctx, api):
    account_id = api.new_account()
    assert links.token_for(ctx.link_secret, account_id, 0) == links.token_for(ctx.link_secret, account_id, 0)
    assert links.token_for(b"x" * 32, account_id, 0) != links.token_for(ctx.link_secret, account_id, 0)
    assert links.token_for(ctx.link_secret, account_id, 1) != links.token_for(ctx.link_secret, account_id, 0)


# --------------------------------------------------------------------------- safe by default


def test_a_wrong_or_forged_token_is_the_same_plain_404_naming_nothing(api, ctx, web):
    account_id = api.running_account("100")
    good = current_token(ctx, account_id)
    forged = good[:-4] + ("AAAA" if good[-4:] != "AAAA" else "BBBB")  # the right account id, a wrong MAC
    bodies = set()
    for token in (forged, "nothing-like-a-token", "A" * 64):
        response = web.get(f"/customer/{token}")
        assert response.status_code == 404
        bodies.add(response.get_data(as_text=True))
    assert len(bodies) == 1
    [body] = bodies
    assert "Émile" not in body and "Acme" not in body and account_id not in body


def test_a_deleted_accounts_link_is_404(api, ctx, web):
    account_id = api.new_account()
    token = current_token(ctx, account_id)
    api.applied(api.op("delete_account", account_id, confirm_forfeit_milli=0))
    assert web.get(f"/customer/{token}").status_code == 404
    assert api.account(account_id)["customer_link_at"] is None
    status, body = renew_by_api(api, account_id)
    assert (status, body["error"]) == (409, "account-deleted")


def test_guessing_is_throttled_per_address_and_the_good_link_waits_too(api, ctx, web, clock):
    account_id = api.new_account()
    good = current_token(ctx, account_id)
    for _ in range(5):
        assert web.get("/customer/" + "B" * 64).status_code == 404
    throttled = web.get(f"/customer/{good}")
    assert throttled.status_code == 429  # the token is not even looked at
    assert int(throttled.headers["Retry-After"]) > 0
    other = web.get(f"/customer/{good}", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200  # per address
    clock.advance(301)
    assert web.get(f"/customer/{good}").status_code == 200


def test_every_form_needs_its_csrf_token(api, ctx, web, keyring):
    account_id = api.running_account("100")
    token = current_token(ctx, account_id)
    [key] = admin.issue_keys(ctx, 5_000, 1)
    before = api.account(account_id)["balance_ticks"]
    assert web.post(f"/customer/{token}/keys", data={"key": key}).status_code == 400
    assert web.post(f"/customer/{token}/keys", data={"key": key, "csrf_token": "1.abc"}).status_code == 400
    assert web.post(f"/customer/{token}/pbxs/pbx-1/end", data={}).status_code == 400
    assert api.account(account_id)["balance_ticks"] == before
    assert api.account(account_id)["pbxs"][0]["licenses"]


def test_no_third_party_asset_and_the_page_says_what_it_shows(api, ctx, web):
    account_id = api.running_account("100")
    html = web.get(f"/customer/{current_token(ctx, account_id)}").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html
    assert "Do not share its link" in text(html)
    assert "This private page shows your rental account" in text(html)
    with web.get("/customer-assets/customer.css") as css:
        assert css.status_code == 200 and css.mimetype == "text/css"


# --------------------------------------------------------------------------- what the page shows


def test_the_page_shows_the_figures_as_of_the_servers_now(api, ctx, web, clock):
    account_id = api.running_account("100", items={IP_PORT: 10})  # 5 iSC a month
    clock.advance(10 * DAY)
    payload = api.account(account_id)
    html = text(web.get(f"/customer/{current_token(ctx, account_id)}").get_data(as_text=True))
    assert f"Balance {format_milli(payload['balance_ticks'] // 31_557_600)}" in html
    assert "Monthly consumption 5.000 iSC" in html
    assert "Daily consumption 0.164 iSC" in html  # 5 iSC × 86,400 / 2,629,800, rounded down (R16)
    assert "Main office" in html and "IP port license (per device) 01-00010-001 10 5.000 iSC" in html
    assert "Acme Telecom is your partner for iSC" in html


def test_the_runtime_has_the_apps_urgency_colour(api, ctx, web, clock):
    account_id = api.running_account("10", items={IP_PORT: 10})  # 2 months of credit
    token = current_token(ctx, account_id)
    assert 'urgency-ok" data-testid="runtime"' in web.get(f"/customer/{token}").get_data(as_text=True)
    clock.set(api.account(account_id)["depletes_at"] - 20 * DAY)
    assert 'urgency-warn" data-testid="runtime"' in web.get(f"/customer/{token}").get_data(as_text=True)
    clock.set(api.account(account_id)["depletes_at"] - 3 * DAY)
    assert 'urgency-danger" data-testid="runtime"' in web.get(f"/customer/{token}").get_data(as_text=True)


def test_the_statement_of_a_period_adds_up_and_comes_as_csv(api, ctx, web, clock):
    account_id = api.running_account("100", items={IP_PORT: 10, UC: 1})
    clock.advance(3 * DAY + 1234)
    token = current_token(ctx, account_id)
    html = web.get(f"/customer/{token}").get_data(as_text=True)
    amounts = [int(a.replace(".", "")) for a in re.findall(
        r'<td class="num">([\d.]+) iSC</td></tr>', html.split('data-testid="statement"')[1].split("</tbody>")[0])]
    charged = int(re.search(r'data-testid="charged">([\d.]+) iSC', html).group(1).replace(".", ""))
    assert amounts and sum(amounts) == charged  # the lines add up to the total shown
    csv_text = web.get(f"/customer/{token}/statement.csv").get_data(as_text=True)
    assert "Statement,Boulangerie Émile" in csv_text
    assert f"Charged,,,,,,{charged // 1000}.{charged % 1000:03d}" in csv_text


def test_a_removed_pbxs_statement_lines_name_it_as_its_removal_did_not_by_its_id(api, ctx, web, clock):
    """R25: the period's lines of a PBX removed since (R19) say which PBX they were; the account lists it no more."""
    account_id = api.running_account("100", items={IP_PORT: 10})
    clock.advance(DAY)
    api.applied(api.op("remove_pbx", account_id, pbx_id="pbx-1", base_revision=api.pbx_revision(account_id)))
    token = current_token(ctx, account_id)
    statement = text(web.get(f"/customer/{token}").get_data(as_text=True).split('data-testid="statement"')[1]
                     .split("</tbody>")[0])
    assert "Main office" in statement and "pbx-1" not in statement
    assert "Main office" in web.get(f"/customer/{token}/statement.csv").get_data(as_text=True)


@pytest.mark.parametrize("language, words", [("en", "Choose a day before 9999-12-31."),
                                             ("fr", "Choisissez un jour avant le 9999-12-31.")])
@pytest.mark.parametrize("query", ["?end=9999-12-31", "?start=9999-12-31&end=9999-12-31"])
def test_a_period_ending_on_the_last_day_a_calendar_holds_is_said_not_a_server_error(api, ctx, web, query, language,
                                                                                    words):
    """The statement's period ends the day after its last day: 9999-12-31 has none (OverflowError, a 500 in JSON
    on the customer's HTML page). The field says what to choose and the default period is shown, CSV too (R25)."""
    token = current_token(ctx, api.running_account("100", language=language))
    page = web.get(f"/customer/{token}{query}")
    assert page.status_code == 200
    assert words in text(page.get_data(as_text=True))
    download = web.get(f"/customer/{token}/statement.csv{query}")
    assert download.status_code == 200 and download.mimetype == "text/csv"


def test_the_history_and_the_accepted_terms_are_shown(api, ctx, web, clock):
    account_id = api.running_account("100")
    html = text(web.get(f"/customer/{current_token(ctx, account_id)}").get_data(as_text=True))
    assert "Activation key loaded: +100.000 iSC" in html
    assert "by Ann (Acme Telecom)" in html
    assert "opened before the vendor published rental terms" in html


def test_a_french_account_gets_its_page_in_french(api, ctx, web):
    account_id = api.running_account("100", language="fr")
    html = text(web.get(f"/customer/{current_token(ctx, account_id)}").get_data(as_text=True))
    assert "Solde 100,000 iSC" in html and "Consommation mensuelle 5,000 iSC" in html
    assert "Ne partagez pas" in html
    assert '<html lang="fr">' in web.get(f"/customer/{current_token(ctx, account_id)}").get_data(as_text=True)


# --------------------------------------------------------------------------- the customer's actions


def test_the_customer_loads_a_key_recorded_as_theirs(api, ctx, web, keyring):
    account_id = api.running_account("100")
    token = current_token(ctx, account_id)
    page = web.get(f"/customer/{token}").get_data(as_text=True)
    [key] = admin.issue_keys(ctx, 25_000, 1)
    before = api.account(account_id)["balance_ticks"]
    response = web.post(f"/customer/{token}/keys", data={"key": key, **csrf_and_op(page)})
    assert response.status_code == 200
    assert "Activation key loaded: +25.000 iSC." in text(response.get_data(as_text=True))
    assert api.account(account_id)["balance_ticks"] == before + 25_000 * 31_557_600
    events = api.call("GET", f"/accounts/{account_id}/history")[1]["events"]
    assert (events[0]["kind"], events[0]["by"], events[0]["technician"]) == ("key-loaded", "customer", None)
    older = [e for e in events if e["kind"] == "key-loaded"][-1]
    assert (older["by"], older["technician"]) == ("technician", "Ann")


def test_a_form_sent_twice_loads_once(api, ctx, web):
    account_id = api.running_account("100")
    token = current_token(ctx, account_id)
    form = csrf_and_op(web.get(f"/customer/{token}").get_data(as_text=True))
    [key] = admin.issue_keys(ctx, 25_000, 1)
    before = api.account(account_id)["balance_ticks"]
    for _ in range(2):  # the same op_id: the stored result is answered again, nothing is applied twice
        response = web.post(f"/customer/{token}/keys", data={"key": key, **form})
        assert "Activation key loaded: +25.000 iSC." in text(response.get_data(as_text=True))
    assert api.account(account_id)["balance_ticks"] == before + 25_000 * 31_557_600


def test_a_pasted_text_longer_than_a_key_is_refused_with_the_limit_said_never_cut_by_the_page(api, ctx, web):
    """The key box has no maxlength (a browser cuts a pasted text there without a word): a text past the limit is
    refused by the server, which says the limit, and nothing is loaded."""
    account_id = api.running_account("100")
    token = current_token(ctx, account_id)
    page = web.get(f"/customer/{token}").get_data(as_text=True)
    assert "maxlength" not in re.search(r'<textarea id="key"[^>]*>', page).group(0)
    [key] = admin.issue_keys(ctx, 25_000, 1)
    before = api.account(account_id)["balance_ticks"]
    response = web.post(f"/customer/{token}/keys", data={"key": key + " (copied from the order confirmation)" * 8,
                                                          **csrf_and_op(page)})
    assert response.status_code == 200
    error = re.search(r'data-testid="key-error">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert "at most 300 characters" in error
    assert api.account(account_id)["balance_ticks"] == before


@pytest.mark.parametrize("language, used, forged", [
    ("en", "redeemed before", "not genuine"),
    ("fr", "déjà", "authentique"),
])
def test_a_refused_key_re_renders_the_page_with_the_technicians_reason(api, ctx, web, language, used, forged):
    account_id = api.running_account("100", language=language)
    token = current_token(ctx, account_id)
    [key] = admin.issue_keys(ctx, 25_000, 1)
    api.redeem(api.new_account(), key)  # used elsewhere
    form = csrf_and_op(web.get(f"/customer/{token}").get_data(as_text=True))
    response = web.post(f"/customer/{token}/keys", data={"key": key, **form})
    assert response.status_code == 200
    error = re.search(r'data-testid="key-error">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert used in error.replace("&#39;", "'")
    form = csrf_and_op(response.get_data(as_text=True))
    tampered = key[:-3] + ("AAA" if not key.endswith("AAA") else "BBB")
    response = web.post(f"/customer/{token}/keys", data={"key": tampered, **form})
    error = re.search(r'data-testid="key-error">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert error  # forged or unreadable: the core's reason, in the account's language
    events = api.call("GET", f"/accounts/{account_id}/history")[1]["events"]
    assert all(e["by"] != "customer" for e in events)  # a refusal records nothing


def test_a_key_too_small_to_resume_says_how_much_more(api, ctx, web, clock):
    account_id = api.running_account("10", items={IP_PORT: 10})
    clock.set(api.account(account_id)["depletes_at"] + DAY)
    token = current_token(ctx, account_id)
    html = web.get(f"/customer/{token}").get_data(as_text=True)
    assert 'data-testid="resume-needs"' in html
    [key] = admin.issue_keys(ctx, 1, 1)  # 0.001 iSC: credited, does not resume (R18)
    response = web.post(f"/customer/{token}/keys", data={"key": key, **csrf_and_op(html)})
    page = text(response.get_data(as_text=True))
    assert "Activation key loaded: +0.001 iSC." in page
    needs = api.account(account_id)["resume_needs_milli"]
    assert f"{format_milli(needs)}" in page and api.account(account_id)["status"] == "suspended"


def test_the_customer_ends_a_pbxs_rent_after_a_confirmation_naming_the_second(api, ctx, web, clock):
    account_id = api.running_account("100", items={IP_PORT: 10})
    token = current_token(ctx, account_id)
    page = web.get(f"/customer/{token}").get_data(as_text=True)
    assert f'href="/customer/{token}/pbxs/pbx-1/end"' in page
    confirm = web.get(f"/customer/{token}/pbxs/pbx-1/end").get_data(as_text=True)
    assert "Nothing is charged for Main office from the second you confirm." in text(confirm)
    clock.advance(3 * 3600 + 17)  # the customer read the confirmation for a while
    response = web.post(f"/customer/{token}/pbxs/pbx-1/end", data=csrf_and_op(confirm) | {
        "base_revision": re.search(r'name="base_revision" value="(\d+)"', confirm).group(1)})
    assert response.status_code == 200
    ended_at = clock.now
    assert "nothing is charged for it from" in text(response.get_data(as_text=True))
    payload = api.account(account_id)
    assert payload["pbxs"][0]["licenses"] == [] and payload["status"] == "idle"
    balance = payload["balance_ticks"]
    clock.advance(30 * DAY)
    assert api.account(account_id)["balance_ticks"] == balance  # from that second nothing is charged (R19)
    charges = [r for r in api.ledger_rows(account_id) if r["kind"] == "charge"]
    assert max(r["period_end"] for r in charges) == ended_at
    events = api.call("GET", f"/accounts/{account_id}/history")[1]["events"]
    assert (events[0]["kind"], events[0]["by"], events[0]["technician"]) == ("licenses-changed", "customer", None)


def test_ending_a_rent_the_technician_changed_meanwhile_ends_nothing(api, ctx, web):
    account_id = api.running_account("100", items={IP_PORT: 10})
    token = current_token(ctx, account_id)
    confirm = web.get(f"/customer/{token}/pbxs/pbx-1/end").get_data(as_text=True)
    assert api.set_licenses(account_id, {IP_PORT: 12})["status"] == "applied"
    response = web.post(f"/customer/{token}/pbxs/pbx-1/end", data=csrf_and_op(confirm) | {
        "base_revision": re.search(r'name="base_revision" value="(\d+)"', confirm).group(1)})
    assert "was changed by your partner in the meantime" in text(response.get_data(as_text=True))
    assert api.account(account_id)["pbxs"][0]["licenses"][0]["qty"] == 12


def test_the_link_of_one_account_acts_on_no_other(api, ctx, web):
    mine = api.running_account("100")
    theirs = api.running_account("100", name="Other")
    token = current_token(ctx, mine)
    assert web.get(f"/customer/{token}/pbxs/nope/end").status_code == 404
    form = csrf_and_op(web.get(f"/customer/{current_token(ctx, theirs)}").get_data(as_text=True))
    response = web.post(f"/customer/{token}/pbxs/pbx-1/end", data=form)
    assert response.status_code == 400  # another account's form token is no token here
    assert api.account(theirs)["pbxs"][0]["licenses"]


def test_a_reload_not_yet_swept_is_re_rated_on_the_page_at_the_list_in_force_at_its_second_R24_R25(
        api, ctx, web, clock):
    """The page, like every answer, applies a reload whose second has passed at the list published at or before
    that second (R24), even when newer lists came after it: its balance is the signed account's and its statement
    charges what the server's ledger charges, to the milli-iSC (R25)."""
    account_id = api.running_account("10")  # ~60.9 days of 10 IP ports at 500 milli-iSC a month
    started = clock.now
    api.sync(api.op("update_account", account_id, auto_reload_days=28))
    [key] = admin.issue_keys(ctx, 5_000, 1)
    assert api.sync(api.op("deposit_key", account_id, key=key)).result["status"] == "applied"
    reload_at = api.account(account_id)["reload_at"]
    for version, factor, at in (("2099-02", 2, reload_at - DAY), ("2099-03", 3, reload_at + DAY)):
        clock.set(at)
        prices = admin.demo_pricelist()
        prices["version"] = version
        for item in prices["items"]:
            item["monthly_milli"] *= factor
        admin.publish_prices(ctx, prices)
    clock.set(reload_at + 2 * DAY)  # no sweep: the reload is applied by the answers, at its second
    signed = api.account(account_id)
    assert signed["price_version"] == "2099-02"  # the list in force at the reload's second
    charged = sum(line["ticks"] for line in api.ledger(account_id, limit=100)["lines"] if line["kind"] == "charge")

    first = datetime.fromtimestamp(started, timezone.utc).date().isoformat()
    last = datetime.fromtimestamp(clock.now, timezone.utc).date().isoformat()
    html = web.get(f"/customer/{current_token(ctx, account_id)}?start={first}&end={last}").get_data(as_text=True)
    shown_balance = re.search(r"Balance ([\d.,]+ iSC)", text(html)).group(1)
    assert shown_balance == format_milli(signed["balance_ticks"] // 31_557_600)
    shown = int(re.search(r'data-testid="charged">([\d.,]+) iSC', html).group(1).replace(".", "").replace(",", ""))
    assert shown == charged // 31_557_600
