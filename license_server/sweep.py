"""The sweep: make due automatic reloads (R24), suspend depleted accounts (R18), expire retained credit (R19),
mail customers (R18-R20, R24).

Suspension and expiry are set-based statements over indexed columns, never a loop over all
accounts; mails go one at a time, each in its account's locked transaction that records it, so two
sweepers (several gunicorn workers) never send one mail twice.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    BigInteger, and_, bindparam, case, delete, false, func, insert, literal, literal_column, null, or_, select, true,
    union, update,
)
from sqlalchemy.exc import IntegrityError

from rental import billing, reload
from rental import ops as decider
from rental.money import monthly_milli_of_rate

from . import batch, history, links, mail, models, notices, reminders, store
from .context import ServerContext
from .db import is_sqlite, writing
from .mail import Mailer

log = logging.getLogger("license_server.sweep")
A = models.accounts.c
L = models.licenses.c
REMINDER_BATCH = 500


@dataclass(frozen=True)
class SweepReport:
    suspended: int
    reminders_sent: int  # R20 reminders
    reminders_due: int  # accounts whose R20 reminder was due
    expired: int
    mails_sent: int = 0  # every customer mail: reminders, stops and resumes (R18), retention warnings (R19)
    mails_due: int = 0  # accounts with a mail to send
    reloads: int = 0  # keys redeemed by automatic reload (R24)
    mails_failed: int = 0  # mails the SMTP server did not take (retried at the next sweep)


def sweep(ctx: ServerContext) -> SweepReport:
    """One pass at the server's now; safe to run from several processes at once."""
    with ctx.metrics.sweep_pass() as observe:  # its time and what it did, when METRICS is on
        now = ctx.now()
        reloads = reload_due(ctx, now)  # before suspending: a reload comes before the end it pushes back
        suspended = suspend_depleted(ctx, now)
        expired = expire_retained(ctx, now)
        sent, due, reminders_sent, reminders_due, failed = send_mails(ctx, now)
        report = SweepReport(suspended, reminders_sent, reminders_due, expired, sent, due, reloads, failed)
        observe(report)
    return report


def reload_due(ctx: ServerContext, now: int) -> int:
    """Write down every automatic reload whose second has come (R24), each at its exact second, with the same
    decision answers already show (rental.ops.reload_until); returns the keys redeemed. Each account in its own
    locked transaction that decides again on the committed state: a reload another sweeper or an op wrote first
    is not due any more, so concurrent sweepers reload once."""
    with ctx.engine.connect() as connection:
        ids = connection.execute(select(A.id).where(A.reload_at <= now, A.deleted == false())
                                 .order_by(A.id)).scalars().all()
    made = 0
    for account_id in ids:
        with writing(ctx.engine) as connection:
            record = store.load(connection, account_id, for_update=True)
            if record is None or record.row["deleted"]:
                continue
            before = batch.record_state(record)
            found = ctx.current_prices(connection)
            prices = found.history if found else None  # R24: each reload re-rates at the list in force at its second
            decision = decider.reload_until(before, now, ctx.policy, prices)
            if not decision.reloads:
                continue
            # R25: each reload (and a stop or resume it made) in the account's history, at its second, by nobody;
            # the customer's mails (R18) follow the same events
            noted = decider.with_stops(before, replace(decision, events=decider.reload_events(decision.reloads)),
                                       ctx.policy, prices)
            batch.save_deposits(connection, record, before, decision)
            store.save(connection, record, ctx.settings, state=decision.state.billing, entries=decision.entries,
                       mails=notices.from_events(record.id, noted.events, decision.state.billing.as_of), prices=prices)
            history.INSERT_EVENT.run(connection, history.rows(record.id, noted.events, now))
            made += len(decision.reloads)
    return made


def changed_now(connection) -> dict:
    """A bulk update's own mark of change for GET /accounts?since= (migration 0010) on PostgreSQL: set in the
    statement, the row trigger is not called for each row. SQLite's trigger numbers the rows itself."""
    if is_sqlite(connection.engine):
        return {}
    return {"changed_seq": literal_column("pg_current_xact_id()::text::bigint")}


