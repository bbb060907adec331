"""The fields of each op kind as the server checks them and openapi.json shows them: read from each kind's one
declaration in rental (rental.opkinds, DESIGN §6 "Op kinds")."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from rental import ops as _declared  # noqa: F401  (declares the kinds of DESIGN §5)
from rental.errors import RuleViolation
from rental.opkinds import COMMON, KINDS, MAX_ITEMS, Field, check_fields
from rental.reload import THRESHOLDS as RELOAD_DAYS
from rental.rules import MAX_QTY, MODES, PLATFORMS
from rental.validation import is_uuid  # noqa: F401  (is_uuid: the server's one UUID check)


class _Fields(Mapping):
    """Each declared kind's fields, by kind (a live view: a kind declared later is here too)."""

    def __getitem__(self, kind: str) -> tuple[Field, ...]:
        return KINDS[kind].fields

    def __iter__(self) -> Iterator[str]:
        return iter(list(KINDS))

    def __len__(self) -> int:
        return len(KINDS)


OPS: Mapping[str, tuple[Field, ...]] = _Fields()


def validate(op: dict[str, Any]) -> dict[str, Any]:
    """The op's own fields, checked by its kind's declaration; a RuleViolation (rule bad-op) names the first wrong
    field and what it should be."""
    values, problems = check_fields(op["kind"], op)
    if problems:
        raise RuleViolation(problems[0][1])
    return values


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
