"""The fields of each op kind (DESIGN §5), as data: the server validates with it and openapi.json shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rental import validation
from rental.errors import FieldError
from rental.reasons import Reason
from rental.reload import THRESHOLDS as RELOAD_DAYS
from rental.rules import MAX_QTY, MODES, PLATFORMS
from rental.validation import MAX_TEXT, is_uuid  # noqa: F401  (is_uuid: the server's one UUID check)

MAX_ITEMS = 500


class BadOp(ValueError):
    """An op whose fields are missing, of the wrong type or out of range (rule `bad-op`); its reason travels as
    data (``reason``), its English wording is the message."""

    def __init__(self, message: str, reason=None):
        super().__init__(message)
        self.reason = reason


def _bad_op(code: str, **params: Any) -> BadOp:
    """The refusal of a field, as a reason of the catalog (clients translate from its code)."""
    reason = Reason.of(code, **params)
    return BadOp(reason.message, reason)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text, email, bool, language, pbx_id, platform, mode, firmware, revision, items, key, milli
    required: bool = True
    max_len: int = MAX_TEXT
    description: str = ""


OPS: dict[str, tuple[Field, ...]] = {
    "create_account": (
        Field("name", "text"), Field("contact_email", "email", max_len=254), Field("cloud_contract", "bool"),
        Field("language", "language", required=False, description="en or fr (default en): the language of e-mails"),
        Field("terms_version", "text", False, 64, "the version of the rental terms the customer accepted (R26): "
                                                  "the current one, once the vendor published terms"),
        Field("accepted_by", "text", False, 200, "the name of the customer's signatory who accepted them (R26)"),
    ),
    "update_account": (
        Field("name", "text", False), Field("contact_email", "email", False, 254),
        Field("cloud_contract", "bool", False), Field("language", "language", False),
        Field("auto_reload_days", "reload_days", False,
              description="automatic reload (R24): 0 off, or 14 or 28, the runtime in days at which the oldest "
                          "deposited key is redeemed"),
    ),
    "register_pbx": (
        Field("pbx_id", "pbx_id"), Field("name", "text"), Field("serial", "text", max_len=100),
        Field("platform", "platform"), Field("hardware_model", "text", False, 100), Field("firmware", "firmware"),
        Field("mode", "mode"),
    ),
    "update_pbx": (
        Field("pbx_id", "pbx_id"), Field("base_revision", "revision"), Field("name", "text", False),
        Field("firmware", "firmware", False), Field("platform", "platform", False),
        Field("hardware_model", "text", False, 100),
        Field("mode", "mode", False, description="purchased → rental when R1 and R7 hold; rental → purchased "
                                                 "when it rents nothing (R8)"),
        Field("purchased_removed", "bool", False, description="purchased → rental: the technician confirms the "
                                                              "PBX's purchased licenses were removed (R8)"),
    ),
    "set_licenses": (
        Field("pbx_id", "pbx_id"), Field("base_revision", "revision"),
        Field("items", "items", description="the desired state {ref: qty}; {} ends the rent (R19)"),
    ),
    "remove_pbx": (Field("pbx_id", "pbx_id"), Field("base_revision", "revision")),
    "redeem_key": (Field("key", "key", max_len=300, description="an activation key, ISC1-…"),),
    "deposit_key": (Field("key", "key", max_len=300, description="an activation key, ISC1-…, held for this account "
                                                                 "until automatic reload redeems it (R24)"),),
    "withdraw_key": (Field("key_id", "key_id", max_len=20, description="the hex id of a key held for this account "
                                                                       "(R24): given back, usable anywhere"),),
    "delete_account": (
        Field("confirm_forfeit_milli", "milli",
              description="the balance in milli-iSC as shown, rounded down: consent to forfeit it (R13)"),
    ),
}
COMMON = ("op_id", "kind", "account_id")


def validate(op: dict[str, Any]) -> dict[str, Any]:
    """The op's own fields, checked; BadOp names the first wrong field and what it should be."""
    kind = op["kind"]
    spec = OPS[kind]
    known = {field.name for field in spec}
    unknown = sorted(set(op) - known - set(COMMON))
    if unknown:
        raise _bad_op("op-field-unknown", kind=kind, name=validation.shown(unknown[0]), fields=sorted(known))
    values: dict[str, Any] = {}
    for field in spec:
        if field.name not in op or (op[field.name] is None and not field.required):
            if field.required:
                raise _bad_op("op-field-missing", kind=kind, name=field.name)
            continue
        values[field.name] = _check(kind, field, op[field.name])
    return values


