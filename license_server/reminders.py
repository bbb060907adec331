"""The schedule of R20's reminders: weekly from N weeks before the projected end, and once 1 day before.

The schedule always hangs off the **current** end: when the end moves (iSC loaded, licenses
reduced or added) the slots move with it, so a later end starts the weekly reminders again. What
was sent is remembered as one time, the last reminder's: a slot at or before it is covered. Two
reminders are never less than MIN_GAP apart, except the one a day before the end, and a late
sweep sends only the latest reminder due (older missed ones are not sent late).
"""

from __future__ import annotations

from rental.money import SECONDS_PER_DAY

WEEK = 7 * SECONDS_PER_DAY
MIN_GAP = 6 * SECONDS_PER_DAY  # R20: never more than one reminder in 6 days, except the 1-day one


def slots(depletes_at: int, weeks: int, last_s: int) -> list[tuple[str, int]]:
    """(kind, due time) of every reminder before an end at depletes_at, in time order."""
    found = [(f"w{k}", depletes_at - k * WEEK) for k in range(weeks, 0, -1)]
    found.append((last_kind(last_s), depletes_at - last_s))
    return sorted(found, key=lambda slot: slot[1])


def last_kind(last_s: int) -> str:
    """The kind of the reminder shortly before the end (d1 by default), the one MIN_GAP does not hold back."""
    return f"d{max(1, last_s // SECONDS_PER_DAY)}"


def _open_slots(depletes_at: int, sent_at: int | None, weeks: int, last_s: int) -> list[tuple[str, int]]:
    """The slots of the current end not covered by the last reminder sent (and before the end)."""
    return [(kind, at) for kind, at in slots(depletes_at, weeks, last_s)
            if at < depletes_at and (sent_at is None or at > sent_at)]


def _earliest(kind: str, at: int, sent_at: int | None, last_s: int) -> int:
    if sent_at is None or kind == last_kind(last_s):
        return at
    return max(at, sent_at + MIN_GAP)


def next_due_at(depletes_at: int | None, sent_at: int | None, weeks: int, last_s: int) -> int | None:
    """When the next reminder falls due; None when nothing runs out or every slot is covered.

    Worked out directly (it runs at every change of every account): the earliest open weekly slot, held back
    MIN_GAP after the last reminder sent, and the slot a day before; the same as the earliest of the open
    slots (tests/server/test_reminders_schedule.py checks it against that walk)."""
    if depletes_at is None:
        return None
    found = []
    weekly = weeks if sent_at is None else min(weeks, (depletes_at - sent_at - 1) // WEEK)  # the oldest open one
    if weekly >= 1:
        at = depletes_at - weekly * WEEK
        due = at if sent_at is None else max(at, sent_at + MIN_GAP)
        if due < depletes_at:
            found.append(due)
    last = depletes_at - last_s
    if last < depletes_at and (sent_at is None or last > sent_at):
        found.append(last)
    return min(found) if found else None


def due_kind(depletes_at: int, now: int, sent_at: int | None, weeks: int, last_s: int) -> str | None:
    """The reminder to send at now (the latest open slot due), or None."""
    if now >= depletes_at:
        return None
    due = [(kind, at) for kind, at in _open_slots(depletes_at, sent_at, weeks, last_s)
           if _earliest(kind, at, sent_at, last_s) <= now]
    if not due:
        return None
    return max(due, key=lambda slot: slot[1])[0]
