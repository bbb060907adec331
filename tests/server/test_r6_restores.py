"""R6 as the server counts it (SPEC R6, precise wording), op by op over its API on SQLite and PostgreSQL: growth
after a restore is at will, a restore in steps or over several reductions is one occurrence, true toggling is
refused at the third restore."""

from __future__ import annotations

import pytest

from .helpers import DAY, IP_PORT, UC

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def one_a_day(api, clock, account_id, *quantities, ref=IP_PORT):
    """Each quantity a day after the previous: (status, [warning codes] or the refusal's code)."""
    answers = []
    for qty in quantities:
        clock.advance(DAY)
        result = api.set_licenses(account_id, {ref: qty})
        answers.append((result["status"], [w["code"] for w in result["warnings"]] if result["status"] == "applied"
                        else [result["code"]]))
    return answers


def test_raising_past_a_restored_reduction_is_growth_not_toggling_R6(api, clock):
    account_id = api.running_account("500", {IP_PORT: 10})
    answers = one_a_day(api, clock, account_id, 9, 10, 11, 12, 13)
    assert [status for status, _ in answers] == ["applied"] * 5
    assert [codes for _, codes in answers] == [[], ["toggle-warning"], [], [], []]
    assert api.count_occurrences(account_id) == 1
    assert api.account(account_id)["pbxs"][0]["licenses"][0]["qty"] == 13


@pytest.mark.parametrize("quantities", [(7, 8, 9), (9, 8, 10)])
def test_a_restore_in_steps_or_over_two_reductions_is_one_occurrence_R6(api, clock, quantities):
    account_id = api.running_account("500", {IP_PORT: 10})
    answers = one_a_day(api, clock, account_id, *quantities)
    assert all(status == "applied" for status, _ in answers)
    assert sum(codes.count("toggle-warning") for _, codes in answers) == 1
    assert api.count_occurrences(account_id) == 1


def test_toggling_10_9_10_three_times_is_refused_at_the_third_restore_R6(api, clock):
    account_id = api.running_account("500", {IP_PORT: 10})
    answers = one_a_day(api, clock, account_id, 9, 10, 9, 10, 9, 10)
    assert answers == [("applied", []), ("applied", ["toggle-warning"]), ("applied", []),
                       ("applied", ["toggle-warning"]), ("applied", []), ("rejected", ["toggle-refused"])]
    assert api.account(account_id)["pbxs"][0]["licenses"][0]["qty"] == 9


def test_one_op_restoring_two_items_counts_once_R6(api, clock):
    account_id = api.running_account("500", {IP_PORT: 10, UC: 4})
    clock.advance(DAY)
    assert api.set_licenses(account_id, {IP_PORT: 9, UC: 3})["warnings"] == []
    clock.advance(DAY)
    result = api.set_licenses(account_id, {IP_PORT: 10, UC: 4})
    assert [(w["code"], w["params"]) for w in result["warnings"]] == [("toggle-warning", {"refs": [IP_PORT, UC]})]
    assert api.count_occurrences(account_id) == 1