def suspend_depleted(ctx: ServerContext, now: int) -> int:
    """Charge every account whose depletes_at has come up to that second and suspend it (R10, R18), with its final
    charge lines (R25), its stop in its history (R25) and its stop mail queued (R18).

    On PostgreSQL each slice is one statement: its due rows are read and locked once (in id order, as batches lock,
    so no deadlock), and the ledger, history and mail rows and the accounts' update are all written from them. A
    pass with many stops is cut into slices by depletes_at, one transaction each on its own connection, side by side
    (SWEEP_WORKERS): every stop stands alone, so a slice that fails leaves the others' stops, and its own are found
    again by the next pass. SQLite (no writes inside WITH, one writer) runs the same parts one statement each."""
    # an account with a reload due first is reloaded, not suspended (R24)
    due = and_(A.depletes_at <= now, A.deleted == false(), A.suspended == false(),
               or_(A.reload_at.is_(None), A.reload_at > now))
    if is_sqlite(ctx.engine):
        with writing(ctx.engine) as connection:
            for part in _stop_rows(_Due(A.id, A.as_of, A.depletes_at, models.accounts, (due,)), now):
                connection.execute(part)
            return connection.execute(update(models.accounts).where(due).values(_stopped(connection))).rowcount
    slices = _slices(ctx, now, ctx.settings.SWEEP_WORKERS)
    compiled: Future = Future()
    if len(slices) == 1:
        compiled.set_result(_compiled_stop(ctx, now, due))
        return _stop_slice(ctx, now, compiled, *slices[0])
    with ThreadPoolExecutor(len(slices), thread_name_prefix="license-server-sweep-slice") as pool:
        stops = [pool.submit(_stop_slice, ctx, now, compiled, *bounds) for bounds in slices]
        # one statement for every slice, its bounds bound when it runs: compiled here once (about 6 ms of Python)
        # while the slices open their connections, not by each slice's thread, where the compilations queued on
        # the interpreter's lock and the last slice started that much later
        try:
            compiled.set_result(_compiled_stop(ctx, now, due))
        except BaseException as exc:
            compiled.set_exception(exc)
    return sum(stop.result() for stop in stops)  # the first failure is raised, after every slice has ended


def _compiled_stop(ctx: ServerContext, now: int, due):
    return _stop_statement(ctx, now, [due, A.depletes_at > SLICE_LOW, A.depletes_at <= SLICE_HIGH]) \
        .compile(dialect=ctx.engine.dialect)


#: a slice's depletes_at range (low, high], bound when its statement runs; an open end is the lowest bigint / now
SLICE_LOW, SLICE_HIGH = bindparam("slice_low", type_=BigInteger), bindparam("slice_high", type_=BigInteger)
LOWEST = -(2 ** 63)


#: a pass is cut into slices only when each would stop at least this many accounts: below, one statement is
#: cheaper than the connections and the count read to cut it
SLICE_MIN_STOPS = 1_000


