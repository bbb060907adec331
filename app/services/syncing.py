"""Sync now and the background syncer (app/sync.py and app/syncer.py do the work)."""

from __future__ import annotations

from typing import Callable

from .. import sync, syncer
from ..clock import Clock
from ..store import (
    UnitOfWork,
)
from ..views import (
    SyncReport,
)


#: The steps a sync reports to its progress callback, as codes in order (app/sync.py): screens word them.
SYNC_STEPS = sync.STEPS


def sync_now(uow_factory: Callable[[], UnitOfWork], clock: Clock, transport=None,
             progress: Callable[..., None] | None = None) -> SyncReport:
    """Push the outbox in one batch, verify every envelope, merge; pull the partner's accounts and prices."""
    return sync.sync_now(uow_factory, clock, transport=transport, progress=progress)


def pull_details(uow_factory: Callable[[], UnitOfWork], clock: Clock, account_id: str) -> bool:
    """Issue 26: an account's ledger and history fetched when its statement or history is opened while online
    (a sync pulls them only for accounts that changed), kept for offline use; best effort, bounded in time."""
    return sync.pull_details(uow_factory, clock, account_id)


def renew_customer_link(uow_factory: Callable[[], UnitOfWork], clock: Clock, account_id: str, transport=None):
    """R27, online only: the server makes a new link to the customer's page and mails it to them; a sync then
    brings the account's signed snapshot, which says when the link was made. Returns None, or the reason."""
    return sync.renew_customer_link(uow_factory, clock, account_id, transport=transport)


def BackgroundSyncer(uow_factory, clock, **kwargs):  # noqa: N802 - a factory named like the class it makes
    """A thread that syncs with back-off and retries as soon as the server answers: start(), poke(), stop()."""
    return syncer.BackgroundSyncer(uow_factory, clock, **kwargs)
