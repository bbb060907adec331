"""The sweep: suspend depleted accounts (R18), send due reminders (R20), expire retained credit (R19).

Suspension and expiry are set-based statements over indexed columns, never a loop over all
accounts; reminders go one account at a time, each in its own transaction, so two sweepers
(several gunicorn workers) never send one reminder twice.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from dataclasses import dataclass

from sqlalchemy import and_, case, false, insert, literal, null, select, true, update

from rental.money import monthly_milli_of_rate

from . import models, reminders
from .context import ServerContext
from .db import is_sqlite, writing
from .mail import Mailer, reminder

log = logging.getLogger("license_server.sweep")
A = models.accounts.c
L = models.licenses.c
REMINDER_BATCH = 500


@dataclass(frozen=True)
class SweepReport:
    suspended: int
    reminders_sent: int
    reminders_due: int
    expired: int


def sweep(ctx: ServerContext) -> SweepReport:
    """One pass at the server's now; safe to run from several processes at once."""
    now = ctx.now()
    suspended = suspend_depleted(ctx, now)
    expired = expire_retained(ctx, now)
    sent, due = send_reminders(ctx, now)
    return SweepReport(suspended, sent, due, expired)


def suspend_depleted(ctx: ServerContext, now: int) -> int:
    """Charge every account whose depletes_at has come up to that second and suspend it (R10, R18)."""
    due = and_(A.depletes_at <= now, A.deleted == false(), A.suspended == false())
    with writing(ctx.engine) as connection:
        if not is_sqlite(connection.engine):  # lock the due rows in id order, as batches do: no deadlock
            connection.execute(select(A.id).where(due).order_by(A.id).with_for_update()).all()
        # The final charge of each rented line, exactly as rental.billing.settle writes it (R25).
        seconds = A.depletes_at - A.as_of
        rate = literal(12) * L.monthly_milli * L.qty
        charges = (
            select(A.id, literal("charge"), A.depletes_at, rate * seconds, L.pbx_id, L.ref, L.qty, A.as_of,
                   A.depletes_at, seconds, rate, L.price_version, null())
            .select_from(models.accounts.join(models.licenses, L.account_id == A.id))
            .where(due, A.depletes_at > A.as_of, L.monthly_milli > 0)
        )
        C = models.ledger.c
        connection.execute(insert(models.ledger).from_select(
            [C.account_id, C.kind, C.at, C.ticks, C.pbx_id, C.ref, C.qty, C.period_start, C.period_end, C.seconds,
             C.rate, C.price_version, C.key_id], charges))
        result = connection.execute(update(models.accounts).where(due).values(
            balance_ticks=A.balance_ticks - A.rate_ticks_per_s * (A.depletes_at - A.as_of),
            last_activity_at=case((A.depletes_at > A.as_of, A.depletes_at), else_=A.last_activity_at),
            as_of=A.depletes_at, suspended=true(), rate_ticks_per_s=0, depletes_at=None, reminder_due_at=None,
            revision=A.revision + 1,
        ))
        return result.rowcount


def expire_retained(ctx: ServerContext, now: int) -> int:
    """Expire credit left unused for the retention period after the last charge (R19), with a ledger line."""
    retention = ctx.policy.retention_s
    due = and_(models.RETAINED, A.last_activity_at <= now - retention)  # the partial index's own predicate
    with writing(ctx.engine) as connection:
        if not is_sqlite(connection.engine):
            connection.execute(select(A.id).where(due).order_by(A.id).with_for_update()).all()
        C = models.ledger.c
        connection.execute(insert(models.ledger).from_select(
            [C.account_id, C.kind, C.at, C.ticks, C.qty, C.seconds, C.rate],
            select(A.id, literal("expiry"), A.last_activity_at + retention, A.balance_ticks, literal(0), literal(0),
                   literal(0)).where(due)))
        result = connection.execute(update(models.accounts).where(due).values(
            balance_ticks=0, revision=A.revision + 1))
        return result.rowcount


def send_reminders(ctx: ServerContext, now: int) -> tuple[int, int]:
    """Send each reminder due (R20) once per depletion episode; returns (sent, due)."""
    settings = ctx.settings
    pending = and_(A.reminder_due_at <= now, A.deleted == false(), A.suspended == false(), A.depletes_at > now)
    with ctx.engine.connect() as connection:
        ids = connection.execute(select(A.id).where(pending).order_by(A.reminder_due_at)).scalars().all()
    if not ids:
        return 0, 0
    if not settings.SMTP_HOST:
        log.warning("%d reminder(s) due but LICENSE_SERVER_SMTP_HOST is not set: none sent", len(ids))
        return 0, len(ids)
    mailer = Mailer(settings.SMTP_HOST, settings.SMTP_PORT)
    sent = 0
    try:
        for account_id in ids:
            try:
                sent += _remind(ctx, mailer, account_id, now)
            except (OSError, smtplib.SMTPException) as exc:  # retried at the next sweep: nothing was recorded
                log.error("reminder to account %s not sent: %s", account_id, exc)
                mailer.close()
    finally:
        mailer.close()
    return sent, len(ids)


def _remind(ctx: ServerContext, mailer: Mailer, account_id: str, now: int) -> int:
    settings = ctx.settings
    weeks, last_s = settings.REMINDER_WEEKS, settings.REMINDER_LAST_S
    with writing(ctx.engine) as connection:
        query = select(models.accounts).where(A.id == account_id)
        if not is_sqlite(connection.engine):
            query = query.with_for_update()
        row = connection.execute(query).mappings().one()
        depletes_at = row["depletes_at"]
        if row["deleted"] or row["suspended"] or depletes_at is None or depletes_at <= now:
            return 0
        level = reminders.due_level(depletes_at, now, weeks, last_s)
        sent = 0
        if level is not None and level > row["reminder_level"]:
            kind = reminders.slots(depletes_at, weeks, last_s)[level][0]
            balance = row["balance_ticks"] - row["rate_ticks_per_s"] * (now - row["as_of"])
            message = reminder(to=row["contact_email"], sender=settings.MAIL_FROM, name=row["name"],
                               language=row["language"], now=now, depletes_at=depletes_at, balance_ticks=balance,
                               monthly_milli=monthly_milli_of_rate(row["rate_ticks_per_s"]))
            connection.execute(insert(models.reminders).values(
                account_id=account_id, episode=row["episode"], kind=kind, at=now, depletes_at=depletes_at,
                contact_email=row["contact_email"]))
            mailer.send(message)  # last: a failure rolls the record back, so the next sweep retries
            sent = 1
        else:
            level = row["reminder_level"]
        connection.execute(update(models.accounts).where(A.id == account_id).values(
            reminder_level=level, reminder_due_at=reminders.next_due_at(depletes_at, level, weeks, last_s)))
        return sent


def start_periodic(ctx: ServerContext, interval: int) -> threading.Event:
    """Sweep every interval seconds in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            try:
                report = sweep(ctx)
                if report.suspended or report.reminders_sent or report.expired:
                    log.info("sweep: %s", report)
            except Exception:  # keep sweeping: one failed pass must not end the job
                log.exception("sweep failed")

    threading.Thread(target=run, name="license-server-sweep", daemon=True).start()
    return stop