#: Field kinds checked by the validation the app runs offline too (rental.validation).
_SHARED = {
    "email": validation.email,
    "language": validation.language,
    "pbx_id": validation.pbx_id,
    "firmware": validation.firmware,
    "bool": validation.boolean,
    "revision": validation.whole,
    "milli": validation.whole,
}


def _check(kind: str, field: Field, value: Any) -> Any:
    where = f"{kind}.{field.name}"
    if field.kind == "reload_days":
        if isinstance(value, bool) or value not in RELOAD_DAYS:
            raise _bad_op("reload-days-invalid", days=str(value)[:20])  # the decider's own refusal (R24)
        return value
    if field.kind == "key_id":
        if not isinstance(value, str) or not 1 <= len(value) <= field.max_len or not all(
                c in "0123456789abcdefABCDEF" for c in value):
            raise _bad_op("key-id-invalid", field=where, max=field.max_len)
        return value.lower()
    try:
        if field.kind in _SHARED:
            return _SHARED[field.kind](value, where)
        if field.kind != "items":  # text, key, platform, mode: their meaning is the rules' to judge
            return validation.text(value, where, field.max_len)
    except FieldError as exc:
        raise BadOp(exc.message, exc.reason) from None
    if not isinstance(value, dict):
        raise _bad_op("items-not-object", field=where, got=validation.type_code(value))
    if len(value) > MAX_ITEMS:
        raise _bad_op("items-too-many", field=where, count=len(value), max=MAX_ITEMS)
    for ref, qty in value.items():
        if not validation.is_utf8(ref):
            raise _bad_op("field-not-unicode", field=where)  # a reference of the items
        if len(ref) > 40:
            raise _bad_op("ref-too-long", field=where, max=40, ref=validation.shown(ref[:40]))
        if isinstance(qty, bool) or not isinstance(qty, int) or not 0 <= qty <= MAX_QTY:
            raise _bad_op("quantity-invalid", ref=ref, max=MAX_QTY)  # the rules' own wording (rental.rules)
    return value


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one op kind, for openapi.json."""
    props: dict[str, Any] = {
        "op_id": {"type": "string", "format": "uuid", "description": "idempotency key, made by the client"},
        "kind": {"const": kind},
        "account_id": {"type": "string", "format": "uuid"},
    }
    for field in OPS[kind]:
        props[field.name] = _field_schema(field)
    required = list(COMMON) + [field.name for field in OPS[kind] if field.required]
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def _field_schema(field: Field) -> dict[str, Any]:
    schema: dict[str, Any]
    if field.kind == "bool":
        schema = {"type": "boolean"}
    elif field.kind in ("revision", "milli"):
        schema = {"type": "integer", "minimum": 0}
    elif field.kind == "items":
        schema = {"type": "object", "maxProperties": MAX_ITEMS,
                  "additionalProperties": {"type": "integer", "minimum": 0, "maximum": MAX_QTY}}
    elif field.kind == "reload_days":
        schema = {"type": "integer", "enum": list(RELOAD_DAYS)}
    elif field.kind == "key_id":
        schema = {"type": "string", "pattern": "^[0-9a-fA-F]{1,20}$"}
    elif field.kind == "language":
        schema = {"type": "string", "enum": ["en", "fr"]}
    elif field.kind == "platform":
        schema = {"type": "string", "enum": list(PLATFORMS),
                  "description": "a rental PBX on any other platform is refused (R7)"}
    elif field.kind == "mode":
        schema = {"type": "string", "enum": list(MODES)}
    elif field.kind == "email":
        schema = {"type": "string", "format": "email", "maxLength": field.max_len}
    else:
        schema = {"type": "string", "minLength": 1, "maxLength": field.max_len}
    if field.description:
        schema["description"] = field.description
    return schema
