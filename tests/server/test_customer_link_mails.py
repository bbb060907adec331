"""Every mail to the customer carries their own page's current link (R20, R27), received by a real SMTP server
(aiosmtpd); renewing the link mails the new one, and later mails carry only the newest. Without PUBLIC_URL, none."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from license_server import customer, links, models

from .helpers import DAY
from .smtp_sink import sink, text_of, html_of  # noqa: F401 (fixtures)

PUBLIC = "https://licenses.example.com"


@pytest.fixture
def settings(sink):
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": sink.port, "MAIL_FROM": "RentDesk <credit@rentdesk.example>",
            "PUBLIC_URL": PUBLIC}


def link_of(ctx, account_id: str) -> str:
    with ctx.engine.connect() as connection:
        row = connection.execute(select(models.accounts).where(models.accounts.c.id == account_id)).mappings().one()
    return links.current_url(ctx, dict(row))


def test_a_reminder_and_the_stop_carry_the_customers_link(api, ctx, clock, sink):
    account_id = api.running_account("10")
    url = link_of(ctx, account_id)
    assert url.startswith(PUBLIC + "/customer/")
    end = api.account(account_id)["depletes_at"]
    clock.set(end - 7 * DAY)
    api.sweep()
    clock.set(end)
    api.sweep()
    mails = sink.take()
    assert len(mails) == 2
    for message in mails:
        assert url in text_of(message)
        assert url in html_of(message)
        assert "do not share it" in text_of(message)


def test_renewing_mails_the_new_link_and_later_mails_carry_only_it(api, ctx, clock, sink):
    account_id = api.running_account("10", language="fr")
    old = link_of(ctx, account_id)
    status, body = api.call("POST", f"/accounts/{account_id}/customer-link")
    assert status == 200
    status, body = api.call("POST", f"/accounts/{account_id}/customer-link")  # twice: only the newest goes
    new = body["url"]
    assert api.sweep().mails_sent == 1
    [message] = sink.take()
    assert message["Subject"] == "Boulangerie Émile : votre nouveau lien vers votre page"
    assert new in text_of(message) and old not in text_of(message)
    assert "L’ancien lien ne fonctionne plus" in text_of(message)
    clock.set(api.account(account_id)["depletes_at"])
    api.sweep()
    [stopped] = sink.take()
    assert new in text_of(stopped) and "ne le partagez donc pas" in text_of(stopped)


def test_without_public_url_mails_carry_no_link(api, ctx, clock, sink):
    ctx.settings.values["PUBLIC_URL"] = None
    try:
        account_id = api.running_account("10")
        clock.set(api.account(account_id)["depletes_at"])
        api.sweep()
        [message] = sink.take()
        assert "/customer/" not in text_of(message) and "Your own page" not in text_of(message)
    finally:
        ctx.settings.values["PUBLIC_URL"] = PUBLIC


def test_the_pages_french_catalog_is_complete_and_compiled():
    """Every text of the page (and every reason it shows) has French, keeping its placeholders; the .mo is fresh."""
    import re

    with open(customer.CATALOGS / "customer.pot", "rb") as file:
        pot = read_po(file)
    with open(customer.CATALOGS / "fr" / "LC_MESSAGES" / "customer.po", "rb") as file:
        po = read_po(file)
    compiled = customer.translations("fr")
    for message in pot:
        if not message.id:
            continue
        found = po.get(message.id)
        assert found is not None and found.string, message.id
        source = message.id if isinstance(message.id, str) else message.id[0]
        target = found.string if isinstance(found.string, str) else found.string[0]
        holes = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
        assert sorted(holes.findall(source)) == sorted(holes.findall(target)), message.id
        if isinstance(message.id, str):
            assert compiled.gettext(message.id) == found.string, f"stale customer.mo: {message.id}"
        else:  # every plural form of French (one, many, other): an empty one shows the English text for 2 and up
            assert all(found.string), f"a French plural form is empty: {message.id}"
            for n in (1, 2, 5, 1_000_000):
                assert compiled.ngettext(message.id[0], message.id[1], n) in found.string, f"{message.id}, {n}"
