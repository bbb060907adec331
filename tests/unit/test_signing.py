"""Signed documents (DESIGN §4) and activation keys (R11): what is genuine is read, nothing else ever is."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rental.errors import AmountError, KeyFormatError, SignatureError
from rental.reasons import CATALOG
from rental.signing import (
    ENVELOPE_TYPES,
    ActivationKey,
    Keyring,
    SigningKey,
    _pack_key_fields,
    _sign_key_fields,
    canonical,
    load_signing_key,
    write_key_pair,
)

KEYS_DIR = Path(__file__).resolve().parents[2] / "keys"
NEW_YEAR_2026 = 1_767_225_600
KEY_ID = bytes.fromhex("00112233445566778899")
FIVE_HUNDRED_ISC = 500_000  # milli-iSC

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=100, deadline=None)

# One fixed private key, so the signing key and a test can both sign raw bytes with it.
SERVER_PRIVATE = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SERVER = SigningKey("srv-2026", SERVER_PRIVATE)
STRANGER = SigningKey("srv-2026", Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))
RING = Keyring().add(SERVER.kid, SERVER.public_pem())

ACCOUNT = {
    "account_id": "7d0c9a4e-0000-4000-8000-000000000001",
    "name": "Boulangerie Émile",
    "balance_ticks": 15_778_800_000_000,
    "pbxs": [{"pbx_id": "p1", "licenses": [{"ref": "01-00010-001", "qty": 3}]}],
    "suspended": False,
    "depletes_at": None,
}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def envelope_of_raw_bytes(type_: str, raw: bytes, kid: str = SERVER.kid) -> dict:
    """An envelope whose signature is good over any bytes at all: only the payload checks can refuse it."""
    sig = SERVER_PRIVATE.sign(b"rentdesk/" + type_.encode() + b"/v1\n" + raw)
    return {"type": type_, "kid": kid, "payload": b64(raw), "sig": b64(sig)}


def refusal(call, *args, **kwargs) -> SignatureError:
    """The SignatureError that call raises, with its reason as data (a code of the catalog, its English wording
    the error's text, so screens translate it); any other outcome fails the test."""
    with pytest.raises(SignatureError) as info:
        call(*args, **kwargs)
    reason = info.value.reason
    assert reason is not None and reason.code in CATALOG and reason.code != "bad-field", info.value
    assert str(info.value) == reason.message
    return info.value


def flip_bit(raw: bytes, bit: int) -> bytes:
    data = bytearray(raw)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


# Envelopes: signing and reading (DESIGN §4) ------------------------------------------------


def test_a_signed_envelope_verifies_and_gives_back_its_payload_with_the_type():
    envelope = SERVER.sign_envelope("account", ACCOUNT)

    assert set(envelope) == {"type", "kid", "payload", "sig"}
    assert RING.verify_envelope(envelope, "account") == {**ACCOUNT, "type": "account"}


def test_the_payload_is_compact_sorted_utf8_json_and_base64url_without_padding():
    envelope = SERVER.sign_envelope("op-result", {"op_id": "o1", "message": "crédit épuisé"})

    expected = json.dumps(
        {"op_id": "o1", "message": "crédit épuisé", "type": "op-result"},
        separators=(",", ":"), sort_keys=True, ensure_ascii=False,
    ).encode()
    assert unb64(envelope["payload"]) == expected
    assert "=" not in envelope["payload"] + envelope["sig"]


def test_the_signature_covers_the_domain_the_type_and_the_payload_bytes():
    envelope = SERVER.sign_envelope("pricelist", {"version": 7, "items": []})

    SERVER.public_key.verify(
        unb64(envelope["sig"]), b"rentdesk/pricelist/v1\n" + unb64(envelope["payload"])
    )


def test_a_payload_that_already_carries_its_type_is_signed_as_is():
    envelope = SERVER.sign_envelope("pricelist", {"type": "pricelist", "version": 1})

    assert RING.verify_envelope(envelope)["version"] == 1


def test_signing_a_payload_whose_type_disagrees_is_refused():
    with pytest.raises(ValueError, match="type"):
        SERVER.sign_envelope("account", {"type": "pricelist"})


def test_signing_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="unknown envelope type"):
        SERVER.sign_envelope("invoice", {})


