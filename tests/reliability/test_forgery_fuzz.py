"""Forged and mangled activation keys (R11) and envelopes (DESIGN §4) are never believed.

An attacker edits a genuine key or envelope at random — symbols, bits, splices of two
genuine documents, swapped fields, another trusted key — and the readers answer only
with the documented errors, and accept nothing but the genuine document itself.
"""

from __future__ import annotations

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rental.errors import KeyFormatError, SignatureError
from rental.signing import ActivationKey, Keyring, SigningKey, canonical

from .figures import Counter, record

SOAK = bool(os.environ.get("RENTDESK_SOAK"))
EXAMPLES = 20_000 if SOAK else 1_500
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NEW_YEAR_2026 = 1_767_225_600

# Two trusted keys at once (a rotation) and one stranger that reuses a trusted kid.
OLD = SigningKey("srv-2025", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
NEW = SigningKey("srv-2026", Ed25519PrivateKey.from_private_bytes(bytes(range(7, 39))))
STRANGER = SigningKey("srv-2026", Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132))))
RING = Keyring().add(OLD.kid, OLD.public_key).add(NEW.kid, NEW.public_key)

GENUINE_KEYS = [
    OLD.issue_key(500_000, NEW_YEAR_2026, bytes.fromhex("00112233445566778899")),
    NEW.issue_key(1, NEW_YEAR_2026 + 1, bytes.fromhex("ffeeddccbbaa99887766")),
    NEW.issue_key(10_000_000_000, 0, bytes(10)),
]
ACCOUNT = {"account_id": "a1", "balance_ticks": 15_778_800_000_000, "revision": 4, "status": "active"}
GENUINE_ENVELOPES = [
    OLD.sign_envelope("account", ACCOUNT),
    NEW.sign_envelope("account", {**ACCOUNT, "balance_ticks": 1}),
    NEW.sign_envelope("op-result", {"op_id": "o1", "status": "applied", "revision": 5}),
    NEW.sign_envelope("pricelist", {"version": "2026-01", "items": []}),
]

COUNTS = {"keys": Counter(), "envelopes": Counter(), "arbitrary": Counter()}


@pytest.fixture(scope="module", autouse=True)
def _record_counts():
    yield
    record(
        "forgery_fuzz",
        mutated_keys_tried=COUNTS["keys"].tried,
        mutated_keys_accepted_wrongly=0,  # any wrong acceptance fails the run before this line
        mutated_envelopes_tried=COUNTS["envelopes"].tried,
        arbitrary_inputs_tried=COUNTS["arbitrary"].tried,
    )


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def symbols_of(text: str) -> str:
    """The key's symbols after ISC1, in canonical form: what decides which key it is."""
    return canonical(text).replace("-", "")[4:]


# ----------------------------------------------------------------- key mutations


@st.composite
def mutated_keys(draw) -> tuple[str, str]:
    """(genuine key, an attacker's or a typist's edit of it)."""
    key = draw(st.sampled_from(GENUINE_KEYS))
    body = list(symbols_of(key))
    edits = draw(st.integers(1, 4))
    for _ in range(edits):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "swap", "truncate", "append", "splice",
                                     "duplicate", "bitflip"]))
        position = draw(st.integers(0, max(0, len(body) - 1)))
        symbol = draw(st.sampled_from(CROCKFORD))
        if kind == "replace" and body:
            body[position] = symbol
        elif kind == "insert":
            body.insert(position, symbol)
        elif kind == "delete" and body:
            del body[position]
        elif kind == "swap" and len(body) > 1:
            other = draw(st.integers(0, len(body) - 1))
            body[position], body[other] = body[other], body[position]
        elif kind == "truncate":
            body = body[:position]
        elif kind == "append":
            body += draw(st.lists(st.sampled_from(CROCKFORD), min_size=1, max_size=12))
        elif kind == "splice":  # the head of one genuine key on the tail of another
            other = symbols_of(draw(st.sampled_from(GENUINE_KEYS)))
            body = body[:position] + list(other[position:])
        elif kind == "duplicate":
            body = body + body
        elif kind == "bitflip" and body:
            value = CROCKFORD.index(body[position]) ^ (1 << draw(st.integers(0, 4)))
            body[position] = CROCKFORD[value]
    typed = "".join(body)
    # Then the harmless ways a person types a key: case, spaces, dashes, look-alikes.
    style = draw(st.sampled_from(["grouped", "plain", "lower", "spaced", "lookalike"]))
    if style == "grouped":
        typed = "ISC1-" + "-".join(typed[i : i + 5] for i in range(0, len(typed), 5))
    elif style == "plain":
        typed = "ISC1" + typed
    elif style == "lower":
        typed = "isc1-" + typed.lower()
    elif style == "spaced":
        typed = "ISC1 " + " ".join(typed[i : i + 4] for i in range(0, len(typed), 4))
    else:
        typed = "ISC1-" + typed.replace("0", "O").replace("1", "l")
    return key, typed


