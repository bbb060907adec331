"""The one place the app reads the wall clock; everything else takes a clock so tests move time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """Whole UTC seconds, the unit of every time that decides money (SPEC, arithmetic)."""

    def now(self) -> int: ...


class SystemClock:
    """The laptop's clock, in whole UTC seconds."""

    def now(self) -> int:
        return int(time.time())

    def monotonic(self) -> float:
        """Seconds for back-off timers only (never money)."""
        return time.monotonic()


class MovableClock:
    """A clock tests set and move: months pass in microseconds, nothing sleeps."""

    def __init__(self, start: int = 1_800_000_000):
        self._now = int(start)
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            return self._now

    def set(self, at: int) -> None:
        with self._lock:
            self._now = int(at)

    def advance(self, seconds: int) -> int:
        with self._lock:
            self._now += int(seconds)
            return self._now

    def __call__(self) -> int:  # usable as the license server's CLOCK callable too
        return self.now()


# =========================================================================== the server's time on this laptop
#
# Times that decide money are the license server's clock (SPEC, arithmetic). The laptop's own clock
# may be wrong or be set back or forward by hand, so at each sync the app learns the offset between
# the two (from signed times: op-results' server_time and fresh account snapshots' as_of; the HTTP
# Date header only when nothing signed came back) and projects at laptop time + offset. It never
# projects earlier than the newest verified snapshot, nor earlier than the latest laptop time already
# used (kept in the store): a clock set back must not "un-charge"; it is noticed and the figures hold
# still until the laptop's clock catches up or a sync learns the new offset. A clock moved forward
# cannot be told from time passing: the next sync corrects it.

#: An offset above this is shown to the technician (below it, it is the noise of a round trip).
NOTICE_OFFSET_S = 120
#: A laptop clock this far behind the highest time it showed before "went backwards".
NOTICE_BACKWARDS_S = 120
#: Reads record the laptop time once it moved on this much (a write to the store); writes and syncs always do.
#: A clock set back can so "un-show" at most this much charge, below the notice threshold.
NOTE_EVERY_S = 60
SETTING = "clock"  # JSON in the encrypted store's settings
SIGNED, DATE = "signed", "date"


@dataclass(frozen=True)
class Skew:
    """What the store knows of the laptop's clock against the server's."""

    offset_s: int = 0  # server time − laptop time, learned at the last sync that measured it
    source: str | None = None  # SIGNED, DATE, or None before the first measurement
    learned_at: int | None = None  # the server's time when it was learned
    highest_laptop_seen: int | None = None  # the latest laptop time used so far (reset by each measurement)

    def to_json(self) -> dict:
        return {"offset_s": self.offset_s, "source": self.source, "learned_at": self.learned_at,
                "highest_laptop_seen": self.highest_laptop_seen}

    @classmethod
    def from_json(cls, data) -> "Skew":
        if not isinstance(data, dict):
            return cls()
        def whole(name):
            value = data.get(name)
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        return cls(offset_s=whole("offset_s") or 0, source=data.get("source") if data.get("source") in (SIGNED, DATE)
                   else None, learned_at=whole("learned_at"), highest_laptop_seen=whole("highest_laptop_seen"))


@dataclass(frozen=True)
class ClockNotice:
    """The laptop's clock is off, or went backwards: shown to the technician (the figures stay right)."""

    offset_s: int  # server − laptop learned at the last sync: > 0 the laptop is behind, < 0 ahead
    went_back_s: int  # how far the laptop's clock is behind the latest time it showed before (0: it is not)
    learned_at: int | None  # the server's time of that sync
    source: str | None  # "signed" (from signed answers) or "date" (the server's HTTP Date header, unsigned)
    message: str  # in plain English; the numbers above let the UI word it in its own language


def estimate_offset(server_time: int, laptop_before: int, laptop_after: int) -> int:
    """server − laptop, taking the laptop's time halfway through the request that carried server_time."""
    return int(server_time) - (int(laptop_before) + int(laptop_after)) // 2


def corrected(laptop_now: int, skew: Skew, floor: int | None = None) -> int:
    """The server's time now as this laptop best knows it: never before floor (the newest verified as_of), nor
    before the latest time already used here (so figures once shown are never "un-charged").

    Only a signed offset moves money; one read from the unsigned Date header is shown, never used.
    """
    offset = skew.offset_s if skew.source == SIGNED else 0
    candidates = [int(laptop_now) + offset]
    if floor is not None:
        candidates.append(int(floor))
    if skew.highest_laptop_seen is not None:
        candidates.append(skew.highest_laptop_seen + offset)
    return max(candidates)


