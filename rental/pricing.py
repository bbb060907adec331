"""The price list: items, their monthly price and whether they may be rented (R2, R3, R12)."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from .errors import PriceListError, RuleViolation
from .money import MAX_MILLI, rate_ticks_per_s

HARDWARE_PREFIX = "01-00500-"
#: Categories the guide excludes or includes by nature (R2, R3).
THIRD_PARTY = "third-party"
MAINTENANCE = "maintenance"
HARDWARE = "hardware"
DEVICE_RENTAL = "device-rental"  # vendor hardware rented with iSC, charged per second (R13)

_REF = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")


@dataclass(frozen=True)
class PriceItem:
    """One price-list reference with its monthly rent in milli-iSC (R12)."""

    ref: str
    name: str
    category: str
    monthly_milli: int
    rentable: bool = True
    note: str = ""

    @property
    def rate_ticks_per_s(self) -> int:
        """Per-second rent of one unit, exact (R21)."""
        return rate_ticks_per_s(self.monthly_milli)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "name": self.name,
            "category": self.category,
            "monthly_milli": self.monthly_milli,
            "rentable": self.rentable,
            "note": self.note,
        }


def is_hardware_ref(ref: str) -> bool:
    """Hardware licenses (01-00500-xxx) are never rented, whatever a list says (R2)."""
    return ref.upper().startswith(HARDWARE_PREFIX)


def is_maintenance(item: PriceItem) -> bool:
    """Software maintenance is included in the rent and never billed (R3)."""
    return item.category == MAINTENANCE


def rentability_problem(item: PriceItem) -> RuleViolation | None:
    """Why item cannot be rented on a rental PBX, or None if it can (R2, R3).

    Vendor hardware *rented* with iSC (category ``device-rental``, R13) is rentable; hardware
    *licenses* (01-00500-xxx) never are.
    """
    if is_hardware_ref(item.ref) or item.category == HARDWARE:
        return RuleViolation.of("hardware-license", ref=item.ref, name=item.name)
    if item.category == THIRD_PARTY:
        return RuleViolation.of("third-party", ref=item.ref, name=item.name)
    if is_maintenance(item):
        return RuleViolation.of("maintenance-included", ref=item.ref, name=item.name)
    if not item.rentable:
        return RuleViolation.of("not-offered", ref=item.ref, name=item.name)
    return None


def is_rentable(item: PriceItem) -> bool:
    """True when the item may be part of a rental configuration (R2, R3)."""
    return rentability_problem(item) is None


@dataclass(frozen=True)
class PriceList:
    """A published price list; its version is recorded on every charge (R23, R25)."""

    version: str
    published_at: int
    items: Mapping[str, PriceItem] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", MappingProxyType(dict(self.items)))

    def get(self, ref: str) -> PriceItem | None:
        return self.items.get(ref)

    def item(self, ref: str) -> PriceItem:
        """The item for ref, or a clear not-found violation."""
        found = self.items.get(ref)
        if found is None:
            raise RuleViolation.of("item-unknown", ref=ref, version=self.version)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "published_at": self.published_at,
            "items": [item.to_dict() for item in self.items.values()],
        }

    @classmethod
    def from_dict(cls, data: Any, *, published_at: int | None = None) -> "PriceList":
        """Validate a price list read from JSON; every message names the bad item."""
        if not isinstance(data, dict):
            raise PriceListError("pricelist-not-object")
        version = data.get("version")
        if not isinstance(version, str) or not version.strip() or len(version) > 64:
            raise PriceListError("pricelist-version")
        when = data.get("published_at", published_at)
        if when is None:
            when = 0
        if isinstance(when, bool) or not isinstance(when, int) or when < 0:
            raise PriceListError("pricelist-published-at")
        raw_items = data.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise PriceListError("pricelist-items")
        items: dict[str, PriceItem] = {}
        for index, raw in enumerate(raw_items):
            item = _item_from_dict(raw, index)
            if item.ref in items:
                raise PriceListError("item-twice", index=index + 1, ref=item.ref)
            items[item.ref] = item
        return cls(version=version, published_at=when, items=items)



class PriceHistory:
    """The price lists published, oldest first: which one was in force at a second (R23, R24). An automatic
    reload is a connection event at its own second and re-rates at the list in force then, the latest published
    at or before it, whenever it is applied; later seconds than the newest list known are priced at it."""

    __slots__ = ("_lists", "_times")

    def __init__(self, lists: "Iterable[PriceList | None]" = ()):
        known = sorted((each for each in lists if each is not None), key=lambda each: each.published_at)
        self._lists = tuple(known)
        self._times = tuple(each.published_at for each in known)

    def at(self, second: int) -> "PriceList | None":
        """The list in force at second: the latest published at or before it; None before the first."""
        index = bisect_right(self._times, second)
        return self._lists[index - 1] if index else None

    @property
    def latest(self) -> "PriceList | None":
        return self._lists[-1] if self._lists else None

    def version(self, version: str) -> "PriceList | None":
        """The list published as version (the one a technician saw, R23), or None when this history lacks it."""
        return next((each for each in self._lists if each.version == version), None)

    def __bool__(self) -> bool:
        return bool(self._lists)


def _item_from_dict(raw: Any, index: int) -> PriceItem:
    if not isinstance(raw, dict):
        raise PriceListError("item-not-object", index=index + 1)
    ref = raw.get("ref")
    if not isinstance(ref, str) or not _REF.match(ref):
        raise PriceListError("item-ref", index=index + 1)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PriceListError("item-needs", index=index + 1, ref=ref, key="name")
    category = raw.get("category")
    if not isinstance(category, str) or not category.strip():
        raise PriceListError("item-needs", index=index + 1, ref=ref, key="category")
    monthly = raw.get("monthly_milli")
    if isinstance(monthly, float):
        raise PriceListError("item-price-float", index=index + 1, ref=ref)
    if isinstance(monthly, bool) or not isinstance(monthly, int) or monthly < 0 or monthly > MAX_MILLI:
        raise PriceListError("item-price", index=index + 1, ref=ref)
    rentable = raw.get("rentable", True)
    if not isinstance(rentable, bool):
        raise PriceListError("item-rentable", index=index + 1, ref=ref)
    note = raw.get("note", "") or ""
    if not isinstance(note, str):
        raise PriceListError("item-note", index=index + 1, ref=ref)
    if is_hardware_ref(ref):
        rentable = False  # R2: refused by reference whatever the list says
    return PriceItem(ref=ref, name=name.strip(), category=category.strip(), monthly_milli=monthly,
                     rentable=rentable, note=note)
