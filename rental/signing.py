"""Signed documents (DESIGN §4): Ed25519 envelopes from the license server and activation keys (R11).

Anything read from outside is refused with a SignatureError unless its signature is
checked first and good; the only file I/O is the two key loaders at the bottom and
`Keyring.from_dir`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from rental.errors import AmountError, KeyFormatError, KeyRefused, SignatureError
from rental.money import MAX_MILLI, check_milli, require_int
from rental.validation import shown, type_code

__all__ = [
    "ENVELOPE_TYPES",
    "KEY_PREFIX",
    "ActivationKey",
    "Keyring",
    "SigningKey",
    "canonical",
    "load_signing_key",
    "token_binding",
    "write_key_pair",
]

#: The only envelope types there are (DESIGN §4); `technician` (GET /whoami) tells the app whose token it holds.
ENVELOPE_TYPES = frozenset({"account", "op-result", "pricelist", "terms", "technician"})  # terms: R26


def token_binding(token: str) -> str:
    """What a signed `technician` document carries to say which token it answers: a one-way digest, distinct
    from the hash the server stores, so the app can tell the document was made for its own token (not replayed
    from another technician's)."""
    return hashlib.sha256(b"rentdesk/whoami/v1\n" + token.encode("utf-8", "surrogatepass")).hexdigest()

#: A kid is also a file stem (`keys/<kid>.pub`) and travels inside every activation key:
#: keep it short and harmless on any file system.
_KID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")

_SIG_LEN = 64
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_ENVELOPE_FIELDS = ("type", "kid", "payload", "sig")


def _check_kid(kid: object) -> str:
    """A kid names a file and is packed into keys, so only a short plain name will do."""
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise ValueError(
            f"a key id (kid) is 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit, not {kid!r}"
        )
    return kid


def _envelope_domain(type_: str) -> bytes:
    """What is signed before the payload, so a signature for one type never verifies as another."""
    return b"rentdesk/" + type_.encode() + b"/v1\n"


_DOMAINS = {type_: _envelope_domain(type_) for type_ in ENVELOPE_TYPES}


# --------------------------------------------------------------------------- payloads


def _plain_json(value: object) -> bool:
    """True when value is plainly JSON without a float: dicts with text keys, lists, text, ints, None (the hot
    path of every signature: no path string is built; anything unusual goes to _refuse_non_json's full walk)."""
    stack = [value]
    while stack:
        container = stack.pop()
        if type(container) is dict:
            for key in container:
                if type(key) is not str:
                    return False
            items = container.values()
        else:
            items = container
        for item in items:
            kind = type(item)
            if kind is str or kind is int or item is None or kind is bool:
                continue
            if kind is dict or kind is list or kind is tuple:
                stack.append(item)
            else:
                return False
    return True


def _refuse_non_json(value: object, where: str = "payload") -> None:
    """Floats never touch money (SPEC, arithmetic), so a signed payload holds none at all."""
    if where == "payload" and type(value) is dict and _plain_json(value):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has a key that is not a string: {key!r}")
            _refuse_non_json(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _refuse_non_json(item, f"{where}[{index}]")
    elif isinstance(value, float):
        raise TypeError(f"{where} is a float ({value!r}): signed payloads hold only ints, never floats")
    elif not (value is None or isinstance(value, (str, int))):  # bool is an int
        raise TypeError(f"{where} cannot be signed: {type(value).__name__} is not JSON")


#: json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False), its encoder made once
_CANONICAL_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode


def _payload_bytes(payload: dict) -> bytes:
    """The one serialisation the server writes (DESIGN §4): compact, sorted keys, UTF-8."""
    text = _CANONICAL_JSON(payload)
    try:
        return text.encode()
    except UnicodeEncodeError as exc:  # a lone surrogate in some string
        raise ValueError(f"payload holds text that is not valid Unicode: {exc}") from None


def _refuse_float(text: str) -> Any:
    raise SignatureError.of("payload-float", number=shown(text))


def _refuse_constant(text: str) -> Any:
    raise SignatureError.of("payload-constant", constant=shown(text))


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise SignatureError.of("payload-key-twice", key=shown(key))
        result[key] = value
    return result


def _parse_payload(raw: bytes) -> dict:
    """Parse a payload whose signature is already good; still refuse anything that is not plain JSON."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text,
            parse_float=_refuse_float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_refuse_duplicates,
        )
    except SignatureError:
        raise
    except UnicodeDecodeError:
        raise SignatureError.of("payload-not-utf8") from None
    except RecursionError:
        raise SignatureError.of("payload-too-deep") from None
    except ValueError as exc:  # JSONDecodeError, or an integer with too many digits
        raise SignatureError.of("payload-not-json") from exc
    if not isinstance(value, dict):
        raise SignatureError.of("payload-not-object", got=type_code(value))
    return value


def _b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str, field: str) -> bytes:
    """Strict unpadded base64url: one text per byte string, so no bit of it can change unnoticed."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise SignatureError.of("envelope-not-base64url", name=field)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SignatureError.of("envelope-not-base64url", name=field) from None
    if _b64url_encode(raw) != text:  # stray bits in the last character
        raise SignatureError.of("envelope-not-canonical", name=field)
    return raw


# --------------------------------------------------------------------------- activation keys

#: Text prefix of every activation key (R11); the 1 is the text format's version.
KEY_PREFIX = "ISC1-"
_KEY_VERSION = 1
_KEY_DOMAIN = b"rentdesk/isc-key/v1\n"
_KEY_ID_LEN = 10
# version (1) | key_id (10) | amount_milli (u64 BE) | issued_at (u64 BE, UTC s) | kid length (1)
_KEY_HEADER_LEN = 1 + _KEY_ID_LEN + 8 + 8 + 1
_GROUP = 5

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SYMBOL_VALUE: dict[str, int] = {}
for _value, _symbol in enumerate(_CROCKFORD):
    _SYMBOL_VALUE[_symbol] = _SYMBOL_VALUE[_symbol.lower()] = _value
for _look_alike, _symbol in (("O", "0"), ("I", "1"), ("L", "1")):
    _SYMBOL_VALUE[_look_alike] = _SYMBOL_VALUE[_look_alike.lower()] = _SYMBOL_VALUE[_symbol]
del _value, _symbol, _look_alike



#: RFC 4648 base32 has Crockford's bit order and zero padding bits, in another alphabet (and with "=" padding)
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD.encode("ascii"))


def _crockford_encode(raw: bytes) -> str:
    """Bytes as Crockford base32, most significant bit first, the last symbol padded with zero bits (base64's
    C encoder in Crockford's alphabet: every key read and printed goes through here)."""
    return base64.b32encode(raw).rstrip(b"=").translate(_FROM_RFC4648).decode("ascii")


def _crockford_decode(values: list[int]) -> bytes:
    """The inverse of _crockford_encode, refusing lengths and padding it never writes."""
    raw, clean = _crockford_read(values)
    if not clean:  # only a typo sets the padding bits
        raise KeyFormatError("key-not-genuine")
    return raw


def _crockford_read(values: list[int]) -> tuple[bytes, bool]:
    """The bytes of Crockford symbols and whether the padding bits are clear; a count of symbols no byte string
    encodes to is a key cut short or with extra characters."""
    number = 0
    for value in values:
        number = (number << 5) | value
    return _crockford_bytes(number, len(values))


def _crockford_bytes(number: int, count: int) -> tuple[bytes, bool]:
    """_crockford_read of count symbols whose values, 5 bits each, make number."""
    bits = count * 5
    size = bits // 8
    pad = bits - size * 8
    if pad >= 5:  # no byte string encodes to this many symbols
        raise KeyFormatError("key-incomplete")
    return (number >> pad).to_bytes(size, "big"), not number & ((1 << pad) - 1)


def _group(body: str) -> str:
    return KEY_PREFIX + "-".join([body[i : i + _GROUP] for i in range(0, len(body), _GROUP)])


#: the symbols and look-alikes a key's body may hold, and each one's value as a digit of int(..., 32)
_KEY_BODY = re.compile("[" + re.escape("".join(_SYMBOL_VALUE)) + "]*")
_TO_BASE32_DIGIT = str.maketrans({symbol: "0123456789abcdefghijklmnopqrstuv"[value]
                                  for symbol, value in _SYMBOL_VALUE.items()})
_TO_CANONICAL = str.maketrans({symbol: _CROCKFORD[value] for symbol, value in _SYMBOL_VALUE.items()})


def _key_number(text: object) -> tuple[int, int, str]:
    """The symbols of a typed key after its prefix as one number, their count and their canonical text: what
    _read_symbols and _crockford_read give, at C speed for a key that is well formed (every redemption reads
    one); anything else goes through _read_symbols, which names the problem."""
    if type(text) is str and text.isascii():
        compact = "".join(text.split()).replace("-", "")
        prefix, body = compact[:4].upper(), compact[4:]
        if len(prefix) == 4 and prefix[:3] == "ISC" and _SYMBOL_VALUE.get(prefix[3]) == 1 and _KEY_BODY.fullmatch(body):
            return (int(body.translate(_TO_BASE32_DIGIT), 32) if body else 0), len(body), body.translate(_TO_CANONICAL)
    values = _read_symbols(text)
    number = 0
    for value in values:
        number = (number << 5) | value
    return number, len(values), "".join(_CROCKFORD[value] for value in values)


def _read_symbols(text: object) -> list[int]:
    """The symbol values of a typed key after its prefix; case, spaces and dashes do not matter."""
    if not isinstance(text, str):
        raise KeyFormatError("key-not-text", got=type(text).__name__)
    chars = [(position, char) for position, char in enumerate(text, 1) if char != "-" and not char.isspace()]
    prefix = "".join(char for _, char in chars[:4]).upper()
    if len(prefix) < 4 or prefix[:3] != "ISC" or _SYMBOL_VALUE.get(prefix[3]) != 1:
        raise KeyFormatError("key-prefix")
    values = []
    for position, char in chars[4:]:
        value = _SYMBOL_VALUE.get(char)
        if value is None:
            if char in "Uu":
                raise KeyFormatError("key-has-u", char=char, position=position)
            raise KeyFormatError("key-bad-char", char=repr(char), position=position)
        values.append(value)
    return values


def canonical(text: str) -> str:
    """A typed key in the form we print (upper case, look-alikes mapped, groups of 5), for display and storage."""
    return _group("".join(_CROCKFORD[value] for value in _read_symbols(text)))


def _pack_key_fields(key_id: bytes, amount_milli: int, issued_at: int, kid: str) -> bytes:
    kid_bytes = kid.encode("ascii")
    return (
        bytes([_KEY_VERSION])
        + key_id
        + amount_milli.to_bytes(8, "big")
        + issued_at.to_bytes(8, "big")
        + bytes([len(kid_bytes)])
        + kid_bytes
    )


def _sign_key_fields(private_key: Ed25519PrivateKey, fields: bytes) -> str:
    """Key text for already packed fields; issue_key checks the values, tests use this to forge bad ones."""
    return _group(_crockford_encode(fields + private_key.sign(_KEY_DOMAIN + fields)))


@dataclass(frozen=True)
class ActivationKey:
    """A verified activation key (R11): genuine, but only the server knows whether it was redeemed."""

    key_id: bytes
    amount_milli: int
    issued_at: int  # whole UTC seconds
    kid: str
    text: str  # canonical form, as canonical() gives it

    @property
    def key_id_hex(self) -> str:
        """The key id as the server stores it and support quotes it."""
        return self.key_id.hex()


# --------------------------------------------------------------------------- keys


class SigningKey:
    """A private Ed25519 key and its kid: the license server's signer (and the demo's)."""

    def __init__(self, kid: str, private_key: Ed25519PrivateKey):
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError(f"a SigningKey holds an Ed25519 private key, not {type(private_key).__name__}")
        self.kid = _check_kid(kid)
        self._private_key = private_key

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"  # never the key itself

    @classmethod
    def generate(cls, kid: str) -> SigningKey:
        """A fresh random key pair."""
        return cls(kid, Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, kid: str, pem_bytes: bytes) -> SigningKey:
        """Read an unencrypted PKCS8 PEM private key; anything else is a KeyFormatError."""
        try:
            key = serialization.load_pem_private_key(pem_bytes, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyFormatError("signing-key-unreadable", kid=kid) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFormatError("signing-key-not-ed25519", kid=kid)
        return cls(kid, key)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._private_key.public_key()

    def private_pem(self) -> bytes:
        """PKCS8 PEM, unencrypted: protect the file instead (mode 0600, outside the repo)."""
        return self._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_pem(self) -> bytes:
        """The `<kid>.pub` file the app trusts."""
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def derive_secret(self, purpose: bytes, length: int = 32) -> bytes:
        """A secret for another purpose (e.g. customer links, R27), derived from this key with HKDF-SHA256: stable
        while the key is, unrelated to it for anyone without the key, different for every purpose."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        raw = self._private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption())
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"rentdesk/" + self.kid.encode(),
                    info=purpose).derive(raw)

    def sign_envelope(self, type_: str, payload: dict) -> dict:
        """Sign a payload as an envelope of type_ (DESIGN §4); floats anywhere are a TypeError."""
        if type_ not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {type_!r}: one of {sorted(ENVELOPE_TYPES)}")
        if not isinstance(payload, dict):
            raise TypeError(f"an envelope payload is a dict, not {type(payload).__name__}")
        if payload.get("type", type_) != type_:
            raise ValueError(f"payload says type {payload['type']!r} but is signed as {type_!r}")
        payload = {**payload, "type": type_}
        _refuse_non_json(payload)
        raw = _payload_bytes(payload)
        sig = self._private_key.sign(_DOMAINS[type_] + raw)
        return {"type": type_, "kid": self.kid, "payload": _b64url_encode(raw), "sig": _b64url_encode(sig)}

    def sign_envelope_text(self, type_: str, payload: dict) -> tuple[dict, str]:
        """sign_envelope(type_, payload) and the envelope as json.dumps writes it (the same text: its four values are
        a type, a kid and two base64url texts, none with a character JSON escapes), without an encoder's work."""
        envelope = self.sign_envelope(type_, payload)
        return envelope, (f'{{"type": "{type_}", "kid": "{self.kid}", "payload": "{envelope["payload"]}", '
                          f'"sig": "{envelope["sig"]}"}}')

    def issue_key(self, amount_milli: int, issued_at: int, key_id: bytes | None = None) -> str:
        """A new activation key worth amount_milli (R11); its text in canonical form."""
        check_milli(amount_milli, "key amount")
        if amount_milli == 0:
            raise AmountError("key-amount-zero")
        require_int(issued_at, "issued_at")
        if not 0 <= issued_at < 2**64:
            raise ValueError(f"issued_at must be whole UTC seconds since 1970, not {issued_at}")
        if key_id is None:
            key_id = os.urandom(_KEY_ID_LEN)
        if not isinstance(key_id, bytes) or len(key_id) != _KEY_ID_LEN:
            raise ValueError(f"a key id is {_KEY_ID_LEN} bytes")
        return _sign_key_fields(self._private_key, _pack_key_fields(key_id, amount_milli, issued_at, self.kid))


#: The fingerprint (Keyring.fingerprint) of RentDesk's public demo key, keys/demo/demo.pub: its private half is in
#: the repository, so anyone can sign with it. Only `rentdesk demo` and the tests may trust it (DESIGN §4).
DEMO_FINGERPRINT = "8165 5b2f 7a52 f069 2147 6ec9 7d5e 357e"


class Keyring:
    """The public keys this side trusts, by kid; several at once during a rotation (DESIGN §4)."""

    def __init__(self) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}

    def __repr__(self) -> str:
        return f"Keyring(kids={list(self.kids)!r})"

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def add(self, kid: str, public_key_or_pem: Ed25519PublicKey | bytes | str) -> Keyring:
        """Trust one more key; a kid already trusted with another key is refused (rotate with a new kid)."""
        _check_kid(kid)
        key = public_key_or_pem
        if isinstance(key, str):
            key = key.encode()
        if isinstance(key, bytes):
            try:
                key = serialization.load_pem_public_key(key)
            except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
                raise KeyFormatError("trusted-key-unreadable", kid=kid) from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFormatError("trusted-key-not-ed25519", kid=kid)
        known = self._keys.get(kid)
        if known is not None and _raw(known) != _raw(key):
            raise SignatureError.of("kid-already-trusted", kid=kid)
        self._keys[kid] = key
        return self

    @classmethod
    def from_dir(cls, path: str | os.PathLike, *, include_demo: bool = False) -> Keyring:
        """Trust every `<kid>.pub` in path; the demo keys in path/demo only when asked (`rentdesk demo`, tests)."""
        folder = Path(path)
        folders = [folder, folder / "demo"] if include_demo else [folder]
        for each in folders:
            if not each.is_dir():  # a bundle without its keys is broken: say so, do not trust nothing quietly
                raise FileNotFoundError(f"no folder of trusted keys at {each}")
        ring = cls()
        files: Iterable[Path] = [file for each in folders for file in sorted(each.glob("*.pub"))]
        for file in files:
            ring.add(file.stem, file.read_bytes())
        return ring

    def demo_kids(self) -> list[str]:
        """The names under which this ring trusts the public demo key (DEMO_FINGERPRINT), whatever they are."""
        return [kid for kid in self._keys if self.fingerprint(kid) == DEMO_FINGERPRINT]

    def fingerprint(self, kid: str) -> str:
        """A short SHA-256 of the raw key, for a person to compare with the one the vendor publishes."""
        digest = hashlib.sha256(_raw(self._key(kid))).hexdigest()[:32]
        return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))

    def _key(self, kid: str) -> Ed25519PublicKey:
        try:
            return self._keys[kid]
        except (KeyError, TypeError):
            named = shown(kid) if isinstance(kid, str) else type(kid).__name__
            raise self._unknown(named, "kid-unknown", "kid-unknown-none-trusted") from None

    def _unknown(self, kid: str, code: str, none_trusted: str) -> SignatureError:
        """Refuses a key id this ring does not trust, naming the ones it does (its own code when none)."""
        if not self.kids:
            return SignatureError.of(none_trusted, kid=kid)
        return SignatureError.of(code, kid=kid, trusted=list(self.kids))

    def verify_envelope(self, envelope: object, expected_type: str | None = None) -> dict:
        """The payload of a genuine envelope (DESIGN §4); anything else, whatever it is, raises SignatureError."""
        if expected_type is not None and expected_type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {expected_type!r}: one of {sorted(ENVELOPE_TYPES)}")
        if not isinstance(envelope, dict):
            raise SignatureError.of("envelope-not-object", got=type_code(envelope))
        if set(envelope) != set(_ENVELOPE_FIELDS):
            raise SignatureError.of("envelope-fields", fields=sorted(shown(str(name)) for name in envelope)[:10])
        for field in _ENVELOPE_FIELDS:
            if not isinstance(envelope[field], str):
                raise SignatureError.of("envelope-field-not-text", name=field)
        type_, kid = envelope["type"], envelope["kid"]
        if type_ not in ENVELOPE_TYPES:
            raise SignatureError.of("envelope-type-unknown", type=shown(type_))
        if expected_type is not None and type_ != expected_type:
            raise SignatureError.of("envelope-type-unexpected", expected=expected_type, type=type_)
        if kid not in self._keys:
            raise self._unknown(shown(kid), "envelope-unknown-key", "envelope-unknown-key-none-trusted")
        raw = _b64url_decode(envelope["payload"], "payload")
        sig = _b64url_decode(envelope["sig"], "sig")
        if len(sig) != _SIG_LEN:
            raise SignatureError.of("envelope-sig-length", length=len(sig), expected=_SIG_LEN)
        try:
            self._keys[kid].verify(sig, _envelope_domain(type_) + raw)
        except InvalidSignature:
            raise SignatureError.of("envelope-bad-signature", type=type_, kid=kid) from None
        payload = _parse_payload(raw)  # only now: never parse what is not signed
        if payload.get("type") != type_:
            said = payload.get("type")
            raise SignatureError.of("payload-type-differs", type=type_,
                                    payload_type=shown(said) if isinstance(said, str) else type_code(said))
        return payload

    def read_key(self, text: object) -> ActivationKey:
        """Check a typed activation key offline (R11); the server alone knows whether it was redeemed."""
        # The length is judged before the padding: a key cut short or extended is incomplete, whatever bits its
        # last symbol leaves; a changed character is mistyped, even one that hits the kid's length byte (the key
        # then still holds a trusted kid where a key of its length would).
        number, count, body = _key_number(text)
        raw, clean = _crockford_bytes(number, count)
        if len(raw) < _KEY_HEADER_LEN + _SIG_LEN:
            raise KeyFormatError("key-incomplete")
        kid_len = raw[_KEY_HEADER_LEN - 1]
        fields_len = _KEY_HEADER_LEN + kid_len
        if len(raw) != fields_len + _SIG_LEN:
            held = raw[_KEY_HEADER_LEN:len(raw) - _SIG_LEN]
            if clean and any(len(kid.encode()) == len(held) and sum(x != y for x, y in zip(kid.encode(), held)) <= 1
                             for kid in self._keys):
                raise KeyFormatError("key-not-genuine")
            raise KeyFormatError("key-incomplete")
        if not clean:
            raise KeyFormatError("key-not-genuine")
        if raw[0] != _KEY_VERSION:
            raise KeyFormatError("key-not-genuine")
        fields, sig = raw[:fields_len], raw[fields_len:]
        key_id = fields[1 : 1 + _KEY_ID_LEN]
        amount_milli = int.from_bytes(fields[11:19], "big")
        issued_at = int.from_bytes(fields[19:27], "big")
        try:
            kid = fields[_KEY_HEADER_LEN:].decode("ascii")
        except UnicodeDecodeError:
            raise KeyFormatError("key-not-genuine") from None
        if not _KID.fullmatch(kid):
            raise KeyFormatError("key-not-genuine")
        if not 0 < amount_milli <= MAX_MILLI:
            raise KeyFormatError("key-not-genuine")
        if kid not in self._keys:
            raise KeyRefused("key-untrusted", kid=kid)
        try:
            self._keys[kid].verify(sig, _KEY_DOMAIN + fields)
        except InvalidSignature:
            raise KeyRefused("key-not-genuine") from None
        # the symbols typed, canonical: with clean padding bits, the very symbols _crockford_encode(raw) gives
        return ActivationKey(key_id, amount_milli, issued_at, kid, _group(body))


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --------------------------------------------------------------------------- files


def load_signing_key(path: str | os.PathLike) -> SigningKey:
    """The server's signing key from its PEM file; the kid is the file's stem (DESIGN §5, gen-key)."""
    path = Path(path)
    return SigningKey.from_pem(path.stem, path.read_bytes())


def write_key_pair(kid: str, out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Make a key pair as out_dir/<kid>.key (mode 0600) and <kid>.pub; never overwrites a private key."""
    key = SigningKey.generate(kid)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = folder / f"{kid}.key", folder / f"{kid}.pub"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(key.private_pem())
    pub_path.write_bytes(key.public_pem())
    return key_path, pub_path
