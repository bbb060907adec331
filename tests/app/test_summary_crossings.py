"""What a save says of the figures its form showed (services.crossings, services.key_crossings): only what matters
to money or to the rules, as reason codes (the screens word them, EN and FR). Pure: what was shown beside what the
save decided."""

from __future__ import annotations

from app import services

T0 = 1_800_000_000
DAY = 86_400
SHOWN = services.SummaryShown(T0, "active", 5_000, T0 + 60 * DAY, ())


def _codes(now: services.SummaryShown, shown: services.SummaryShown = SHOWN, **kwargs) -> list[str]:
    return [reason.code for reason in services.crossings(shown, now, **kwargs)]


def test_the_same_figures_cross_nothing():
    assert _codes(SHOWN) == []


def test_an_end_of_credit_a_few_minutes_later_on_the_same_day_crosses_nothing_but_another_day_does_R16():
    same_day = lambda a, b: a // DAY == b // DAY  # noqa: E731  (the screen's zone, UTC here)
    assert SHOWN.ends_at % DAY == 8 * 3_600  # 08:00 UTC
    minutes = services.SummaryShown(T0 + 600, "active", 5_000, SHOWN.ends_at + 300, ())
    assert _codes(minutes, same_day=same_day) == []  # the drift of ten minutes' reading: the day shown still holds
    past_midnight = services.SummaryShown(T0 + 600, "active", 5_000, SHOWN.ends_at + 16 * 3_600 + 60, ())
    assert _codes(past_midnight, same_day=same_day) == ["crossed-ends"]  # another day than the one read
    later = services.SummaryShown(T0 + 600, "active", 5_000, SHOWN.ends_at + 40 * DAY, ())
    [reason] = services.crossings(SHOWN, later, same_day)
    assert (reason.rule, reason.code, dict(reason.params)) == (
        "R16", "crossed-ends", {"from_at": SHOWN.ends_at, "to_at": SHOWN.ends_at + 40 * DAY})


def test_another_monthly_consumption_is_said_with_both_amounts_R16():
    [reason] = services.crossings(SHOWN, services.SummaryShown(T0, "active", 7_500, SHOWN.ends_at, ()))
    assert (reason.code, dict(reason.params)) == ("crossed-monthly", {"from_milli": 5_000, "to_milli": 7_500})


def test_a_change_that_now_waits_for_credit_says_how_much_would_run_it_and_not_its_end_R18():
    stopped = services.SummaryShown(T0, "suspended", 5_000, None, ())
    [reason] = services.crossings(SHOWN, stopped, resume_needs_milli=165)
    assert (reason.rule, reason.code, dict(reason.params)) == ("R18", "crossed-stopped", {"missing_milli": 165})
    assert _codes(SHOWN, shown=stopped) == ["crossed-runs"]


def test_rules_appearing_and_gone_are_named_by_their_rule_R14_R6():
    refused = services.SummaryShown(T0, "active", 5_000, SHOWN.ends_at, ("min-credit",))
    [reason] = services.crossings(SHOWN, refused)
    assert (reason.code, reason.params["rules"]) == ("crossed-refused", ["R14"])
    warned = services.SummaryShown(T0, "active", 5_000, SHOWN.ends_at, ("toggle-warning",))
    assert [(r.code, r.params["rules"]) for r in services.crossings(SHOWN, warned)] == [("crossed-warns", ["R6"])]
    assert [(r.code, r.params["rules"]) for r in services.crossings(warned, SHOWN)] == [("crossed-cleared", ["R6"])]


def test_a_key_that_now_restarts_or_no_longer_does_is_said_R18():
    after = services.Figures(T0, 0, 0, 5_000, None, T0 + 90 * DAY, "active")
    runs = services.KeyShown(T0, "runs", T0 + 90 * DAY)
    restarts = services.KeyPreview(10_000, restarts=True, after=after)
    short = services.KeyPreview(10_000, still_needs_milli=2_000, after=after)
    assert [r.code for r in services.key_crossings(runs, restarts)] == ["crossed-key-restarts"]
    assert [(r.code, dict(r.params)) for r in services.key_crossings(runs, short)] == [
        ("crossed-key-short", {"missing_milli": 2_000})]
    assert services.key_crossings(services.KeyShown(T0, "short", None), short) == ()
    assert services.key_crossings(runs, services.KeyPreview(10_000, after=after)) == ()