@FUZZ
@given(mutated_keys())
def test_an_edited_key_is_refused_with_a_key_error_unless_it_is_still_the_genuine_key(case):
    """R11: no edit yields another key that reads — only edits that leave the symbols intact."""
    genuine, typed = case
    try:
        read = RING.read_key(typed)
    except SignatureError:  # KeyFormatError is a SignatureError: the two documented refusals
        COUNTS["keys"].tick(refused=True)
        return
    COUNTS["keys"].tick(refused=False)
    assert isinstance(read, ActivationKey)
    # Accepted: it must be exactly one of the genuine keys, typed differently.
    assert read.text in GENUINE_KEYS, f"a forged key was accepted: {typed!r}"
    assert symbols_of(typed) == symbols_of(read.text)


@FUZZ
@given(st.one_of(st.text(max_size=200), st.text(alphabet="ISC1-0123456789ABCDEFGHJKMNPQRSTVWXYZ ilo", max_size=200),
                 st.binary(max_size=80).map(lambda raw: "ISC1-" + base64.b32encode(raw).decode()),
                 st.none(), st.integers(), st.binary(max_size=40), st.lists(st.text(max_size=3), max_size=3)))
def test_reading_any_input_as_a_key_only_ever_raises_the_documented_errors(text):
    """The reader never crashes on what a technician (or anything) may paste."""
    try:
        read = RING.read_key(text)
    except SignatureError:
        COUNTS["arbitrary"].tick(refused=True)
        return
    COUNTS["arbitrary"].tick(refused=False)
    assert read.text in GENUINE_KEYS


@FUZZ
@given(key_id=st.binary(min_size=10, max_size=10), amount=st.integers(1, 10_000_000_000),
       issued_at=st.integers(0, 2**40))
def test_a_key_signed_by_a_stranger_under_a_trusted_kid_is_refused(key_id, amount, issued_at):
    """A forger who knows the format and the kid but not the private key gets nothing (R11)."""
    forged = STRANGER.issue_key(amount, issued_at, key_id)
    with pytest.raises(SignatureError) as refusal:
        RING.read_key(forged)
    COUNTS["keys"].tick(refused=True)
    assert not isinstance(refusal.value, KeyFormatError), "the forgery is well formed: only its signature is bad"


# ----------------------------------------------------------------- envelope mutations


