"""Allocation rules and rule sets, without a database: pure and deterministic."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ektp_workflow.errors import RuleSetError
from ektp_workflow.rules.base import Applicant, Demand
from ektp_workflow.rules.builtin import (
    Equal,
    FirstTimeFirst,
    LongestWaitingFirst,
    MinimumPerKecamatan,
    PriorityTiers,
    ProportionalToQueue,
    Turning17Before,
    largest_remainder,
)
from ektp_workflow.rules.planner import plan_allocation, plan_split
from ektp_workflow.rules.registry import available_rules
from ektp_workflow.rules.ruleset import parse_rule_set

TODAY = dt.date(2026, 11, 28)
WIB = dt.timezone(dt.timedelta(hours=7))


def applicant(
    nik: str,
    kecamatan: str = "16.71.05",
    born: dt.date = dt.date(1990, 1, 1),
    had_ektp: bool = False,
    waiting_days: int = 10,
    disaster: bool = False,
    suket: bool = False,
) -> Applicant:
    since = dt.datetime(2026, 11, 1, tzinfo=WIB) - dt.timedelta(days=waiting_days)
    return Applicant(nik, kecamatan, born, had_ektp, disaster, suket, since)


def order(rules: list[Any], applicants: list[Applicant]) -> list[str]:
    plan = plan_allocation(applicants, {"16.71.05": len(applicants)}, rules, TODAY, 1, "h")
    return [a.nik for a in plan.kecamatan[0].chosen]


def test_built_in_rules_are_found_through_entry_points() -> None:
    assert set(available_rules()) >= {
        "first_time_first",
        "priority_tiers",
        "longest_waiting_first",
        "turning_17_before",
        "proportional_to_queue",
        "equal",
        "minimum_per_kecamatan",
    }


def test_first_time_first_then_longest_waiting() -> None:
    people = [
        applicant("r-old", had_ektp=True, waiting_days=300),
        applicant("f-new", waiting_days=1),
        applicant("f-old", waiting_days=50),
    ]
    assert order([FirstTimeFirst(), LongestWaitingFirst()], people) == ["f-old", "f-new", "r-old"]


def test_priority_tiers_follow_the_2020_circular() -> None:
    people = [
        applicant("4-replacement", had_ektp=True, waiting_days=900),
        applicant("3-suket-replacement", had_ektp=True, suket=True),
        applicant("2-disaster", had_ektp=True, disaster=True),
        applicant("1-seventeen", born=dt.date(2009, 6, 1)),
        applicant("3-first-time-adult", born=dt.date(1980, 6, 1)),
    ]
    assert order([PriorityTiers()], people) == [
        "1-seventeen",
        "2-disaster",
        "3-first-time-adult",
        "3-suket-replacement",
        "4-replacement",
    ]


def test_turning_17_before_an_election_day() -> None:
    people = [applicant("too-young", born=dt.date(2012, 3, 1)), applicant("voter", born=dt.date(2012, 2, 1))]
    assert order([Turning17Before(dt.date(2029, 2, 14))], people) == ["voter", "too-young"]


def test_ties_are_broken_by_waiting_time_then_nik() -> None:
    people = [applicant("b", waiting_days=5), applicant("a", waiting_days=5), applicant("c", waiting_days=6)]
    assert order([FirstTimeFirst()], people) == ["c", "a", "b"]


def test_only_as_many_as_there_are_blanks_get_one() -> None:
    people = [applicant(str(i)) for i in range(5)]
    plan = plan_allocation(people, {"16.71.05": 2, "16.71.08": 3}, [FirstTimeFirst()], TODAY, 1, "h")
    by = {k.kecamatan: k for k in plan.kecamatan}
    assert (len(by["16.71.05"].chosen), by["16.71.05"].waiting) == (2, 3)
    assert by["16.71.08"].chosen == ()


def demand(*rows: tuple[str, int, int, int]) -> list[Demand]:
    return [Demand(k, f, r, s) for k, f, r, s in rows]


def test_proportional_split_uses_largest_remainders_and_weights_first_time() -> None:
    queue = demand(("16.71.01", 10, 0, 0), ("16.71.02", 0, 10, 0), ("16.71.03", 5, 5, 0))
    assert plan_split(10, queue, ProportionalToQueue()) == {"16.71.01": 4, "16.71.02": 3, "16.71.03": 3}
    assert plan_split(10, queue, ProportionalToQueue(first_time_weight=3.0)) == {
        "16.71.01": 5,
        "16.71.02": 2,
        "16.71.03": 3,
    }


def test_no_kecamatan_gets_more_than_its_unmet_queue() -> None:
    queue = demand(("16.71.01", 3, 0, 1), ("16.71.02", 100, 0, 0))
    assert plan_split(500, queue, ProportionalToQueue()) == {"16.71.01": 2, "16.71.02": 100}


def test_equal_and_minimum_splits() -> None:
    queue = demand(("16.71.01", 2, 0, 0), ("16.71.02", 50, 0, 0), ("16.71.03", 50, 0, 0))
    assert plan_split(12, queue, Equal()) == {"16.71.01": 2, "16.71.02": 5, "16.71.03": 5}
    minimum = plan_split(30, queue, MinimumPerKecamatan(minimum=5))
    assert minimum["16.71.01"] == 2 and sum(minimum.values()) == 30


@given(
    total=st.integers(0, 5000),
    weights=st.lists(st.integers(0, 1000), min_size=1, max_size=18),
    caps=st.lists(st.integers(0, 1000), min_size=18, max_size=18),
)
def test_largest_remainder_never_exceeds_total_or_caps_and_uses_all_it_can(
    total: int, weights: list[int], caps: list[int]
) -> None:
    keys = [f"k{i:02d}" for i in range(len(weights))]
    cap = dict(zip(keys, caps))
    shares = largest_remainder(total, dict(zip(keys, weights)), cap)
    assert sum(shares.values()) <= total
    assert all(0 <= shares[k] <= cap[k] for k in keys)
    room = sum(cap[k] for k, w in zip(keys, weights) if w > 0)
    assert sum(shares.values()) == min(total, room)
    assert shares == largest_remainder(total, dict(reversed(list(zip(keys, weights)))), cap)


VALID = """
name = "2020 circular"
[split]
rule = "proportional_to_queue"
first_time_weight = 2
[[queue]]
rule = "priority_tiers"
[[queue]]
rule = "turning_17_before"
date = 2029-02-14
"""


def test_a_valid_rule_set_fills_defaults_and_hashes_its_meaning() -> None:
    rule_set = parse_rule_set(VALID)
    assert rule_set.split.params == {"first_time_weight": 2.0}
    assert rule_set.queue[0].params == {"first_time_age": 17}
    reformatted = VALID.replace("first_time_weight = 2", "# weighted\nfirst_time_weight = 2.0")
    assert parse_rule_set(reformatted).hash == rule_set.hash
    assert parse_rule_set(VALID.replace("2029-02-14", "2029-04-17")).hash != rule_set.hash


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            VALID.replace('"priority_tiers"', '"elderly_first"'),
            "queue[0].rule: unknown rule 'elderly_first'; queue rules: first_time_first",
        ),
        (
            VALID.replace('rule = "proportional_to_queue"', 'rule = "first_time_first"'),
            "split.rule: first_time_first is a queue rule",
        ),
        (
            VALID.replace("first_time_weight = 2", 'first_time_weight = "two"'),
            "split.first_time_weight: expected float, got 'two'",
        ),
        (
            VALID.replace("first_time_weight = 2", "first_time_weight = -1"),
            "split.first_time_weight: must be at least 0.0",
        ),
        (VALID.replace("first_time_weight = 2", "first_time_weight = 1e308"), "must be at most 1000.0"),
        (VALID.replace("first_time_weight = 2", "first_time_weight = inf"), "expected float, got inf"),
        (VALID.replace("first_time_weight = 2", "first_time_weight = true"), "expected float, got True"),
        (
            VALID.replace("date = 2029-02-14", 'date = "2029-02-14"'),
            "queue[1].date: expected date (YYYY-MM-DD, unquoted)",
        ),
        (VALID.replace("date = 2029-02-14", ""), "queue[1].date: required parameter of turning_17_before missing"),
        (VALID + "colour = 'red'\n", "queue[1].colour: unknown parameter of turning_17_before; it takes date"),
        (VALID.replace('name = "2020 circular"', 'name = "x"\nversion = 3'), "version: unknown key(s)"),
        (VALID.replace('name = "2020 circular"', ""), "name: expected a non-empty string"),
        ("name = 'x'\n[[queue]]\nrule = 'first_time_first'\n", "split: expected a table"),
        ("name = 'x'\nsplit = 'equal'\n", "split: expected a table"),
        (
            "name = 'x'\n[split]\nrule = 'equal'\n[queue]\nrule = 'first_time_first'\n",
            "queue: expected an array of tables",
        ),
        (
            "name = 'x'\n[split]\nrule = 'equal'\n[split.deep]\n[split.deep.deeper]\nx = 1\n",
            "split.deep: unknown parameter of equal",
        ),
        ("name = \n", "not valid TOML"),
        (
            VALID.replace('rule = "priority_tiers"', 'rule = "priority_tiers"\nfirst_time_age = 99999999999999999999'),
            "queue[0].first_time_age: must be at most 120, got 99999999999999999999",
        ),
    ],
)
def test_an_invalid_rule_set_names_the_key_and_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(RuleSetError) as refused:
        parse_rule_set(text, "circular.toml")
    assert message in str(refused.value)
    assert "circular.toml" in str(refused.value)


def test_every_problem_is_reported_at_once() -> None:
    text = VALID.replace('"priority_tiers"', '"nope"').replace("first_time_weight = 2", "first_time_weight = 'x'")
    with pytest.raises(RuleSetError) as refused:
        parse_rule_set(text)
    assert len(refused.value.problems) == 2


def test_parameters_of_every_rule_are_validated() -> None:
    for name, rule in available_rules().items():
        kind = "split" if rule.kind == "split" else "queue"
        table = "[split]" if kind == "split" else "[split]\nrule = 'equal'\n[[queue]]"
        text = f"name = 'x'\n{table}\nrule = '{name}'\nunexpected = 1\n"
        with pytest.raises(RuleSetError, match=f"unexpected: unknown parameter of {name}"):
            parse_rule_set(text)
