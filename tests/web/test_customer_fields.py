"""The customer's fields as typed (issue 22): an accented e-mail domain is shown with its letters, never as the
punycode a browser's e-mail field sends (mails still travel in ASCII); a customer name says its limit in the field,
and a longer one is refused with the limit said, never cut."""

from __future__ import annotations

import re

import pytest
from html import unescape

from license_server import mail
from rental import validation

from .test_screens import create_account

TYPED = "compta@société-générale.fr"
SENT_BY_CHROMIUM = "compta@" + "société-générale".encode("idna").decode("ascii") + ".fr"  # xn--…


def words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_an_accented_domain_sent_as_punycode_is_kept_and_shown_as_typed(unlocked, csrf):
    assert SENT_BY_CHROMIUM.startswith("compta@xn--")
    account = create_account(unlocked, csrf, name="Société Générale", email=SENT_BY_CHROMIUM)
    page = unlocked.get(account).data.decode()
    assert TYPED in words(page) and "xn--" not in page
    form = unlocked.get(account + "/edit").data.decode()
    assert f'value="{TYPED}"' in form


def test_the_mail_goes_to_the_ascii_form_of_the_same_address():
    assert validation.email(SENT_BY_CHROMIUM, "contact_email") == TYPED
    assert validation.email(TYPED, "contact_email") == TYPED
    assert validation.ascii_address(TYPED) == SENT_BY_CHROMIUM
    letter = mail.stopped(mail.Customer(email=TYPED, account="Société Générale", partner="Acme"), at=1_800_000_000,
                          monthly_milli=5_000)
    assert mail.message(letter, mail.Customer(email=TYPED, account="S", partner="A"), sender="r@rentdesk.example",
                        now=1_800_000_000)["To"] == SENT_BY_CHROMIUM


def test_the_customer_name_field_says_its_limit_and_leaves_cutting_to_no_one(unlocked):
    """A browser cuts a pasted name at an input's maxlength without a word: the field says its limit instead, and a
    longer name is refused with it said (below), never cut."""
    form = unlocked.get("/accounts/new").data.decode()
    field = re.search(r'<input id="name"[^>]*>', form).group(0)
    assert "maxlength" not in field and 'aria-describedby="name-limit"' in field
    assert "At most 200 characters." in words(form)


def test_a_name_of_300_characters_is_refused_with_the_limit_said_never_cut(unlocked, csrf):
    name = ("Société d'exploitation des Thermes de Châtel-Guyon " * 6)[:300]
    answer = unlocked.post("/accounts/new", data={"name": name, "contact_email": "it@thermes.example",
                                                 "language": "en", "csrf_token": csrf})
    assert answer.status_code == 200  # the form again, nothing queued
    page = unescape(answer.data.decode())
    assert "must be 1 to 200 printable characters: it has 300." in words(page)
    assert f'value="{name}"' in page  # kept whole for the technician to shorten
    assert "Société" not in words(unlocked.get("/accounts/").data.decode())


def test_a_name_holding_a_right_to_left_override_is_refused_on_site_and_nothing_is_queued(unlocked, csrf):
    """The app runs the server's check offline (rental.validation): a name whose U+202E would turn round the words
    after it in the customer's mails and page is said next to the field, in the technician's language, at once."""
    answer = unlocked.post("/accounts/new", data={"name": "Clinique\u202egnp.exe", "contact_email": "it@clinique.example",
                                                 "language": "en", "csrf_token": csrf})
    assert answer.status_code == 200  # the form again, nothing queued
    assert "it holds a line break, tab or other control character." in words(answer.data.decode())
    assert "Clinique" not in words(unlocked.get("/accounts/").data.decode())


def test_the_pbx_name_and_serial_fields_say_their_limits_before_and_with_a_refusal(unlocked, csrf):
    """The PBX form says its fields' limits as the account form does (200 characters a name, 100 a serial), the
    live warning reads them (data-limit); a longer one is refused with the limit said, kept whole, and its error
    and the limit describe the field."""
    account = create_account(unlocked, csrf)
    form = unlocked.get(account + "/pbx/new").data.decode()
    name = re.search(r'<input id="name"[^>]*>', form).group(0)
    serial = re.search(r'<input id="serial"[^>]*>', form).group(0)
    assert 'data-limit="200"' in name and 'aria-describedby="name-limit"' in name and "maxlength" not in name
    assert 'data-limit="100"' in serial and 'aria-describedby="serial-limit"' in serial
    model = re.search(r'<input id="hardware_model"[^>]*>', form).group(0)
    assert 'data-limit="100"' in model and 'aria-describedby="hardware_model-limit"' in model
    assert "At most 200 characters." in words(form) and "At most 100 characters." in words(form)
    refused = unlocked.post(account + "/pbx/new", data={"name": "N" * 201, "serial": "S" * 101, "platform": "vmware",
                                                        "firmware": "13r2", "mode": "rental", "csrf_token": csrf})
    page = refused.data.decode()
    assert refused.status_code == 200 and 'value="' + "N" * 201 + '"' in page
    assert 'aria-describedby="name-error name-limit"' in page and 'aria-describedby="serial-error serial-limit"' in page


@pytest.mark.parametrize("app_language", ["en", "fr"])
def test_a_new_accounts_mail_language_starts_as_the_language_the_technician_works_in(unlocked, csrf, app_language):
    """A technician working in French reads the rental terms with the customer in French (R26): the customer's
    e-mails and page (R20, R27) start in French too, to change when the customer reads another language. They
    started in English whatever the app's language, and a French customer got English mails unless it was changed."""
    unlocked.post("/settings/language", data={"language": app_language, "csrf_token": csrf})
    form = unlocked.get("/accounts/new").data.decode()
    select = re.search(r'<select id="language".*?</select>', form, re.S).group(0)
    assert re.findall(r'<option value="(\w+)" selected', select) == [app_language]