def _slices(ctx: ServerContext, now: int, workers: int) -> list[tuple[int | None, int | None]]:
    """The depletes_at ranges (low, high] of a pass's slices, each about as many candidates (None: open-ended).

    Cut on depletes_at, not on ids: the bounds come from the depletes_at index alone (integers, no text to sort), and
    each slice then scans only its own part of that index. Locks are still taken in id order within each slice,
    as batches take them: transactions that all lock in one order cannot deadlock, however their sets interleave."""
    if workers <= 1:
        return [(None, None)]
    with ctx.engine.connect() as connection:
        candidates = connection.execute(select(func.count()).where(A.depletes_at <= now)).scalar_one()
        count = min(workers, candidates // SLICE_MIN_STOPS)
        if count <= 1:
            return [(None, None)]
        ordered = select(A.depletes_at).where(A.depletes_at <= now).order_by(A.depletes_at)  # the index's order
        inner = connection.execute(select(*(ordered.offset(candidates * part // count).limit(1).scalar_subquery()
                                            for part in range(1, count)))).one()
    bounds = [None, *inner, None]
    return list(zip(bounds, bounds[1:]))


def _stop_slice(ctx: ServerContext, now: int, compiled: Future, low: int | None, high: int | None) -> int:
    """Stop the due accounts whose depletes_at is in (low, high] in one PostgreSQL transaction; returns how many."""
    bounds = {"slice_low": LOWEST if low is None else low, "slice_high": now if high is None else high}
    with writing(ctx.engine) as connection:
        # JIT would compile this statement's expressions for rows it evaluates only once each (about 70 ms of a
        # 10,000-stop pass when the estimate crosses jit_above_cost): never worth it here
        connection.exec_driver_sql("SET LOCAL jit = off")
        statement = compiled.result()
        return connection.exec_driver_sql(statement.string, statement.construct_params(bounds)).rowcount


def _stop_statement(connection, now: int, where: list):
    """PostgreSQL's one statement for the stops of a slice: the due rows read and locked, then their charge lines,
    history rows, mails and update. connection: anything with the engine as `.engine` (a connection, or the
    server's context)."""
    # each due row is locked once, in id order, and its ctid kept: the UPDATE finds it again by that ctid (a
    # locked row cannot move) instead of probing the primary key for every stop
    rows = select(A.id, A.as_of, A.depletes_at, literal_column("accounts.ctid").label("row")).where(*where) \
        .order_by(A.id).with_for_update().cte("due")
    parts = [part.cte(name) for name, part in zip(("charged", "noted", "mailed"),
                                                    _stop_rows(_Due(rows.c.id, rows.c.as_of, rows.c.depletes_at,
                                                                    rows), now))]
    return update(models.accounts).where(literal_column("accounts.ctid") == rows.c.row, A.id == rows.c.id) \
        .values(_stopped(connection)).add_cte(*parts)


@dataclass(frozen=True)
class _Due:
    """Where the due accounts are read from: their id, as_of and depletes_at columns, the table, the condition."""

    id: Any
    as_of: Any
    depletes_at: Any
    table: Any
    where: tuple = ()


def _stop_rows(due: _Due, now: int) -> tuple:
    """The inserts a stop writes for each due account: its final charge per rented line exactly as
    rental.billing.settle writes it (R10, R25), its history row by nobody (R25), its stop mail (R18)."""
    seconds = due.depletes_at - due.as_of
    rate = literal(12) * L.monthly_milli * L.qty  # rental.billing.Line.rate
    charges = (
        select(due.id, literal("charge"), due.depletes_at, rate * seconds, L.pbx_id, L.ref, L.qty, due.as_of,
               due.depletes_at, seconds, rate, L.price_version, null())
        .select_from(due.table.join(models.licenses, L.account_id == due.id))
        .where(*due.where, due.depletes_at > due.as_of, L.monthly_milli > 0)
    )
    C, H, M = models.ledger.c, models.history.c, models.customer_mails.c
    return (
        insert(models.ledger).from_select(
            [C.account_id, C.kind, C.at, C.ticks, C.pbx_id, C.ref, C.qty, C.period_start, C.period_end, C.seconds,
             C.rate, C.price_version, C.key_id], charges),
        insert(models.history).from_select(
            [H.account_id, H.at, H.kind, H.technician, H.op_id, H.params],
            select(due.id, due.depletes_at, literal(decider.SUSPENDED_EVENT), null(), null(), literal("{}"))
            .select_from(due.table).where(*due.where)),
        insert(models.customer_mails).from_select(
            [M.account_id, M.kind, M.about, M.created_at],
            select(due.id, literal(notices.STOPPED), due.depletes_at, literal(now, BigInteger))
            .select_from(due.table).where(*due.where)),
    )


def _stopped(connection) -> dict:
    """The account settled to its depletes_at and suspended (R10, R18), from its own columns."""
    return dict(balance_ticks=A.balance_ticks - A.rate_ticks_per_s * (A.depletes_at - A.as_of),
                last_activity_at=case((A.depletes_at > A.as_of, A.depletes_at), else_=A.last_activity_at),
                as_of=A.depletes_at, suspended=true(), rate_ticks_per_s=0, depletes_at=None, reminder_due_at=None,
                revision=A.revision + 1, **changed_now(connection))


def expire_retained(ctx: ServerContext, now: int) -> int:
    """Expire credit left unused for the retention period after the last charge (R19), with a ledger line."""
    retention = ctx.policy.retention_s
    due = and_(models.RETAINED, A.last_activity_at <= now - retention)  # the partial index's own predicate
    with writing(ctx.engine) as connection:
        if not is_sqlite(connection.engine) and not connection.execute(
                select(A.id).where(due).order_by(A.id).with_for_update()).all():  # each row locked, in id order
            return 0  # the usual pass: nothing expires, nothing more to ask
        expiring = connection.execute(select(A.id, A.last_activity_at + retention, A.balance_ticks).where(due)).all()
        if not expiring:
            return 0
        history.INSERT_EVENT.run(connection, history.expiry_rows(expiring))  # R25: with the amount the balance showed
        C = models.ledger.c
        connection.execute(insert(models.ledger).from_select(
            [C.account_id, C.kind, C.at, C.ticks, C.qty, C.seconds, C.rate],
            select(A.id, literal("expiry"), A.last_activity_at + retention, A.balance_ticks, literal(0), literal(0),
                   literal(0)).where(due)))
        result = connection.execute(update(models.accounts).where(due).values(
            balance_ticks=0, revision=A.revision + 1, **changed_now(connection)))
        return result.rowcount


def send_mails(ctx: ServerContext, now: int) -> tuple[int, int, int, int, int]:
    """Send every customer mail due (R18, R19, R20), each once; returns (sent, accounts due, R20 sent, R20 due,
    mails the SMTP server did not take)."""
    settings = ctx.settings
    retention, warn = ctx.policy.retention_s, settings.RETENTION_WARNING_S
    pending = and_(A.reminder_due_at <= now, A.deleted == false(), A.suspended == false(), A.depletes_at > now)
    # R19: the partial index's range, credit that expires within `warn` and was not warned of for that second
    warnable = and_(models.RETAINED, A.last_activity_at <= now - retention + warn,
                    A.last_activity_at > now - retention,
                    or_(A.retention_warned_for.is_(None), A.retention_warned_for != A.last_activity_at + retention))
    M = models.customer_mails.c
    parts = (select(A.id).where(pending), select(M.account_id).where(models.MAIL_WAITING), select(A.id).where(warnable))
    with ctx.engine.connect() as connection:
        if not settings.SMTP_HOST:  # none can be sent: the database counts the accounts waiting, in one statement
            everyone = union(*parts).subquery()
            due, reminding_due = connection.execute(select(
                select(func.count()).select_from(everyone).scalar_subquery(),
                select(func.count()).select_from(parts[0].subquery()).scalar_subquery())).one()
            if due:
                log.warning("mail(s) due to %d account(s) but LICENSE_SERVER_SMTP_HOST is not set: none sent", due)
            return 0, due, 0, reminding_due, 0
        reminding = connection.execute(parts[0]).scalars().all()
        ids = set(reminding)
        ids.update(connection.execute(parts[1].distinct()).scalars())
        ids.update(connection.execute(parts[2]).scalars())
    if not ids:
        return 0, 0, 0, 0, 0
    mailer = Mailer(settings.SMTP_HOST, settings.SMTP_PORT)
    sent = reminders_sent = failed = 0
    try:
        for account_id in sorted(ids):
            for _ in range(MAX_MAILS_PER_ACCOUNT):  # one mail per transaction: a failure never unsends another
                try:
                    kind = _mail_one(ctx, mailer, account_id, now)
                except (OSError, smtplib.SMTPException) as exc:  # retried at the next sweep: nothing was recorded
                    log.error("mail to account %s not sent: %s", account_id, exc)
                    failed += 1
                    mailer.close()
                    break
                except IntegrityError:  # another sweeper recorded this very mail first: it went once
                    break
                if kind is None:
                    break
                if kind == links.LINK_MAIL + "-skipped":  # a link renewed again since: only the newest is sent
                    continue
                sent += 1
                reminders_sent += kind not in (notices.STOPPED, notices.RESUMED, notices.RELOADED, notices.LAST_KEY,
                                                 RETENTION, links.LINK_MAIL)
    finally:
        mailer.close()
    return sent, len(ids), reminders_sent, len(reminding), failed


RETENTION = "retention"
MAX_MAILS_PER_ACCOUNT = 8


def _mail_one(ctx: ServerContext, mailer: Mailer, account_id: str, now: int) -> str | None:
    """The next mail due to one account, recorded and sent inside its locked transaction; its kind, or None."""
    settings = ctx.settings
    M = models.customer_mails.c
    with writing(ctx.engine) as connection:
        record = store.load(connection, account_id, for_update=True)
        if record is None:
            return None
        row = record.row
        if row["deleted"]:  # a deleted account is mailed nothing more
            connection.execute(delete(models.customer_mails).where(M.account_id == account_id, models.MAIL_WAITING))
            return None
        customer = mail.Customer(email=row["contact_email"], account=row["name"], partner=row["partner"],
                                 language=row["language"], zone=settings.MAIL_TIMEZONE,
                                 link=links.current_url(ctx, row))  # R27: the current link, whenever it is sent
        state = record.state()
        found = ctx.current_prices(connection)
        prices = found.history if found else None  # R24: reloads re-rate at the list in force at their seconds
        done, settled = reload.forward(state, record.deposits, row["auto_reload_days"] or 0, ctx.policy,
                                       max(now, state.as_of), prices)
        projected, deposits = settled.account, done.deposits
        waiting = connection.execute(select(M.id, M.kind, M.about).where(
            M.account_id == account_id, models.MAIL_WAITING).order_by(M.about, M.id).limit(1)).first()
        if waiting is not None:  # R18: a stop or a resume, in the order they happened
            if waiting.kind == notices.STOPPED:
                # R18: what a load must bring, at the current list
                needs = decider.resume_needs(projected, found.pricelist if found else None, ctx.policy)
                letter = mail.stopped(customer, at=waiting.about, monthly_milli=state.monthly_milli,
                                      resume_milli=needs)
            elif waiting.kind == links.LINK_MAIL:  # R27: a new link; an older generation's mail is not sent
                if waiting.about != (row["customer_link_generation"] or 0) or customer.link is None:
                    connection.execute(update(models.customer_mails).where(M.id == waiting.id).values(
                        sent_at=now, contact_email=None))
                    return links.LINK_MAIL + "-skipped"
                letter = mail.new_link(customer)
            elif waiting.kind in (notices.RELOADED, notices.LAST_KEY):
                letter = _reload_letter(connection, customer, waiting.kind, waiting.about, record, projected, ctx,
                                        prices)
            else:
                letter = mail.resumed(customer, at=waiting.about, depletes_at=projected.depletes_at,
                                      balance_ticks=projected.balance, monthly_milli=state.monthly_milli)
            connection.execute(update(models.customer_mails).where(M.id == waiting.id).values(
                sent_at=now, contact_email=customer.email))
            return _send(mailer, letter, customer, settings, now, waiting.kind)
        expires_at = billing.retention_ends_at(projected, ctx.policy.retention_s)
        if expires_at is not None and expires_at - settings.RETENTION_WARNING_S <= now < expires_at \
                and row["retention_warned_for"] != expires_at:  # R19: 30 days before, once per expiry
            letter = mail.retention(customer, expires_at=expires_at, balance_ticks=projected.balance,
                                    since=projected.last_activity_at)
            _record(connection, account_id, RETENTION, expires_at, now, customer.email)
            connection.execute(update(models.accounts).where(A.id == account_id).values(
                retention_warned_for=expires_at))
            return _send(mailer, letter, customer, settings, now, RETENTION)
        depletes_at = projected.depletes_at
        if depletes_at is None or projected.suspended:
            return None
        # R20 counts the held keys automatic reload will redeem: the reminders hang off that end (R24)
        depletes_at = reload.ends_at(projected, deposits, row["auto_reload_days"] or 0, ctx.policy,
                                     prices) or depletes_at
        weeks, last_s = settings.REMINDER_WEEKS, settings.REMINDER_LAST_S
        kind = reminders.due_kind(depletes_at, now, row["reminder_sent_at"], weeks, last_s)
        sent_at = row["reminder_sent_at"] if kind is None else now
        connection.execute(update(models.accounts).where(A.id == account_id).values(
            reminder_sent_at=sent_at, reminder_due_at=reminders.next_due_at(depletes_at, sent_at, weeks, last_s)))
        if kind is None:
            return None
        letter = mail.reminder(customer, now=now, depletes_at=depletes_at, balance_ticks=projected.balance,
                               monthly_milli=monthly_milli_of_rate(projected.rate))
        _record(connection, account_id, kind, depletes_at, now, customer.email)
        return _send(mailer, letter, customer, settings, now, kind)


def _reload_letter(connection, customer: mail.Customer, kind: str, at: int, record: store.AccountRecord,
                   projected: billing.Account, ctx: ServerContext, prices=None) -> mail.Letter:
    """R24: the keys redeemed automatically at second `at` (read back from the keys table), or the last one went."""
    K = models.redeemed_keys.c
    amounts = connection.execute(select(K.amount_milli).where(
        K.account_id == record.id, K.at == at, K.deposited_at.is_not(None), K.held == false())).scalars().all()
    days = record.row["auto_reload_days"] or 0
    ends = reload.ends_at(projected, record.deposits, days, ctx.policy, prices)
    if kind == notices.LAST_KEY:
        return mail.last_key(customer, at=at, ends_at=ends, days=days)
    return mail.reloaded(customer, at=at, amount_milli=sum(amounts), keys=len(amounts), held=len(record.deposits),
                         ends_at=ends)


def _record(connection, account_id: str, kind: str, about: int, now: int, email: str) -> None:
    connection.execute(insert(models.customer_mails).values(
        account_id=account_id, kind=kind, about=about, created_at=now, sent_at=now, contact_email=email))


def _send(mailer: Mailer, letter: mail.Letter, customer: mail.Customer, settings, now: int, kind: str) -> str:
    """Send last, inside the transaction: a failure rolls the record back, so the next sweep retries."""
    mailer.send(mail.message(letter, customer, sender=settings.MAIL_FROM, now=now))
    return kind


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
