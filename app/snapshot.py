"""What a verified account snapshot says, as the core's values (DESIGN §5 account payload): its running state, the
keys it holds, and the ledger entries it still owes up to a second. Read by the projection and the replica alike."""

from __future__ import annotations

from rental import billing, reload
from rental.billing import Account, Line
from rental.pricing import PriceHistory
from rental.reload import Deposit
from rental.rules import Policy


def account_from_payload(payload: dict) -> Account:
    """The running state a verified snapshot describes (DESIGN §3)."""
    version = payload.get("price_version")
    lines = tuple(
        Line(pbx_id=pbx["pbx_id"], ref=lic["ref"], qty=lic["qty"], monthly_milli=lic["monthly_milli"],
             price_version=lic.get("price_version") or version)
        for pbx in payload.get("pbxs", []) for lic in pbx.get("licenses", []))
    status = payload["status"]
    return Account(as_of=payload["as_of"], balance=payload["balance_ticks"], lines=lines,
                   suspended=status == billing.SUSPENDED, deleted=status == billing.DELETED,
                   last_activity_at=payload.get("last_activity_at", payload["as_of"]), price_version=version)


def deposits_from_payload(payload: dict) -> tuple[Deposit, ...]:
    """The keys held for the account (R24), oldest first, as the signed snapshot lists them."""
    return reload.ordered(Deposit.from_dict(raw) for raw in payload.get("deposits") or ())


def reload_at_of(payload: dict) -> int | None:
    """The second automatic reload redeems the snapshot's next held key (R24), as the projection runs the snapshot
    forward (rental.reload.next_reload_at on its own state, keys and threshold); None when none will. Until that
    second the snapshot's state, its price list included, is what a reload leaves it (R23)."""
    days = payload.get("auto_reload_days") or 0
    if not days or not payload.get("deposits"):
        return None
    return reload.next_reload_at(account_from_payload(payload), days, deposits_from_payload(payload))


def open_entries(payload: dict, until: int, policy: Policy = Policy(),
                 prices: PriceHistory | None = None) -> tuple[billing.Entry, ...]:
    """The ledger entries a verified snapshot still owes up to second until (R25): its charges and automatic
    reloads (R24) from its as_of on, by the very call the server makes for its ledger's open lines
    (rental.reload.forward), so charged + written lines tie to the server's ledger at that second (DESIGN §6)."""
    raw = account_from_payload(payload)
    if raw.deleted or until <= raw.as_of:
        return ()
    done, settled = reload.forward(raw, deposits_from_payload(payload), payload.get("auto_reload_days") or 0,
                                   policy, until, prices)
    return tuple(done.entries) + tuple(settled.entries)
