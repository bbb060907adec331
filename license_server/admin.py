"""The vendor's administrative actions, as plain functions the CLI and the tests call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from rental.errors import PriceListError
from rental.pricing import PriceList

from . import models
from .auth import new_token, token_hash
from .context import ServerContext
from .db import writing

DEMO_PRICELIST = Path(__file__).resolve().parent / "demo" / "pricelist.json"
DEMO_TERMS = Path(__file__).resolve().parent / "demo" / "terms.json"
MAX_KEYS_PER_CALL = 10_000


def init_db(ctx: ServerContext) -> None:
    """Create or migrate the schema (Alembic)."""
    from . import migrations  # Alembic is slow to import and only this command needs it

    migrations.upgrade(ctx.engine)


def add_technician(ctx: ServerContext, partner: str, name: str) -> str:
    """Register a technician of partner (created when new); returns the bearer token, shown this once."""
    partner, name = (partner or "").strip(), (name or "").strip()
    if not partner or len(partner) > 100:
        raise ValueError("--partner must be 1 to 100 characters (the partner company's name)")
    if not name or len(name) > 200:
        raise ValueError("--name must be 1 to 200 characters (the technician's name)")
    token = new_token()
    now = ctx.now()
    with writing(ctx.engine) as connection:
        known = connection.execute(select(models.partners.c.name).where(models.partners.c.name == partner)).first()
        if known is None:
            connection.execute(insert(models.partners).values(name=partner, created_at=now))
        connection.execute(insert(models.technicians).values(
            partner=partner, name=name, token_hash=token_hash(token), created_at=now))
    return token


def issue_keys(ctx: ServerContext, amount_milli: int, count: int) -> list[str]:
    """count activation keys worth amount_milli each, signed by the server's key (R11)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_KEYS_PER_CALL:
        raise ValueError(f"--count must be a whole number from 1 to {MAX_KEYS_PER_CALL:,}")
    now = ctx.now()
    return [ctx.signer.issue_key(amount_milli, now) for _ in range(count)]


def publish_prices(ctx: ServerContext, data: dict[str, Any] | str | Path) -> PriceList:
    """Make a price list current from now (R23: accounts move to it at their next connection event)."""
    if isinstance(data, (str, Path)):
        try:
            data = json.loads(Path(data).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise PriceListError(f"cannot read the price list {data}: {exc}") from None
    now = ctx.now()
    if isinstance(data, dict):
        data = {key: value for key, value in data.items() if key != "published_at"}
    pricelist = PriceList.from_dict(data, published_at=now)
    try:
        with writing(ctx.engine) as connection:
            connection.execute(insert(models.pricelists).values(
                version=pricelist.version, published_at=now, body=json.dumps(pricelist.to_dict())))
    except IntegrityError:
        raise PriceListError(f"price list version {pricelist.version!r} was published before: "
                             "give the new list a new version") from None
    ctx.forget_prices()
    return pricelist


def demo_pricelist() -> dict[str, Any]:
    """The demo price list shipped with the package (milli-iSC per month)."""
    return json.loads(DEMO_PRICELIST.read_text(encoding="utf-8"))


def demo_terms() -> dict[str, Any]:
    """The demo rental terms shipped with the package (R26), English and French Markdown."""
    return json.loads(DEMO_TERMS.read_text(encoding="utf-8"))
