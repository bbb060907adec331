"""The store's tables: settings, the verified replica, the outbox, results, refusals and ledger lines.

The schema itself is made by the Alembic migrations in app/migrations (run at unlock);
these mappings must match the newest of them (a test compares the two).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """One setting (server URL, token, language, client id, sync state) as JSON text, encrypted with the rest."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class AccountReplica(Base):
    """The newest verified `account` envelope of an account, verbatim, with its parsed fields."""

    __tablename__ = "account_replica"
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    contact_email: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    # the accounts list sorts and searches in SQL on these (0004): Python-lowered, since SQLite's lower()
    # folds ASCII only ("Lumière"); with the index below a page reads the index, not 10,000 snapshots
    name_key: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    search_key: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    as_of: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)  # clock.replica_floor: max(as_of)
    balance_ticks: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rate_ticks_per_s: Mapped[int] = mapped_column(BigInteger, nullable=False)
    depletes_at: Mapped[int | None] = mapped_column(BigInteger)
    price_version: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # the verified payload, parsed JSON text
    envelope: Mapped[str] = mapped_column(Text, nullable=False)  # exactly as the server signed it
    received_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # 0010: the second automatic reload redeems the snapshot's next held key (R24; app.snapshot.reload_at_of), so the
    # price list screen runs forward only the accounts a reload may have re-rated by now (R23), never all of them
    reload_at: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_account_replica_list", "name_key", "account_id", "search_key", "status"),
                      # the list's count of the accounts not deleted: all of them minus a seek here (0009)
                      Index("ix_account_replica_status", "status"))


class PricelistReplica(Base):
    """A verified `pricelist` envelope; the newest received is the current one."""

    __tablename__ = "pricelist_replica"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    published_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    envelope: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class OutboxOp(Base):
    """An operation typed by the technician, kept in creation order until its verified result is stored."""

    __tablename__ = "outbox_op"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    op_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    account_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    pbx_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text, nullable=False)  # the op exactly as it is sent (JSON)
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")  # pending|rejected|conflict
    rule: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[str | None] = mapped_column(Text)  # 0005: the refusal's reasons as data (JSON list)
    server_time: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # sends that may have reached the server
    note: Mapped[str | None] = mapped_column(Text)  # e.g. the key's amount, for "+X iSC, not yet confirmed"


class OpResult(Base):
    """A verified `op-result` envelope, stored in the same transaction that takes its op out of the outbox."""

    __tablename__ = "op_result"
    op_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    rule: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[str | None] = mapped_column(Text)  # 0005: the refusal's reasons as data (JSON list)
    server_time: Mapped[int] = mapped_column(BigInteger, nullable=False)
    revision: Mapped[int | None] = mapped_column(BigInteger)
    envelope: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Refusal(Base):
    """Something the app refused to believe (bad signature, older snapshot), with the reason shown to the user."""

    __tablename__ = "refusal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    what: Mapped[str] = mapped_column(String(32), nullable=False)  # account, pricelist, op-result, answer, key
    subject: Mapped[str | None] = mapped_column(String(64))  # account id or op id when known
    reason: Mapped[str] = mapped_column(Text, nullable=False)


class LedgerLine(Base):
    """A ledger line pulled from GET /accounts/<id>/ledger (R25), for statements offline. Added by migration 0002."""

    __tablename__ = "ledger_line"
    __table_args__ = (UniqueConstraint("account_id", "line_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    line_key: Mapped[str] = mapped_column(String(128), nullable=False)  # the server's id, or a digest of the line
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ticks: Mapped[int] = mapped_column(BigInteger, nullable=False)
    pbx_id: Mapped[str | None] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    start: Mapped[int | None] = mapped_column(BigInteger)
    end: Mapped[int | None] = mapped_column(BigInteger)
    seconds: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    rate: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    price_version: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[str] = mapped_column(Text, nullable=False)


class Reduction(Base):
    """A quantity lowered on a PBX by an applied op, kept to warn of reduce-then-restore offline (R6). Migration 0002."""

    __tablename__ = "reduction"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    pbx_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    ref: Mapped[str] = mapped_column(String(64), nullable=False)
    from_qty: Mapped[int] = mapped_column(Integer, nullable=False)
    to_qty: Mapped[int] = mapped_column(Integer, nullable=False)
    serial: Mapped[str] = mapped_column(String(100), nullable=False, default="", server_default="")  # 0005: R6


class ToggleOccurrence(Base):
    """A reduce-then-restore the server applied with its R6 warning, by serial: the third in the period is refused
    (R6), and this laptop then says so offline. Migration 0005."""

    __tablename__ = "toggle_occurrence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    serial: Mapped[str] = mapped_column(String(100), nullable=False, index=True)


class TermsReplica(Base):
    """A verified `terms` envelope (R26); the newest received is current, kept for the new-account form offline.

    Added by migration 0006.
    """

    __tablename__ = "terms_replica"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    published_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    envelope: Mapped[str] = mapped_column(Text, nullable=False)  # exactly as the server signed it
    received_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    is_current: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class HistoryEvent(Base):
    """One event of an account's history (R25) as the server recorded it, pulled at sync for the screens offline
    (unsigned: shown, never used to decide money)."""

    __tablename__ = "history_event"
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # the server's id: the order it recorded
    at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    technician: Mapped[str | None] = mapped_column(Text)
    params: Mapped[str] = mapped_column(Text, nullable=False)  # JSON object
    received_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