def went_back_by(laptop_now: int, skew: Skew) -> int:
    """Seconds the laptop's clock is behind the latest time it showed (0 within NOTICE_BACKWARDS_S)."""
    if skew.highest_laptop_seen is None:
        return 0
    behind = skew.highest_laptop_seen - int(laptop_now)
    return behind if behind > NOTICE_BACKWARDS_S else 0


def notice(laptop_now: int | None, skew: Skew) -> ClockNotice | None:
    """A ClockNotice when the offset is above NOTICE_OFFSET_S or the clock went backwards; else None."""
    back = went_back_by(laptop_now, skew) if laptop_now is not None else 0
    off = skew.offset_s if abs(skew.offset_s) > NOTICE_OFFSET_S else 0
    if not back and not off:
        return None
    parts = []
    if off:
        where = "behind" if off > 0 else "ahead of"
        heard = "its answers' Date header (unsigned)" if skew.source == DATE else "its signed answers"
        parts.append(f"This laptop's clock is {span(abs(off))} {where} the license server's (learned at the last "
                     f"sync, from {heard}). RentDesk counts in the server's time, so balances and the second "
                     "a suspension starts stay right; set the laptop's clock to avoid confusion.")
    if back:
        parts.append(f"This laptop's clock went back by {span(back)} since it was last used. The figures stay at "
                     "the latest time already shown (a charge is never undone); check the laptop's clock and sync "
                     "to learn the server's time again.")
    return ClockNotice(skew.offset_s, back, skew.learned_at, skew.source, " ".join(parts))


def span(seconds: int) -> str:
    """A duration in words, to the minute ("1 day 2 hours", "7 days", "3 minutes")."""
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (minutes, "minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(words) or f"{seconds} second{'s' if seconds != 1 else ''}"


# --------------------------------------------------------------------------- kept in the store (a unit of work's)


def load_skew(uow) -> Skew:
    return Skew.from_json(uow.settings.get(SETTING))


def _save(uow, skew: Skew) -> None:
    uow.settings.put(SETTING, skew.to_json())


def ensure_note(uow) -> bool:
    """Make the clock's note (nothing measured yet) when the store has none, at setup and unlock, before any other
    thread runs: from then on it is only ever updated. Right after a first run the background sync and the
    technician's first change both inserted it, and the later insert failed the whole change (UNIQUE). True when
    it was made."""
    if uow.settings.get(SETTING) is not None:
        return False
    _save(uow, Skew())
    return True


def replica_floor(uow) -> int | None:
    """The newest as_of of the verified snapshots held: the server's time was at least this."""
    return uow.replica.newest_as_of()


def server_now(uow, laptop_now: int) -> int:
    """The server's time now for projecting money on this laptop (laptop time + learned offset, floored)."""
    return corrected(laptop_now, load_skew(uow), replica_floor(uow))


def learn(uow, server_time: int, laptop_before: int, laptop_after: int, source: str) -> Skew:
    """Keep the offset one answer measured; the laptop time of that moment becomes the highest seen."""
    skew = Skew(offset_s=estimate_offset(server_time, laptop_before, laptop_after), source=source,
                learned_at=int(server_time), highest_laptop_seen=int(laptop_after))
    _save(uow, skew)
    return skew


def learn_from_date(uow, date: int, laptop_before: int, laptop_after: int) -> Skew | None:
    """The Date header's offset, kept only while no signed offset was ever learned (it is shown, not used)."""
    if load_skew(uow).source == SIGNED:
        return None
    return learn(uow, date, laptop_before, laptop_after, DATE)


def note_laptop_time(uow, laptop_now: int, *, every_s: int = 0) -> bool:
    """Remember the latest laptop time used (when it is later than the one kept by more than every_s).

    True when something was written (the caller commits).
    """
    return noted(uow, laptop_now, every_s=every_s)[0]


def noted(uow, laptop_now: int, *, every_s: int = 0) -> tuple[bool, Skew]:
    """note_laptop_time, and the skew kept once it noted (read once: a screen asks for it three times)."""
    skew = load_skew(uow)
    if skew.highest_laptop_seen is not None and laptop_now <= skew.highest_laptop_seen + every_s:
        return False, skew
    skew = Skew(skew.offset_s, skew.source, skew.learned_at, int(laptop_now))
    _save(uow, skew)
    return True, skew


def http_date(value: str | None) -> int | None:
    """Whole UTC seconds of an HTTP Date header, or None when absent or unreadable."""
    if not value:
        return None
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return int(moment.timestamp())
