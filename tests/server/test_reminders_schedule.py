"""R20's schedule: the next reminder's time, worked out directly, is the earliest of the open slots' times."""

from hypothesis import given, settings, strategies as st

from license_server import reminders
from rental.money import SECONDS_PER_DAY


def walked(depletes_at, sent_at, weeks, last_s):
    """The schedule as the slots define it: every open slot's earliest time, the least of them."""
    if depletes_at is None:
        return None
    times = [reminders._earliest(kind, at, sent_at, last_s)
             for kind, at in reminders._open_slots(depletes_at, sent_at, weeks, last_s)]
    times = [t for t in times if t < depletes_at]
    return min(times) if times else None


END = 1_800_000_000


@settings(max_examples=2000, deadline=None)
@given(depletes_at=st.one_of(st.none(), st.integers(END - 400 * SECONDS_PER_DAY, END + 400 * SECONDS_PER_DAY)),
       sent_ago=st.one_of(st.none(), st.integers(-30 * SECONDS_PER_DAY, 120 * SECONDS_PER_DAY)),
       weeks=st.integers(0, 12), last_days=st.integers(0, 14), last_extra=st.integers(0, 3_600))
def test_the_next_reminder_is_the_earliest_open_slot(depletes_at, sent_ago, weeks, last_days, last_extra):
    sent_at = None if sent_ago is None else END - sent_ago
    last_s = last_days * SECONDS_PER_DAY + last_extra
    assert reminders.next_due_at(depletes_at, sent_at, weeks, last_s) == walked(depletes_at, sent_at, weeks, last_s)


def test_seven_weeks_then_weekly_then_the_day_before():
    week, day = reminders.WEEK, SECONDS_PER_DAY
    assert reminders.next_due_at(END, None, 7, day) == END - 7 * week
    assert reminders.next_due_at(END, END - 7 * week, 7, day) == END - 6 * week
    assert reminders.next_due_at(END, END - week, 7, day) == END - day
    assert reminders.next_due_at(END, END - day, 7, day) is None
    assert reminders.next_due_at(END, END - 6 * week - 2 * day, 7, day) == END - 6 * week - 2 * day + 6 * day