@pytest.mark.parametrize(
    "payload",
    [{"balance": 1.5}, {"pbxs": [{"qty": 2.0}]}, {"x": float("nan")}, {"x": [1, (2, float("inf"))]}],
)
def test_signing_a_float_anywhere_in_the_payload_is_a_type_error(payload):
    with pytest.raises(TypeError, match="float"):
        SERVER.sign_envelope("account", payload)


def test_verifying_does_not_accept_an_envelope_signed_by_an_unknown_key():
    envelope = SigningKey.generate("rogue").sign_envelope("account", ACCOUNT)

    assert "envelope signed by unknown key 'rogue'" in str(refusal(RING.verify_envelope, envelope))


def test_verifying_does_not_accept_a_known_kid_signed_by_another_key():
    envelope = STRANGER.sign_envelope("account", ACCOUNT)

    assert "bad signature" in str(refusal(RING.verify_envelope, envelope))


def test_verifying_refuses_an_envelope_of_another_type_than_expected():
    envelope = SERVER.sign_envelope("pricelist", {"version": 3, "items": []})

    assert "expected a 'account' envelope" in str(refusal(RING.verify_envelope, envelope, "account"))


def test_relabelling_an_envelope_with_another_type_breaks_its_signature():
    envelope = {**SERVER.sign_envelope("account", ACCOUNT), "type": "pricelist"}

    assert "bad signature" in str(refusal(RING.verify_envelope, envelope))


def test_a_signature_made_for_one_type_does_not_verify_as_another_even_when_the_payload_agrees():
    raw = b'{"type":"pricelist","version":1}'
    sig = SERVER_PRIVATE.sign(b"rentdesk/account/v1\n" + raw)
    envelope = {"type": "pricelist", "kid": SERVER.kid, "payload": b64(raw), "sig": b64(sig)}

    assert "bad signature" in str(refusal(RING.verify_envelope, envelope))


def test_the_signature_is_checked_before_the_payload_is_parsed():
    envelope = {**envelope_of_raw_bytes("account", b"not json"), "sig": b64(bytes(64))}

    assert "bad signature" in str(refusal(RING.verify_envelope, envelope))


def test_an_unknown_envelope_type_is_refused_even_when_signed():
    envelope = envelope_of_raw_bytes("invoice", b'{"type":"invoice"}')

    assert "unknown envelope type" in str(refusal(RING.verify_envelope, envelope))


@pytest.mark.parametrize("field", ["payload", "sig"])
def test_base64_with_padding_is_refused(field):
    envelope = SERVER.sign_envelope("account", {"n": 10})
    assert len(envelope[field]) % 4, "the text must be one that padding would lengthen"
    envelope[field] += "=" * (-len(envelope[field]) % 4)

    assert "base64url" in str(refusal(RING.verify_envelope, envelope))


@pytest.mark.parametrize("field", ["payload", "sig"])
def test_standard_base64_alphabet_and_stray_characters_are_refused(field):
    envelope = SERVER.sign_envelope("account", {"note": "?>?>?>~~~"})
    for bad in (envelope[field].replace("-", "+").replace("_", "/") + "+/", envelope[field] + "\n", " " + envelope[field]):
        assert "base64url" in str(refusal(RING.verify_envelope, {**envelope, field: bad}))


def test_a_last_base64_character_with_stray_bits_is_refused():
    envelope = SERVER.sign_envelope("account", {"n": 1})
    sig = envelope["sig"]  # 64 bytes → 86 characters, the last one carries 4 unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sloppy = sig[:-1] + alphabet[alphabet.index(sig[-1]) | 1]

    assert unb64(sloppy) == unb64(sig)
    assert "base64url" in str(refusal(RING.verify_envelope, {**envelope, "sig": sloppy}))


def test_every_flipped_bit_of_the_payload_is_refused():
    envelope = SERVER.sign_envelope("account", ACCOUNT)
    raw = unb64(envelope["payload"])

    for bit in range(len(raw) * 8):
        refusal(RING.verify_envelope, {**envelope, "payload": b64(flip_bit(raw, bit))})


def test_every_flipped_bit_of_the_signature_is_refused():
    envelope = SERVER.sign_envelope("account", ACCOUNT)
    sig = unb64(envelope["sig"])

    for bit in range(len(sig) * 8):
        refusal(RING.verify_envelope, {**envelope, "sig": b64(flip_bit(sig, bit))})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@FEW
