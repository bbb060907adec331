"""The accounts list says when it shows only a page of the matches, and typing narrows it (issue 7)."""

from __future__ import annotations

from app import services

from .conftest import htmx
from .test_screens import create_account


def test_a_cut_list_says_how_many_it_shows_of_how_many_and_the_search_narrows_it(unlocked, csrf, monkeypatch):
    monkeypatch.setattr(services, "LIST_PAGE", 2)
    for name in ("Acme Hotel", "Bistro Lumière", "Café Central"):
        create_account(unlocked, csrf, name=name, email=f"it@{name.split()[0].lower()}.example")
    page = unlocked.get("/accounts/").data.decode()
    assert "Showing 2 of 3 accounts" in page and "Café Central" not in page
    rows = unlocked.get("/accounts/?q=caf", headers=htmx()).data.decode()
    assert "Café Central" in rows and "Showing" not in rows
