"""What an op kind is (DESIGN §6 "Op kinds"): one declaration each, read by every layer.

A declaration names the kind's fields and their checks, its decision (rental.ops), how a queued op of the kind
is described (a catalog code and its params), and its flags: carries an activation key, bumps a PBX's
revision, names a serial for R6, is a connection event. The license server's schema and OpenAPI, the app's
field checks, projection, conflict handling and labels read the declarations here; rental/ops.py declares the
ten kinds of DESIGN §5 next to their decisions. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from . import validation
from .errors import RuleViolation
from .reasons import Reason
from .reload import THRESHOLDS as RELOAD_DAYS
from .rules import MAX_QTY

MAX_ITEMS = 500  # references in one desired state
MAX_REF = 40  # a price-list reference
COMMON = ("op_id", "kind", "account_id")  # every op's own fields, around its kind's


@dataclass(frozen=True)
class Field:
    """One field of an op kind: its name, its kind of value (how it is checked and shown in the API's schema)."""

    name: str
    kind: str  # text, email, bool, language, pbx_id, platform, mode, firmware, revision, items, key, key_id, milli...
    required: bool = True
    max_len: int = validation.MAX_TEXT
    description: str = ""


class Names:
    """How a description names what an op's fields hold by id (the app gives a PBX's and an item's names)."""

    def pbx(self, pbx_id: str) -> str:
        return pbx_id

    def item(self, ref: str) -> str:
        return ref


#: Any op may carry the version of the price list the technician saw (DESIGN §5): an applied connection event
#: decided at another version warns ``rerated`` (R23) when the account's monthly differs between the two.
PRICELIST_VERSION = Field("pricelist_version", "text", False, 64,
                          "the version of the price list the technician saw when making the change (R23)")


def _no_description(kind: str) -> Callable[[Mapping[str, Any], Names], Reason]:
    return lambda body, names: Reason("", "op-" + kind.replace("_", "-"), {})


@dataclass(frozen=True)
class OpKind:
    """One op kind, declared once. ``decide(state, fields, ctx) -> rental.ops.Decision`` (state None only for a
    kind that opens an account); ``describe(body, names) -> Reason`` words a queued op (a catalog code)."""

    name: str
    fields: tuple[Field, ...]
    decide: Callable[..., Any]
    describe: Callable[[Mapping[str, Any], Names], Reason] | None = None
    #: carries an activation key (field ``key``), verified before the decision (R11)
    carries_key: bool = False
    #: the key is held for the account (R24), not credited: stored held, shown "held for automatic reload"
    holds_key: bool = False
    #: raises the revision of the PBX it names by one when applied (DESIGN §5 base_revision)
    bumps_revision: bool = False
    #: names a PBX whose serial R6's memory follows (its reductions are remembered by serial)
    names_serial: bool = False
    #: may be a connection event (R9): settles and re-rates at the current list
    connection: bool = False
    #: opens the account (the only kind decided on no state)
    opens_account: bool = False
    #: sets a PBX's desired licenses (``items``): queued ones of one PBX that never left the laptop collapse
    #: into the newest (DESIGN §6 outbox), shown as the PBX's queued licenses
    sets_licenses: bool = False
    #: a resolved op queued again ("reapply") takes fields renewed on the newest state (e.g. R13's consent)
    renew: Callable[[Any, Mapping[str, Any]], Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        # every kind may carry the price list the technician saw (DESIGN §5, R23): declared once, here
        if PRICELIST_VERSION.name not in (each.name for each in self.fields):
            object.__setattr__(self, "fields", (*self.fields, PRICELIST_VERSION))

    @property
    def label_code(self) -> str:
        """The catalog code of the kind's name as screens show it ("kind-" + name, rental.reasons.KIND_NAMES)."""
        return kind_code(self.name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(each.name for each in self.fields)

    @property
    def names_pbx(self) -> bool:
        """An op of the kind concerns one PBX (its ``pbx_id`` field)."""
        return "pbx_id" in self.field_names

    @property
    def checks_revision(self) -> bool:
        """An op of the kind carries the PBX revision it was made on (``base_revision``, a conflict otherwise)."""
        return "base_revision" in self.field_names and self.names_pbx

    @property
    def checks_account_revision(self) -> bool:
        """An op of the kind may carry the account revision it was made on (``base_revision``): a field it
        changes that someone else changed since clashes (DESIGN §5, edit-conflict)."""
        return "base_revision" in self.field_names and not self.names_pbx

    @property
    def reviewed_before_reapply(self) -> bool:
        """An op of the kind, refused or in conflict, overrides what someone else set when re-applied (it carries
        the PBX or account revision it was made on): the app shows what it would change on the server's current
        state and asks before queueing it again (issue 21)."""
        return self.checks_revision or self.checks_account_revision

    def description(self, body: Mapping[str, Any], names: Names | None = None) -> Reason:
        """One line for a queued op of the kind, as a reason screens translate from its code (a notice)."""
        describe = self.describe or _no_description(self.name)
        return describe(body, names or Names())


#: Every declared kind, in the order declared (DESIGN §5's order for the ten of rental/ops.py).
KINDS: dict[str, OpKind] = {}


def kind_code(name: str) -> str:
    """The catalog code of an op kind's name (its label on screens)."""
    return "kind-" + name.replace("_", "-")


def declare(kind: OpKind) -> OpKind:
    """Add a kind to the declarations every layer reads (once per name)."""
    if kind.name in KINDS and KINDS[kind.name] is not kind:
        raise ValueError(f"op kind {kind.name!r} is declared already")
    KINDS[kind.name] = kind
    return kind


class declared:  # noqa: N801 - used as a function: ``with declared(kind):``
    """A kind declared for the length of a ``with`` block (a test's throwaway kind), then forgotten."""

    def __init__(self, kind: OpKind):
        self.kind = kind

    def __enter__(self) -> OpKind:
        return declare(self.kind)

    def __exit__(self, *exc: object) -> None:
        KINDS.pop(self.kind.name, None)


def get(name: str) -> OpKind:
    return KINDS[name]


def with_flag(flag: str) -> tuple[str, ...]:
    """The names of the kinds whose declaration sets flag (e.g. "carries_key")."""
    return tuple(name for name, kind in KINDS.items() if getattr(kind, flag))


# --------------------------------------------------------------------------- the fields' checks


def check_fields(kind: str, op: Mapping[str, Any], label: Callable[[str, Field], str] | None = None, *,
                 every: bool = False, partial: bool = False) -> tuple[dict[str, Any], list[tuple[str | None, Reason]]]:
    """The op's own fields checked by its kind's declaration (rule ``bad-op``): the cleaned values and the
    problems, each with the field it concerns (the first only unless ``every``). ``label(kind, field)`` names a field in a problem (the server:
    "create_account.name"; the app: a form's words). ``partial``: required fields may be left out (a form that
    edits only some). Fields outside the kind's (and op_id, kind, account_id) are a problem."""
    label = label or (lambda name, each: f"{name}.{each.name}")
    spec = KINDS[kind]
    problems: list[tuple[str | None, Reason]] = []
    known = set(spec.field_names)
    unknown = sorted(set(op) - known - set(COMMON))
    if unknown:
        problems.append((None, Reason.of("op-field-unknown", kind=kind, name=validation.shown(unknown[0]),
                                         fields=sorted(known))))
    values: dict[str, Any] = {}
    for each in spec.fields:
        if problems and not every:
            break
        if each.name not in op or (op[each.name] is None and not each.required):
            if each.required and not partial:
                problems.append((each.name, Reason.of("op-field-missing", kind=kind, name=each.name)))
            continue
        try:
            values[each.name] = check_value(each, op[each.name], label(kind, each))
        except RuleViolation as exc:
            problems.append((each.name, exc.reason))
    return values, problems[: None if every else 1]


#: Field kinds checked by one rental.validation function each.
_SHARED = {
    "email": validation.email,
    "language": validation.language,
    "pbx_id": validation.pbx_id,
    "firmware": validation.firmware,
    "bool": validation.boolean,
    "revision": validation.whole,
    "milli": validation.whole,
}


def _refuse(label: str, code: str, **params: Any) -> RuleViolation:
    return RuleViolation(Reason("bad-op", code, params))


def check_value(spec: Field, value: Any, where: str) -> Any:
    """One field's value checked and cleaned, or RuleViolation naming ``where`` and what to write instead."""
    if spec.kind == "reload_days":
        # a whole number: 14.0 == 14 in Python, but a float never enters a signed payload (it would end in a 500)
        if type(value) is not int or value not in RELOAD_DAYS:
            raise _refuse(where, "reload-days-invalid", days=str(value)[:20])  # the decider's own refusal (R24)
        return value
    if spec.kind == "key_id":
        if not isinstance(value, str) or not 1 <= len(value) <= spec.max_len or not all(
                c in "0123456789abcdefABCDEF" for c in value):
            raise _refuse(where, "key-id-invalid", field=where, max=spec.max_len)
        return value.lower()
    if spec.kind in _SHARED:
        return _SHARED[spec.kind](value, where)
    if spec.kind != "items":  # text, key, platform, mode: their meaning is the rules' to judge
        return validation.text(value, where, spec.max_len)
    if not isinstance(value, dict):
        raise _refuse(where, "items-not-object", field=where, got=validation.type_code(value))
    if len(value) > MAX_ITEMS:
        raise _refuse(where, "items-too-many", field=where, count=len(value), max=MAX_ITEMS)
    for ref, qty in value.items():
        if not validation.is_utf8(ref):
            raise _refuse(where, "field-not-unicode", field=where)  # a reference of the items
        if len(ref) > MAX_REF:
            raise _refuse(where, "ref-too-long", field=where, max=MAX_REF, ref=validation.shown(ref[:MAX_REF]))
        if isinstance(qty, bool) or not isinstance(qty, int) or not 0 <= qty <= MAX_QTY:
            raise _refuse(where, "quantity-invalid", ref=ref, max=MAX_QTY)  # the rules' own wording (rental.rules)
    return value
