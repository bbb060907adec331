"""The schedule of R20's reminders: weekly from N weeks before the projected end, and once 1 day before.

Levels number the reminders of one depletion episode in time order (0 = 7 weeks before … last =
1 day before); an account remembers the last level sent, so each goes once per episode.
"""

from __future__ import annotations

from rental.money import SECONDS_PER_DAY

WEEK = 7 * SECONDS_PER_DAY


def slots(depletes_at: int, weeks: int, last_s: int) -> list[tuple[str, int]]:
    """(kind, due time) of every reminder of an episode ending at depletes_at, in time order."""
    found = [(f"w{k}", depletes_at - k * WEEK) for k in range(weeks, 0, -1)]
    found.append((f"d{max(1, last_s // SECONDS_PER_DAY)}", depletes_at - last_s))
    return sorted(found, key=lambda slot: slot[1])


def next_due_at(depletes_at: int | None, level: int, weeks: int, last_s: int) -> int | None:
    """When the first reminder after level falls due; None when nothing runs out or all were sent."""
    if depletes_at is None:
        return None
    schedule = slots(depletes_at, weeks, last_s)
    return schedule[level + 1][1] if level + 1 < len(schedule) else None


def due_level(depletes_at: int, now: int, weeks: int, last_s: int) -> int | None:
    """The latest reminder due at now (older missed ones are not sent late), or None before the first."""
    if now >= depletes_at:
        return None
    due = [index for index, (_, at) in enumerate(slots(depletes_at, weeks, last_s)) if at <= now]
    return due[-1] if due else None
