"""Signed documents as the license server writes them (demo key), to put a verified replica in a store."""

from __future__ import annotations

import copy
import uuid

from rental.money import TICKS_PER_MILLI

ACCOUNT_ID = "6c1d0a4e-3f5b-4a8e-9d2c-0b7e1f2a3c4d"
PBX_ID = "pbx-lobby"


def account_payload(*, as_of: int, balance_milli: int = 100_000, licenses: dict[str, int] | None = None,
                    revision: int = 3, status: str | None = None, cloud_contract: bool = False,
                    pbx_mode: str = "rental", pbx_revision: int = 2, price_version: str = "2026-11",
                    prices: dict | None = None, name: str = "Acme Dental") -> dict:
    """An account snapshot with one PBX; prices maps ref → monthly_milli (from the demo list)."""
    licenses = {} if licenses is None else licenses
    prices = prices or {}
    rate = sum(12 * prices[ref] * qty for ref, qty in licenses.items())
    balance = balance_milli * TICKS_PER_MILLI
    if status is None:
        status = "active" if rate else "idle"
    return {
        "type": "account", "account_id": ACCOUNT_ID, "partner": "acme-partners", "name": name,
        "contact_email": "office@acme-dental.example", "cloud_contract": cloud_contract, "language": "en",
        "status": status, "revision": revision, "as_of": as_of, "balance_ticks": balance,
        "rate_ticks_per_s": rate if status == "active" else 0,
        "depletes_at": (as_of + balance // rate) if rate and status == "active" else None,
        "price_version": price_version,
        "pbxs": [{
            "pbx_id": PBX_ID, "name": "Lobby", "serial": "SN-0001", "platform": "vmware", "hardware_model": None,
            "firmware": "13r2", "mode": pbx_mode, "status": status if licenses else "idle", "revision": pbx_revision,
            "licenses": [{"ref": ref, "qty": qty, "monthly_milli": prices[ref], "rate_ticks_per_s": 12 * prices[ref] * qty,
                          "price_version": price_version} for ref, qty in sorted(licenses.items())],
        }],
    }


def pricelist_payload(demo_prices: dict, *, version: str = "2026-11", published_at: int = 1_790_000_000) -> dict:
    data = copy.deepcopy(demo_prices)
    return {"type": "pricelist", "version": version, "published_at": published_at, "items": data["items"]}


def monthly(demo_prices: dict) -> dict[str, int]:
    return {item["ref"]: item["monthly_milli"] for item in demo_prices["items"]}


def seed(store, signer, now: int, *, account: dict | None = None, pricelist: dict | None = None) -> None:
    """Store signed envelopes as a sync would (they are verified on the way in)."""
    with store.unit_of_work(write=True) as uow:
        if pricelist is not None:
            assert uow.replica.store_pricelist(uow.keyring, signer.sign_envelope("pricelist", pricelist), now)
        if account is not None:
            uow.replica.store_account(uow.keyring, signer.sign_envelope("account", account), now)
        uow.commit()


def new_id() -> str:
    return str(uuid.uuid4())
