"""The vendor's administrative actions, as plain functions the CLI and the tests call."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from rental.errors import PriceListError
from rental.money import SECONDS_PER_DAY
from rental.pricing import PriceList

from . import models
from .auth import iso_utc, new_token, token_hash
from .context import ServerContext
from .db import writing

DEMO_PRICELIST = Path(__file__).resolve().parent / "demo" / "pricelist.json"
DEMO_TERMS = Path(__file__).resolve().parent / "demo" / "terms.json"
MAX_KEYS_PER_CALL = 10_000


def init_db(ctx: ServerContext) -> None:
    """Create or migrate the schema (Alembic)."""
    from . import migrations  # Alembic is slow to import and only this command needs it

    migrations.upgrade(ctx.engine)


MAX_EXPIRES_DAYS = 36_500
_CONTROL = {chr(c) for c in range(32)} | {chr(127)}


def _check_label(value: str | None, option: str, limit: int, what: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise ValueError(f"{option} must be 1 to {limit} characters ({what})")
    if any(ch in _CONTROL for ch in value):  # list-technicians and audit are tab-separated lines
        raise ValueError(f"{option} must not hold tabs, line breaks or other control characters")
    return value


def add_technician(ctx: ServerContext, partner: str, name: str, expires_days: int | str | None = None) -> str:
    """Register a technician of partner (created when new); returns the bearer token, shown this once.

    With expires_days the token is answered 401 `token-expired` from that many days on (DESIGN §5).
    """
    partner = _check_label(partner, "--partner", 100, "the partner company's name")
    name = _check_label(name, "--name", 200, "the technician's name")
    days = None
    if expires_days is not None:
        text = str(expires_days).strip()
        if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) <= MAX_EXPIRES_DAYS:
            raise ValueError(f"--expires-days must be a whole number of days from 1 to {MAX_EXPIRES_DAYS:,}, "
                             f"not {expires_days!r}")
        days = int(text)
    token = new_token()
    now = ctx.now()
    with writing(ctx.engine) as connection:
        known = connection.execute(select(models.partners.c.name).where(models.partners.c.name == partner)).first()
        if known is None:
            connection.execute(insert(models.partners).values(name=partner, created_at=now))
        connection.execute(insert(models.technicians).values(
            partner=partner, name=name, token_hash=token_hash(token), created_at=now,
            expires_at=None if days is None else now + days * SECONDS_PER_DAY))
    return token


@dataclass(frozen=True)
class TechnicianRow:
    """One line of `list-technicians` (DESIGN §5)."""

    id: int
    partner: str
    name: str
    created_at: int
    state: str  # active, revoked, expired

    def line(self) -> str:
        return "\t".join((str(self.id), self.partner, self.name, iso_utc(self.created_at), self.state))


def _state(revoked_at: int | None, expires_at: int | None, now: int) -> str:
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and now >= expires_at:
        return "expired"
    return "active"


def list_technicians(ctx: ServerContext) -> list[TechnicianRow]:
    """Every technician, oldest first, with the state its token has now."""
    t = models.technicians.c
    now = ctx.now()
    with ctx.engine.connect() as connection:
        rows = connection.execute(select(t.id, t.partner, t.name, t.created_at, t.revoked_at, t.expires_at)
                                  .order_by(t.id)).all()
    return [TechnicianRow(r.id, r.partner, r.name, r.created_at, _state(r.revoked_at, r.expires_at, now))
            for r in rows]


def revoke_technician(ctx: ServerContext, technician_id: int | str) -> tuple[TechnicianRow, bool]:
    """Revoke a technician's token: every server process answers it 401 `token-revoked` within
    MAX_RECHECK_S seconds (DESIGN §5). Returns the technician and whether it was revoked only now."""
    text = str(technician_id).strip()
    if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) < 2**31:
        raise ValueError(f"the technician id must be a whole number as `list-technicians` shows it, not "
                         f"{technician_id!r}")
    t = models.technicians.c
    now = ctx.now()
    with writing(ctx.engine) as connection:
        row = connection.execute(select(t.id, t.partner, t.name, t.created_at, t.revoked_at)
                                 .where(t.id == int(text))).first()
        if row is None:
            raise ValueError(f"no technician has id {text}: `license-server list-technicians` lists them")
        fresh = row.revoked_at is None
        if fresh:
            connection.execute(update(models.technicians).where(t.id == row.id).values(revoked_at=now))
    ctx.tokens.forget()  # this process stops at once; the others within MAX_RECHECK_S
    return TechnicianRow(row.id, row.partner, row.name, row.created_at, "revoked"), fresh


#: Arguments never written to the audit: anything that could let someone act as someone else.
SECRET_ARGUMENTS = ("token", "passphrase", "password", "secret")
#: Arguments given without an option name on the command line.
POSITIONAL_ARGUMENTS = ("file", "technician_id", "account_id")


def os_user() -> str:
    """The operating-system user running this command (and who it was before sudo, when it says so)."""
    try:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # Windows, or a uid with no name
        import getpass

        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no name at all: the number still says who
            user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    sudo = os.environ.get("SUDO_USER")
    if sudo and sudo != user:
        user = f"{user} (sudo by {sudo})"
    return user.replace("\t", " ").replace("\n", " ")


def audit_arguments(arguments: Mapping[str, Any]) -> str:
    """The command's arguments as one shell-quoted line, secrets and unset options left out."""
    parts: list[str] = []
    for name, value in arguments.items():
        if name == "command" or value is None or any(secret in name for secret in SECRET_ARGUMENTS):
            continue
        if name in POSITIONAL_ARGUMENTS:
            parts.append(shlex.quote(str(value)))
        else:
            parts.extend(("--" + name.replace("_", "-"), shlex.quote(str(value))))
    return " ".join(parts).replace("\t", " ").replace("\n", " ")


def record_audit(ctx: ServerContext, command: str, arguments: Mapping[str, Any]) -> None:
    """Keep who ran which administrator command, when (`license-server audit` shows them)."""
    with writing(ctx.engine) as connection:
        connection.execute(insert(models.audit).values(at=ctx.now(), os_user=os_user()[:200], command=command[:64],
                                                       arguments=audit_arguments(arguments)))


def audit_lines(ctx: ServerContext) -> list[str]:
    """The audit, newest first: at, user, command, arguments, tab-separated (DESIGN §5)."""
    a = models.audit.c
    with ctx.engine.connect() as connection:
        rows = connection.execute(select(a.at, a.os_user, a.command, a.arguments).order_by(a.id.desc())).all()
    return ["\t".join((iso_utc(r.at), r.os_user, r.command, r.arguments)) for r in rows]


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
            raise PriceListError("pricelist-unreadable", path=str(data), detail=str(exc)) from None
    now = ctx.now()
    if isinstance(data, dict):
        data = {key: value for key, value in data.items() if key != "published_at"}
    pricelist = PriceList.from_dict(data, published_at=now)
    try:
        with writing(ctx.engine) as connection:
            connection.execute(insert(models.pricelists).values(
                version=pricelist.version, published_at=now, body=json.dumps(pricelist.to_dict())))
    except IntegrityError:
        raise PriceListError("pricelist-published-before", version=pricelist.version) from None
    ctx.forget_prices()
    return pricelist


def demo_pricelist() -> dict[str, Any]:
    """The demo price list shipped with the package (milli-iSC per month)."""
    return json.loads(DEMO_PRICELIST.read_text(encoding="utf-8"))


def demo_terms() -> dict[str, Any]:
    """The demo rental terms shipped with the package (R26), English and French Markdown."""
    return json.loads(DEMO_TERMS.read_text(encoding="utf-8"))