@given(
    type_=st.sampled_from(sorted(ENVELOPE_TYPES)),
    payload=st.dictionaries(st.text(max_size=8).filter(lambda k: k != "type"), json_values, max_size=5),
    data=st.data(),
)
def test_any_int_only_payload_round_trips_and_any_flipped_bit_is_refused(type_, payload, data):
    envelope = SERVER.sign_envelope(type_, payload)
    assert RING.verify_envelope(envelope, type_) == {**payload, "type": type_}

    field = data.draw(st.sampled_from(["payload", "sig"]))
    raw = unb64(envelope[field])
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    refusal(RING.verify_envelope, {**envelope, field: b64(flip_bit(raw, bit))})


@FEW
@given(
    type_=st.sampled_from(sorted(ENVELOPE_TYPES)),
    payload=st.dictionaries(st.text(max_size=8).filter(lambda k: k != "type"), json_values, max_size=5),
    kid=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", fullmatch=True),
)
def test_an_envelope_signed_with_its_text_is_the_same_envelope_and_its_text_is_json_dumps_own(type_, payload, kid):
    """The /sync answer and the stored op results are written from sign_envelope_text's text (issue 27): it must
    be exactly what json.dumps writes of the envelope, for any type, kid and payload (DESIGN §4)."""
    signer = SigningKey(kid, SERVER_PRIVATE)
    envelope, text = signer.sign_envelope_text(type_, payload)
    assert envelope == signer.sign_envelope(type_, payload)  # Ed25519 signatures are deterministic
    assert text == json.dumps(envelope)
    assert json.loads(text) == envelope


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b'{"type":"account","balance":1.0}', "float"),
        (b'{"type":"account","balance":1e3}', "float"),
        (b'{"type":"account","balance":NaN}', "NaN"),
        (b'{"type":"account","balance":-Infinity}', "Infinity"),
        (b'{"type":"account","type":"account"}', "twice"),
        (b'["type","account"]', "JSON object"),
        (b'{"type":"pricelist"}', "differs from envelope type"),
        (b'{"version":1}', "differs from envelope type"),
        (b'{"type":"account"', "not JSON"),
        (b'\xef\xbb\xbf{"type":"account"}', "not JSON"),
        (b'{"type":"account","name":"\xe9"}', "UTF-8"),
        ('{"type":"account"}'.encode("utf-16"), "UTF-8"),
        (b'{"type":"account","n":' + b"9" * 5000 + b"}", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_a_genuinely_signed_payload_that_is_not_plain_int_only_json_of_its_type_is_refused(raw, reason):
    assert reason in str(refusal(RING.verify_envelope, envelope_of_raw_bytes("account", raw)))


@pytest.mark.parametrize(
    "envelope",
    [
        None, "envelope", 42, [], ["account"],
        {},
        {"type": "account", "kid": SERVER.kid, "payload": ""},
        {"type": "account", "kid": SERVER.kid, "payload": "", "sig": "", "extra": ""},
        {"type": "account", "kid": SERVER.kid, "payload": 12, "sig": ""},
        {"type": "account", "kid": None, "payload": "", "sig": ""},
        {"type": ["account"], "kid": SERVER.kid, "payload": "", "sig": ""},
        {"type": "account", "kid": SERVER.kid, "payload": "", "sig": ""},
        {"type": "account", "kid": SERVER.kid, "payload": "e30", "sig": "A" * 85},
    ],
)
def test_malformed_envelopes_are_refused_with_a_signature_error(envelope):
    refusal(RING.verify_envelope, envelope)


anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
envelope_like = st.fixed_dictionaries(
    {
        "type": st.sampled_from(sorted(ENVELOPE_TYPES)) | anything,
        "kid": st.sampled_from([SERVER.kid, "demo"]) | anything,
        "payload": st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ") | anything,
        "sig": st.binary(min_size=60, max_size=68).map(b64) | anything,
    }
)


@FUZZ
@given(envelope=anything | envelope_like, expected=st.none() | st.sampled_from(sorted(ENVELOPE_TYPES)))
def test_verifying_arbitrary_input_only_ever_raises_signature_error(envelope, expected):
    refusal(RING.verify_envelope, envelope, expected)


@FUZZ
@given(raw=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()) | anything.map(
    lambda v: json.dumps({"type": "account", "v": v}, default=repr).encode()
))
def test_genuinely_signed_arbitrary_bytes_give_a_dict_of_the_type_or_a_signature_error(raw):
    try:
        payload = RING.verify_envelope(envelope_of_raw_bytes("account", raw))
    except SignatureError:
        return
    assert isinstance(payload, dict) and payload["type"] == "account"


