"""An end of credit past the calendar's last day (R16): 100,000 iSC on one 0.500 iSC-a-month IP port last 16,666
years. Every screen that shows the end (the list, the account page, its meter and chart, the PBX editor and its
preview) says it in words, English and French, instead of answering an error page (Python's calendar ends with the
year 9999). Signed snapshots (demo key) in the laptop's store, asked over the app's HTTP face."""

from __future__ import annotations

import pytest

from rental.money import TICKS_PER_MILLI
from tests.app.builders import PBX_ID

from .conftest import htmx
from .test_money_words import IP_PORT, seed, snapshot, words

ACCOUNT_ID = "7d2e1b5f-4a6c-4b9d-8e3f-1c8a2b3d4e5f"
FAR = {"en": "a day in the year 9999 or later", "fr": "un jour de l’an 9999 ou plus tard"}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_screen_says_an_end_of_credit_past_the_year_9999_in_words(app, unlocked, csrf, language):
    seed(app, snapshot(ACCOUNT_ID, status="active", balance_ticks=100_000_000 * TICKS_PER_MILLI,
                       licenses={IP_PORT: 1}), 1)
    if language == "fr":
        unlocked.post("/settings/language", data={"language": "fr", "csrf_token": csrf})
    pbx_url = f"/accounts/{ACCOUNT_ID}/pbx/{PBX_ID}"
    pages = {
        "list": unlocked.get("/accounts/"),
        "account": unlocked.get(f"/accounts/{ACCOUNT_ID}"),
        "meter": unlocked.get(f"/accounts/{ACCOUNT_ID}/meter", headers=htmx()),
        "chart": unlocked.get(f"/accounts/{ACCOUNT_ID}?part=chart", headers=htmx()),
        "pbx": unlocked.get(pbx_url),
        "preview": unlocked.post(pbx_url + "/licenses/preview?part=summary", headers=htmx(),
                                 data={f"qty-{IP_PORT}": "2", "csrf_token": csrf}),
    }
    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(pages, 200)
    for name in ("list", "account", "meter", "chart"):
        assert FAR[language] in words(pages[name].data.decode()), name