@st.composite
def mutated_envelopes(draw) -> tuple[dict, object]:
    envelope = dict(draw(st.sampled_from(GENUINE_ENVELOPES)))
    original = dict(envelope)
    kind = draw(st.sampled_from(["payload-bit", "sig-bit", "swap-payload", "swap-sig", "retype", "rekid",
                                 "resign-stranger", "reserialise", "extra-field", "drop-field", "nonstring",
                                 "truncate", "pad", "case"]))
    if kind in ("payload-bit", "sig-bit"):
        field = "payload" if kind == "payload-bit" else "sig"
        raw = bytearray(unb64(envelope[field]))
        bit = draw(st.integers(0, len(raw) * 8 - 1))
        raw[bit // 8] ^= 1 << (bit % 8)
        envelope[field] = b64(bytes(raw))
    elif kind in ("swap-payload", "swap-sig"):
        field = "payload" if kind == "swap-payload" else "sig"
        other = draw(st.sampled_from([e for e in GENUINE_ENVELOPES if e[field] != envelope[field]]))
        envelope[field] = other[field]
    elif kind == "retype":
        envelope["type"] = draw(st.sampled_from(["account", "op-result", "pricelist", "Account", "", "invoice"]))
    elif kind == "rekid":
        envelope["kid"] = draw(st.sampled_from([OLD.kid, NEW.kid, "demo", "", "../demo", "srv-2026 "]))
    elif kind == "resign-stranger":
        payload = json.loads(unb64(envelope["payload"]))
        payload["balance_ticks"] = draw(st.integers(0, 10**20))
        envelope = STRANGER.sign_envelope(envelope["type"], payload)
        envelope["kid"] = draw(st.sampled_from([OLD.kid, NEW.kid]))
    elif kind == "reserialise":  # the same JSON content written differently is not the signed bytes
        payload = json.loads(unb64(envelope["payload"]))
        raw = json.dumps(payload, indent=draw(st.sampled_from([None, 1])), sort_keys=draw(st.booleans())).encode()
        envelope["payload"] = b64(raw)
    elif kind == "extra-field":
        envelope[draw(st.sampled_from(["alg", "Type", "payload2", "x"]))] = draw(st.text(max_size=5))
    elif kind == "drop-field":
        del envelope[draw(st.sampled_from(["type", "kid", "payload", "sig"]))]
    elif kind == "nonstring":
        envelope[draw(st.sampled_from(["type", "kid", "payload", "sig"]))] = draw(
            st.one_of(st.none(), st.integers(), st.lists(st.integers(), max_size=2), st.booleans()))
    elif kind == "truncate":
        field = draw(st.sampled_from(["payload", "sig"]))
        envelope[field] = envelope[field][: draw(st.integers(0, len(envelope[field]) - 1))]
    elif kind == "pad":
        field = draw(st.sampled_from(["payload", "sig"]))
        envelope[field] = envelope[field] + draw(st.sampled_from(["=", "==", "A", " ", "\n"]))
    elif kind == "case":
        field = draw(st.sampled_from(["payload", "sig"]))
        envelope[field] = envelope[field].swapcase()
    if draw(st.booleans()):  # sometimes as the raw JSON text a proxy could hand over
        return original, json.dumps(envelope) if draw(st.booleans()) else envelope
    return original, envelope


@FUZZ
@given(mutated_envelopes(), st.sampled_from([None, "account", "op-result", "pricelist"]))
def test_an_edited_envelope_is_refused_with_a_signature_error_unless_it_is_unchanged(case, expected_type):
    """DESIGN §4: one genuine envelope verifies; every edit of it, however clever, is refused."""
    original, mutated = case
    try:
        payload = RING.verify_envelope(mutated, expected_type)
    except SignatureError:
        COUNTS["envelopes"].tick(refused=True)
        return
    COUNTS["envelopes"].tick(refused=False)
    assert mutated == original, f"an edited envelope was accepted: {mutated!r}"
    assert payload == json.loads(unb64(original["payload"]))


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(allow_nan=True),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
                    max_leaves=12),
       st.sampled_from([None, "account", "op-result", "pricelist"]))
def test_verifying_any_json_value_only_ever_raises_a_signature_error(value, expected_type):
    """Whatever a proxy or a broken server returns, the app sees a SignatureError and nothing else."""
    with pytest.raises(SignatureError):
        RING.verify_envelope(value, expected_type)
    COUNTS["arbitrary"].tick(refused=True)