# Activation keys (R11, DESIGN §4) -------------------------------------------------------


def five_hundred_isc_key() -> str:
    return SERVER.issue_key(FIVE_HUNDRED_ISC, NEW_YEAR_2026, KEY_ID)


def test_an_issued_key_reads_back_as_the_same_amount_time_id_and_kid():
    text = five_hundred_isc_key()

    assert RING.read_key(text) == ActivationKey(KEY_ID, FIVE_HUNDRED_ISC, NEW_YEAR_2026, SERVER.kid, text)
    assert RING.read_key(text).key_id_hex == "00112233445566778899"


def test_a_key_is_prefixed_isc1_and_grouped_by_five_crockford_symbols():
    prefix, *groups = five_hundred_isc_key().split("-")

    assert prefix == "ISC1"
    assert all(len(group) == 5 for group in groups[:-1]) and 1 <= len(groups[-1]) <= 5
    assert set("".join(groups)) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_issuing_without_a_key_id_draws_a_random_one():
    first, second = (RING.read_key(SERVER.issue_key(1000, NEW_YEAR_2026)) for _ in range(2))

    assert len(first.key_id) == 10 and first.key_id != second.key_id


@FEW
@given(
    amount=st.integers(1, 10_000_000_000),
    issued_at=st.integers(0, 2**64 - 1),
    key_id=st.binary(min_size=10, max_size=10),
    kid=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", fullmatch=True),
    data=st.data(),
)
def test_any_key_round_trips_and_any_changed_symbol_is_refused(amount, issued_at, key_id, kid, data):
    signer = SigningKey(kid, SERVER_PRIVATE)
    ring = Keyring().add(kid, signer.public_key)
    text = signer.issue_key(amount, issued_at, key_id)
    assert ring.read_key(text) == ActivationKey(key_id, amount, issued_at, kid, text)

    positions = [i for i, char in enumerate(text) if i >= 5 and char != "-"]
    position = data.draw(st.sampled_from(positions))
    symbol = data.draw(st.sampled_from([s for s in "0123456789ABCDEFGHJKMNPQRSTVWXYZ" if s != text[position]]))
    refusal(ring.read_key, text[:position] + symbol + text[position + 1 :])


def test_every_changed_symbol_of_a_key_is_refused():
    text = five_hundred_isc_key()

    for position, char in enumerate(text):
        if position < 5 or char == "-":
            continue
        for symbol in "0123456789ABCDEFGHJKMNPQRSTVWXYZ":
            if symbol != char:
                refusal(RING.read_key, text[:position] + symbol + text[position + 1 :])


def test_reading_a_key_ignores_case_spaces_and_dashes():
    text = five_hundred_isc_key()
    body = text.replace("-", "")

    for typed in (text.lower(), body, body.lower(), " ".join(text.split("-")), f"  {text}\n", "I-S-C-1" + body[4:]):
        assert RING.read_key(typed).text == text


def test_reading_a_key_maps_o_to_zero_and_i_and_l_to_one():
    text = five_hundred_isc_key()
    assert "0" in text[5:] and "1" in text[5:], "the key must show the symbols the look-alikes stand for"

    for typed in (text.replace("0", "O"), text.replace("0", "o"), text.replace("1", "I"), text.replace("1", "l"),
                  text.replace("1", "L")):
        assert RING.read_key(typed).text == text
        assert canonical(typed) == text


def test_canonical_normalises_a_typed_key_without_checking_its_signature():
    assert canonical("isc1 abcde fghjk o") == "ISC1-ABCDE-FGHJK-0"


def test_a_key_with_a_u_is_refused_naming_the_character_and_its_position():
    text = five_hundred_isc_key()
    typed = text[:7] + "u" + text[8:]

    message = str(refusal(RING.read_key, typed))
    assert isinstance(refusal(RING.read_key, typed), KeyFormatError)
    assert "'u'" in message and "character 8" in message and "never contains U" in message


