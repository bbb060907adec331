"""Field checks the app and the license server share (rule bad-op, DESIGN §5): one function, one message, both sides."""

import pytest
from hypothesis import given, strategies as st

from rental import validation
from rental.errors import RuleViolation


def refusal(check, value, *args):
    with pytest.raises(RuleViolation) as caught:
        check(value, "create_account.name", *args)
    return caught.value.message


def test_text_is_kept_without_its_surrounding_spaces():
    assert validation.text("  Café du Port  ", "The customer name") == "Café du Port"


@pytest.mark.parametrize("value, words", [
    ("", "must be 1 to 200 printable characters: it is empty"),
    ("   ", "must be 1 to 200 printable characters: it is empty"),
    ("x" * 201, "must be 1 to 200 printable characters: it has 201"),
    ("two\nlines", "on one line"),
    ("tab\there", "control character"),
    ("next\x85line", "on one line"),  # NEL, U+2028, U+2029: line breaks to Python's mail headers too
    ("line\u2028separator", "on one line"),
    ("paragraph\u2029separator", "on one line"),
    ("c1\x9bcontrol", "control character"),
    ("Clinique\u202egnp.exe", "control character"),  # bidi override: the words after it read backwards
    ("Clinique\u2067isolate\u2069", "control character"),  # bidi isolates (U+2066-U+2069)
    ("\u202aembedding\u202c", "control character"),  # embeddings and their pop (U+202A-U+202C)
    (12, "must be text, not a number"),
    (None, "must be text, not null"),
])
def test_bad_text_is_refused_with_the_field_named_and_what_to_write(value, words):
    message = refusal(validation.text, value)
    assert message.startswith("create_account.name ") and words in message


@pytest.mark.parametrize("name", ["\u05de\u05e8\u05e4\u05d0\u05d4 \u200f2\u200f", "\u0634\u0631\u0643\u0629\u061c",
                                  "Soci\u00e9t\u00e9\u00a0G\u00e9n\u00e9rale"])
def test_bidi_marks_and_no_break_spaces_stay_allowed_in_names(name):
    """Only the overrides, embeddings and isolates are refused: a Hebrew or Arabic name may need its marks (RLM,
    ALM), which reorder nothing, and a French one its no-break space."""
    assert validation.text(name, "The customer name") == name


def test_the_refusal_names_the_field_by_its_label_in_its_params():
    with pytest.raises(RuleViolation) as caught:
        validation.text("", "The PBX name")
    assert (caught.value.rule, caught.value.code) == ("bad-op", "field-empty")
    assert caught.value.params["field"] == "The PBX name"


@pytest.mark.parametrize("address", ["office@acme-dental.example", "a.b+c@mail.example.co.uk"])
def test_an_email_address_is_accepted(address):
    assert validation.email(address, "contact_email") == address


@pytest.mark.parametrize("address", ["nobody", "no@dot", "two@@at.example", "sp ace@x.example", "@x.example"])
def test_anything_else_is_not_an_email_address(address):
    assert "is not an e-mail address: write it like name@example.com" in refusal(validation.email, address)


def test_an_email_address_longer_than_254_characters_is_refused():
    assert "1 to 254" in refusal(validation.email, "a" * 250 + "@x.example")


def test_serials_and_hardware_models_hold_up_to_100_characters():
    assert validation.serial("S" * 100, "serial") == "S" * 100
    assert "1 to 100" in refusal(validation.serial, "S" * 101)
    assert "1 to 100" in refusal(validation.hardware_model, "M" * 101)


def test_a_firmware_longer_than_any_version_is_refused():
    assert validation.firmware(" 14r2sr12 ", "firmware") == "14r2sr12"
    assert "too long for a firmware version" in refusal(validation.firmware, "13r2sr5-beta-build-0042")


def test_the_languages_are_english_and_french():
    assert [validation.language(code, "language") for code in ("en", "fr")] == ["en", "fr"]
    assert "must be 'en' or 'fr', not 'de'" in refusal(validation.language, "de")
    assert "not null" in refusal(validation.language, None)


def test_a_yes_or_no_is_true_or_false_never_text_or_a_number():
    assert validation.boolean(False, "cloud_contract") is False
    assert "true or false, not text" in refusal(validation.boolean, "yes")
    assert "true or false, not a number" in refusal(validation.boolean, 1)


def test_a_pbx_id_is_letters_digits_and_a_few_marks():
    assert validation.pbx_id("pbx-lobby.2:a_b", "pbx_id") == "pbx-lobby.2:a_b"
    assert "letters, digits" in refusal(validation.pbx_id, "lobby/../etc")
    assert "1 to 64" in refusal(validation.pbx_id, "p" * 65)


def test_a_uuid_is_its_canonical_36_characters():
    assert validation.is_uuid("6c1d0a4e-3f5b-4a8e-9d2c-0b7e1f2a3c4d")
    assert validation.is_uuid("6C1D0A4E-3F5B-4A8E-9D2C-0B7E1F2A3C4D")
    for other in ("6c1d0a4e3f5b4a8e9d2c0b7e1f2a3c4d", "{6c1d0a4e-3f5b-4a8e-9d2c-0b7e1f2a3c4}",
                  "6c1d0a4e-3f5b-4a8e-9d2c-0b7e1f2a3c4g", 7, None, "6c1d0a4e-3f5b-4a8e-9d2c-0b7e1f2a3c4d\n"):
        assert not validation.is_uuid(other), other
    assert "must be a UUID" in refusal(validation.uuid_text, "abc")


def test_a_whole_number_is_an_int_from_0_to_the_ceiling():
    assert validation.whole(0, "base_revision") == 0
    assert "must be a whole number, not true/false" in refusal(validation.whole, True)
    assert "must be a whole number, not a decimal number" in refusal(validation.whole, 2.0)
    assert "out of range" in refusal(validation.whole, -1)
    assert "out of range" in refusal(validation.whole, 2**62 + 1)


@given(st.one_of(st.text(max_size=300), st.integers(), st.none(), st.booleans(), st.floats(allow_nan=True),
                 st.lists(st.integers(), max_size=3)))
def test_any_value_is_either_accepted_or_refused_with_a_field_error(value):
    for check in (validation.text, validation.email, validation.firmware, validation.language, validation.boolean,
                  validation.pbx_id, validation.uuid_text, validation.whole, validation.activation_key_text):
        try:
            check(value, "field")
        except RuleViolation as exc:
            assert exc.message.startswith("field ")