@pytest.mark.parametrize("bad", ["*", "é", "_", "0\u200b"])
def test_a_key_with_a_foreign_character_is_refused_naming_it_and_its_position(bad):
    text = five_hundred_isc_key()
    typed = text[:10] + bad + text[11:]

    message = str(refusal(RING.read_key, typed))
    assert repr(bad[-1]) in message and "character" in message


@pytest.mark.parametrize("typed", ["", "   ", "ISC", "ABCD-12345", "ISC2-00000-00000", "XSC1-00000"])
def test_a_key_without_the_isc1_prefix_is_refused(typed):
    error = refusal(RING.read_key, typed)
    assert isinstance(error, KeyFormatError) and error.reason.code == "key-prefix"
    assert "An activation key starts with ISC1-" in str(error)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[:-1],
        lambda t: t[:-6],
        lambda t: t[:40],
        lambda t: t + "0",
        lambda t: t + "00",
        lambda t: t + "-00000",
        lambda t: t + t[5:],
        lambda t: "ISC1-",
    ],
)
def test_a_truncated_or_extended_key_is_incomplete(change):
    error = refusal(RING.read_key, change(five_hundred_isc_key()))

    assert isinstance(error, KeyFormatError) and error.reason.code == "key-incomplete"
    assert "The key is incomplete or has extra characters: check it was copied whole" in str(error)


def test_a_key_signed_by_an_untrusted_kid_names_the_public_key_this_rentdesk_lacks():
    text = SigningKey.generate("rogue").issue_key(FIVE_HUNDRED_ISC, NEW_YEAR_2026, KEY_ID)

    error = refusal(RING.read_key, text)
    assert not isinstance(error, KeyFormatError)  # well formed: only its signer is unknown
    assert (error.reason.rule, error.reason.code, error.reason.params) == ("key-invalid", "key-untrusted",
                                                                          {"kid": "rogue"})
    assert "rogue.pub" in str(error)


def test_a_key_signed_by_another_key_under_a_trusted_kid_is_not_genuine():
    text = STRANGER.issue_key(FIVE_HUNDRED_ISC, NEW_YEAR_2026, KEY_ID)

    error = refusal(RING.read_key, text)
    assert not isinstance(error, KeyFormatError) and error.reason.code == "key-not-genuine"
    assert str(error) == "This key is not genuine or was mistyped: check it against the printed key."


@pytest.mark.parametrize("amount", [0, 10_000_000_001, 2**64 - 1])
def test_a_genuinely_signed_key_for_zero_or_an_absurd_amount_is_refused(amount):
    text = _sign_key_fields(SERVER_PRIVATE, _pack_key_fields(KEY_ID, amount, NEW_YEAR_2026, SERVER.kid))

    assert isinstance(refusal(RING.read_key, text), KeyFormatError)


def test_ten_million_isc_is_the_largest_key():
    assert RING.read_key(SERVER.issue_key(10_000_000_000, NEW_YEAR_2026)).amount_milli == 10_000_000_000


@pytest.mark.parametrize("amount", [0, -1, 10_000_000_001])
def test_issuing_a_key_for_zero_or_an_absurd_amount_is_refused(amount):
    with pytest.raises(AmountError):
        SERVER.issue_key(amount, NEW_YEAR_2026)


def test_issuing_a_key_for_a_float_amount_is_a_type_error():
    with pytest.raises(TypeError):
        SERVER.issue_key(500.0, NEW_YEAR_2026)


def test_a_key_of_an_unknown_version_is_refused():
    fields = bytearray(_pack_key_fields(KEY_ID, FIVE_HUNDRED_ISC, NEW_YEAR_2026, SERVER.kid))
    fields[0] = 2

    assert refusal(RING.read_key, _sign_key_fields(SERVER_PRIVATE, bytes(fields))).reason.code == "key-not-genuine"


@FUZZ
@given(
    text=st.text()
    | st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghijklmnopqrstuvwxyzILOU- \t").map(lambda t: "ISC1-" + t)
    | st.integers(0, len(five_hundred_isc_key()) - 1).map(lambda n: five_hundred_isc_key()[:n])
    | anything
)
def test_reading_arbitrary_input_as_a_key_only_ever_raises_signature_error(text):
    try:
        key = RING.read_key(text)
    except SignatureError:
        return
    assert key.text == canonical(text) == five_hundred_isc_key()  # hypothesis may find the one good key


# Keys and keyrings ------------------------------------------------------------------------


def test_a_signing_key_survives_a_pem_round_trip():
    again = SigningKey.from_pem(SERVER.kid, SERVER.private_pem())

    assert RING.verify_envelope(again.sign_envelope("account", {"n": 1}))["n"] == 1
    # PKCS8 with no passphrase: the server reads it unattended, the file mode guards it
    loaded = serialization.load_pem_private_key(SERVER.private_pem(), password=None)
    assert isinstance(loaded, Ed25519PrivateKey)


@pytest.mark.parametrize("pem", [b"", b"not a key", SERVER.public_pem()])
def test_a_private_key_file_that_is_not_one_is_a_key_format_error(pem):
    with pytest.raises(KeyFormatError):
        SigningKey.from_pem("srv", pem)


def test_the_repr_of_a_signing_key_shows_the_kid_and_never_the_key():
    assert repr(SERVER) == "SigningKey(kid='srv-2026')"


@pytest.mark.parametrize("kid", ["", "a/b", "../x", "é", "x" * 33, ".hidden"])
def test_a_kid_that_is_not_a_short_plain_name_is_refused(kid):
    with pytest.raises(ValueError):
        SigningKey(kid, SERVER_PRIVATE)


def test_a_keyring_trusts_several_kids_at_once_for_a_rotation():
    new = SigningKey.generate("srv-2027")
    ring = Keyring().add(SERVER.kid, SERVER.public_key).add(new.kid, new.public_pem().decode())

    assert ring.kids == ("srv-2026", "srv-2027")
    assert ring.verify_envelope(new.sign_envelope("account", {}))["type"] == "account"
    assert ring.verify_envelope(SERVER.sign_envelope("account", {}))["type"] == "account"


def test_a_kid_already_trusted_with_another_key_is_refused():
    with pytest.raises(SignatureError, match="already trusted"):
        Keyring().add(SERVER.kid, SERVER.public_key).add(STRANGER.kid, STRANGER.public_key)


def test_a_trusted_key_that_is_not_a_public_pem_is_a_key_format_error():
    with pytest.raises(KeyFormatError) as refused:
        Keyring().add("srv", b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    assert (refused.value.code, refused.value.params) == ("trusted-key-unreadable", {"kid": "srv"})
    assert str(refused.value) == "Trusted key srv is not a PEM public key."


def test_a_signing_key_file_that_is_not_a_private_pem_is_a_code_naming_its_kid():
    with pytest.raises(KeyFormatError) as refused:
        # a PEM frame around no key at all (nothing secret is committed here: the body is the word "nope")
        frame = "PRIVATE " + "KEY"
        SigningKey.from_pem("srv-2031", f"-----BEGIN {frame}-----\nnope\n-----END {frame}-----\n".encode())
    assert (refused.value.code, refused.value.params) == ("signing-key-unreadable", {"kid": "srv-2031"})


@pytest.mark.parametrize("envelope, expected, code, params", [
    ([], None, "envelope-not-object", {"got": "list"}),
    ({"type": "account"}, None, "envelope-fields", {"fields": ["type"]}),
    ({"type": "account", "kid": 7, "payload": "", "sig": ""}, None, "envelope-field-not-text", {"name": "kid"}),
    ({"type": "invoice", "kid": "srv-2026", "payload": "", "sig": ""}, None, "envelope-type-unknown",
     {"type": "invoice"}),
    (SERVER.sign_envelope("pricelist", {}), "account", "envelope-type-unexpected",
     {"expected": "account", "type": "pricelist"}),
    (SigningKey.generate("rogue").sign_envelope("account", {}), None, "envelope-unknown-key",
     {"kid": "rogue", "trusted": ["srv-2026"]}),
    ({**SERVER.sign_envelope("account", {}), "sig": "AAAA"}, None, "envelope-sig-length",
     {"length": 3, "expected": 64}),
    ({**SERVER.sign_envelope("account", {}), "payload": "e30="}, None, "envelope-not-base64url",
     {"name": "payload"}),
    (STRANGER.sign_envelope("account", {}), None, "envelope-bad-signature", {"type": "account", "kid": "srv-2026"}),
])
def test_each_refusal_of_an_envelope_is_a_code_with_its_values(envelope, expected, code, params):
    error = refusal(RING.verify_envelope, envelope, expected)
    assert (error.reason.rule, error.reason.code, dict(error.reason.params)) == ("signature", code, params)


@pytest.mark.parametrize("raw, code, params", [
    (b'{"type":"account","balance":1.5}', "payload-float", {"number": "1.5"}),
    (b'{"type":"account","n":NaN}', "payload-constant", {"constant": "NaN"}),
    (b'{"type":"account","type":"account"}', "payload-key-twice", {"key": "type"}),
    (b'{"type":"account","name":"\xe9"}', "payload-not-utf8", {}),
    (b'{"type":"account"', "payload-not-json", {}),
    (b"[1]", "payload-not-object", {"got": "list"}),
    (b'{"type":"pricelist"}', "payload-type-differs", {"payload_type": "pricelist", "type": "account"}),
    (b'{"type":"account","k\\ud800":1,"k\\ud800":2}', "payload-key-twice", {"key": "k\\ud800"}),
])
def test_each_refusal_of_a_signed_payload_is_a_code_with_its_values(raw, code, params):
    error = refusal(RING.verify_envelope, envelope_of_raw_bytes("account", raw))
    assert (error.reason.code, dict(error.reason.params)) == (code, params)


def test_a_ring_that_trusts_no_key_says_so_rather_than_listing_none():
    error = refusal(Keyring().verify_envelope, SERVER.sign_envelope("account", {}))
    assert error.reason.code == "envelope-unknown-key-none-trusted"
    assert str(error) == "envelope signed by unknown key 'srv-2026': no key is trusted here"


def test_a_fingerprint_is_the_grouped_sha256_of_the_raw_public_key():
    fingerprint = RING.fingerprint(SERVER.kid)

    assert len(fingerprint.split(" ")) == 8 and all(len(group) == 4 for group in fingerprint.split(" "))
    assert fingerprint == Keyring().add("other-name", SERVER.public_pem()).fingerprint("other-name")
    assert fingerprint != Keyring().add(STRANGER.kid, STRANGER.public_key).fingerprint(STRANGER.kid)


def test_the_fingerprint_of_an_unknown_kid_is_a_signature_error():
    with pytest.raises(SignatureError, match="unknown key"):
        RING.fingerprint("nobody")


def test_a_written_key_pair_is_private_0600_loads_by_its_stem_and_is_never_overwritten(tmp_path):
    key_path, pub_path = write_key_pair("srv-2030", tmp_path / "secrets")

    assert (key_path.name, pub_path.name) == ("srv-2030.key", "srv-2030.pub")
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    signer = load_signing_key(key_path)
    assert signer.kid == "srv-2030"
    ring = Keyring.from_dir(tmp_path / "secrets")
    assert ring.read_key(signer.issue_key(1, NEW_YEAR_2026)).kid == "srv-2030"
    with pytest.raises(FileExistsError):
        write_key_pair("srv-2030", tmp_path / "secrets")


def test_a_keyring_from_a_folder_trusts_only_pub_files_and_the_demo_only_when_asked(tmp_path):
    write_key_pair("srv-2030", tmp_path)
    write_key_pair("demo", tmp_path / "demo")
    (tmp_path / "README.md").write_text("not a key")

    assert Keyring.from_dir(tmp_path).kids == ("srv-2030",)
    assert Keyring.from_dir(tmp_path, include_demo=True).kids == ("demo", "srv-2030")


def test_a_missing_folder_of_trusted_keys_is_an_error_not_an_empty_keyring(tmp_path):
    with pytest.raises(FileNotFoundError):
        Keyring.from_dir(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        Keyring.from_dir(tmp_path, include_demo=True)


def test_the_committed_keys_folder_trusts_no_key_but_the_demo_and_that_only_when_asked():
    assert Keyring.from_dir(KEYS_DIR).kids == ()
    assert Keyring.from_dir(KEYS_DIR, include_demo=True).kids == ("demo",)


def test_the_committed_demo_private_key_signs_what_the_demo_public_key_verifies():
    demo = load_signing_key(KEYS_DIR / "demo" / "demo.key")
    ring = Keyring.from_dir(KEYS_DIR, include_demo=True)

    assert demo.kid == "demo"
    assert demo.public_pem() == (KEYS_DIR / "demo" / "demo.pub").read_bytes()
    assert ring.read_key(demo.issue_key(FIVE_HUNDRED_ISC, NEW_YEAR_2026)).amount_milli == FIVE_HUNDRED_ISC
    assert ring.verify_envelope(demo.sign_envelope("pricelist", {"version": 1}), "pricelist")["version"] == 1


def test_a_normal_keyring_does_not_believe_the_demo_key():
    demo = load_signing_key(KEYS_DIR / "demo" / "demo.key")

    refusal(Keyring.from_dir(KEYS_DIR).verify_envelope, demo.sign_envelope("account", {}))
    refusal(Keyring.from_dir(KEYS_DIR).read_key, demo.issue_key(1000, NEW_YEAR_2026))


def test_every_key_cut_short_is_incomplete_and_every_one_changed_character_is_mistyped():
    """The two key-format messages are not swapped (issue 22): a key cut short by any number of characters says
    incomplete; one character changed anywhere says not genuine or mistyped (or names an untrusted signing key
    when it lands in the kid), never incomplete."""
    from rental.signing import _CROCKFORD

    text = five_hundred_isc_key()
    cut = {refusal(RING.read_key, text[:-n]).reason.code for n in range(1, len(text) - 5)}
    assert cut == {"key-incomplete"}
    changed = set()
    for i, symbol in enumerate(text):
        if i < 5 or symbol == "-":
            continue
        for other in _CROCKFORD:
            if other != symbol:
                changed.add(refusal(RING.read_key, text[:i] + other + text[i + 1:]).reason.code)
    assert changed == {"key-not-genuine", "key-untrusted"}


# Issue 27: a well-formed key is read at C speed (rental.signing._key_number); anything else by the character-by-
# character reader that names the problem. Both must agree on every text, typos included (R11).
_TYPED = st.sampled_from("0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyzOoIiLlUu- \t\u00a0é*_")


def _slow_read(text):
    """read_key as it was before the fast path: the symbols one by one, the canonical text re-encoded from bytes."""
    from rental.signing import _crockford_encode, _crockford_read, _group, _read_symbols

    raw, clean = _crockford_read(_read_symbols(text))
    return raw, clean, _group(_crockford_encode(raw)) if clean else None


def _outcome(read, text):
    try:
        return ("read", read(text))
    except (KeyFormatError, SignatureError) as exc:
        return (type(exc).__name__, exc.reason.code, dict(exc.reason.params))


@FUZZ
@given(amount=st.integers(1, 10**10), edits=st.lists(st.tuples(st.integers(0, 300), st.integers(0, 2), _TYPED),
                                                     max_size=3), case=st.sampled_from(["upper", "lower", "alike"]))
def test_reading_a_key_fast_agrees_with_reading_it_symbol_by_symbol(amount, edits, case):
    from rental.signing import _crockford_bytes, _key_number

    text = SERVER.issue_key(amount, NEW_YEAR_2026)
    text = text.lower() if case == "lower" else text.replace("0", "o").replace("1", "l") if case == "alike" else text
    chars = list(text)
    for position, action, char in edits:
        position %= len(chars) + 1
        if action == 0 and position < len(chars):
            chars[position] = char
        elif action == 1 and position < len(chars):
            del chars[position]
        else:
            chars.insert(position, char)
    text = "".join(chars)

    def fast(typed):
        number, count, body = _key_number(typed)
        raw, clean = _crockford_bytes(number, count)
        return raw, clean, _group_of(body) if clean else None

    assert _outcome(fast, text) == _outcome(_slow_read, text)
    genuine = _outcome(RING.read_key, text)
    if genuine[0] == "read":
        assert genuine[1].text == canonical(text) == _slow_read(text)[2]


def _group_of(body):
    from rental.signing import _group

    return _group(body)


def test_the_demo_fingerprint_is_that_of_the_demo_key_file_and_found_under_any_name():
    """DEMO_FINGERPRINT is what both programs refuse or warn of (DESIGN §4): it must be keys/demo/demo.pub's."""
    from rental.signing import DEMO_FINGERPRINT, Keyring

    demo = Path(__file__).resolve().parents[2] / "keys" / "demo" / "demo.pub"
    ring = Keyring()
    ring.add("vendor-2026", demo.read_bytes())  # the demo key renamed is still the demo key
    ring.add("vendor-2027", Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert ring.fingerprint("vendor-2026") == DEMO_FINGERPRINT
    assert ring.demo_kids() == ["vendor-2026"]
