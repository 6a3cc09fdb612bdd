"""The built-in allocation rules, registered through entry points like any plugin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

import sqlalchemy as sa

from ..i18n import N_
from ..nik import age_on, latest_birth_date
from .base import QUEUE, SPLIT, Applicant, Demand, Parameter, QueueColumns

# -- queue rules ------------------------------------------------------------------


class FirstTimeFirst:
    """Residents who never held an e-KTP before everyone else (Palembang 2017)."""

    name: ClassVar[str] = "first_time_first"
    kind: ClassVar[str] = QUEUE
    summary: ClassVar[str] = N_("first-time applicants (never held an e-KTP) before replacements")
    parameters: ClassVar[Mapping[str, Parameter]] = {}

    def key(self, applicant: Applicant, today: dt.date) -> int:
        return 0 if applicant.first_time else 1

    def sql_key(self, columns: QueueColumns, today: dt.date) -> sa.ColumnElement[int]:
        return sa.case((columns.had_ektp, 1), else_=0)


class PriorityTiers:
    """The 2020 circular's tiers, from the resident record's flags."""

    name: ClassVar[str] = "priority_tiers"
    kind: ClassVar[str] = QUEUE
    summary: ClassVar[str] = N_(
        "1 first-time 17-year-olds, 2 disaster victims, 3 first-time applicants and "
        "suket holders waiting, 4 replacements"
    )
    parameters: ClassVar[Mapping[str, Parameter]] = {
        "first_time_age": Parameter(
            int, N_("first-time applicants up to this age are tier 1"), default=17, minimum=16, maximum=120
        ),
    }

    def __init__(self, first_time_age: int = 17) -> None:
        self.first_time_age = first_time_age

    def key(self, applicant: Applicant, today: dt.date) -> int:
        if applicant.first_time and age_on(applicant.birth_date, today) <= self.first_time_age:
            return 1
        if applicant.disaster_victim:
            return 2
        if applicant.first_time or applicant.suket:
            return 3
        return 4

    def sql_key(self, columns: QueueColumns, today: dt.date) -> sa.ColumnElement[int]:
        # age <= first_time_age: born after the last birth date of someone a year older
        young = columns.birth_date > latest_birth_date(self.first_time_age + 1, today)
        return sa.case(
            (sa.and_(sa.not_(columns.had_ektp), young), 1),
            (columns.disaster_victim, 2),
            (sa.or_(sa.not_(columns.had_ektp), columns.suket), 3),
            else_=4,
        )


class LongestWaitingFirst:
    """Who has waited longest for a blank goes first."""

    name: ClassVar[str] = "longest_waiting_first"
    kind: ClassVar[str] = QUEUE
    summary: ClassVar[str] = N_("earliest identity confirmation first")
    parameters: ClassVar[Mapping[str, Parameter]] = {}

    def key(self, applicant: Applicant, today: dt.date) -> dt.datetime:
        return applicant.waiting_since

    def sql_key(self, columns: QueueColumns, today: dt.date) -> sa.ColumnElement[dt.datetime]:
        return columns.waiting_since


class Turning17Before:
    """Residents who are 17 by a date (e.g. an election day) before those who are not."""

    name: ClassVar[str] = "turning_17_before"
    kind: ClassVar[str] = QUEUE
    summary: ClassVar[str] = N_("residents who are 17 or older on the given date first")
    parameters: ClassVar[Mapping[str, Parameter]] = {
        "date": Parameter(dt.date, N_("the day they must be 17 by, e.g. 2029-02-14")),
    }

    def __init__(self, date: dt.date) -> None:
        self.date = date

    def key(self, applicant: Applicant, today: dt.date) -> int:
        return 0 if age_on(applicant.birth_date, self.date) >= 17 else 1

    def sql_key(self, columns: QueueColumns, today: dt.date) -> sa.ColumnElement[int]:
        return sa.case((columns.birth_date <= latest_birth_date(17, self.date), 0), else_=1)


def _tier(text: str, default: int) -> Parameter:
    return Parameter(int, text, default=default, minimum=1, maximum=9)


class ReplacementReason:
    """Replacements in tiers by why they are needed (``replace --category``), after every
    first-time applicant: a circular may put a damaged card before a lost one."""

    name: ClassVar[str] = "replacement_reason"
    kind: ClassVar[str] = QUEUE
    summary: ClassVar[str] = N_("first-time applicants first, then replacements by the tier of their category")
    parameters: ClassVar[Mapping[str, Parameter]] = {
        "data_change": _tier(N_("tier of a replacement for changed data (a correction) (lower first)"), 1),
        "damaged": _tier(N_("tier of a replacement for a damaged card (old card surrendered) (lower first)"), 2),
        "lost": _tier(N_("tier of a replacement for a lost card (police report) (lower first)"), 3),
        "unknown": _tier(
            N_("tier of a replacement whose reason is not recorded (held an e-KTP before registration) (lower first)"),
            4,
        ),
    }

    def __init__(self, data_change: int = 1, damaged: int = 2, lost: int = 3, unknown: int = 4) -> None:
        self.tiers = {"data_change": data_change, "damaged": damaged, "lost": lost}
        self.unknown = unknown

    def key(self, applicant: Applicant, today: dt.date) -> int:
        if applicant.first_time:
            return 0
        return self.tiers.get(applicant.replacement or "", self.unknown)

    def sql_key(self, columns: QueueColumns, today: dt.date) -> sa.ColumnElement[int]:
        return sa.case(
            (sa.not_(columns.had_ektp), 0),
            *((columns.replacement == category, tier) for category, tier in self.tiers.items()),
            else_=self.unknown,
        )


# -- split rules ------------------------------------------------------------------


_WEIGHT = Parameter(
    float,
    N_("how many times a first-time applicant counts against a replacement"),
    default=1.0,
    minimum=0.0,
    maximum=1000.0,
)


class ProportionalToQueue:
    """Blanks in proportion to each kecamatan's unmet queue (largest-remainder method)."""

    name: ClassVar[str] = "proportional_to_queue"
    kind: ClassVar[str] = SPLIT
    summary: ClassVar[str] = N_(
        "in proportion to each kecamatan's waiting applicants, optionally weighting first-time ones"
    )
    parameters: ClassVar[Mapping[str, Parameter]] = {"first_time_weight": _WEIGHT}

    def __init__(self, first_time_weight: float = 1.0) -> None:
        self.first_time_weight = first_time_weight

    def split(self, blanks: int, demand: list[Demand]) -> dict[str, int]:
        return largest_remainder(blanks, _queue_weights(demand, self.first_time_weight), _caps(demand))


class Equal:
    """The same number of blanks for every kecamatan that needs them."""

    name: ClassVar[str] = "equal"
    kind: ClassVar[str] = SPLIT
    summary: ClassVar[str] = N_("equal shares for every kecamatan with applicants waiting")
    parameters: ClassVar[Mapping[str, Parameter]] = {}

    def split(self, blanks: int, demand: list[Demand]) -> dict[str, int]:
        return largest_remainder(blanks, {d.kecamatan: Fraction(1) for d in demand}, _caps(demand))


class MinimumPerKecamatan:
    """A floor for every kecamatan first, then the rest in proportion to the queue."""

    name: ClassVar[str] = "minimum_per_kecamatan"
    kind: ClassVar[str] = SPLIT
    summary: ClassVar[str] = N_("at least `minimum` blanks each (as far as stock goes), the rest proportional")
    parameters: ClassVar[Mapping[str, Parameter]] = {
        "minimum": Parameter(int, N_("blanks each kecamatan gets first"), minimum=0, maximum=1_000_000),
        "first_time_weight": _WEIGHT,
    }

    def __init__(self, minimum: int, first_time_weight: float = 1.0) -> None:
        self.minimum = minimum
        self.first_time_weight = first_time_weight

    def split(self, blanks: int, demand: list[Demand]) -> dict[str, int]:
        floors = {d.kecamatan: min(self.minimum, d.unmet) for d in demand}
        first = largest_remainder(blanks, {d.kecamatan: Fraction(1) for d in demand}, floors)
        rest_caps = {d.kecamatan: d.unmet - first[d.kecamatan] for d in demand}
        rest = largest_remainder(
            blanks - sum(first.values()), _queue_weights(demand, self.first_time_weight), rest_caps
        )
        return {k: first[k] + rest[k] for k in first}


def _queue_weights(demand: list[Demand], first_time_weight: float) -> dict[str, Fraction]:
    weight = Fraction(str(first_time_weight))
    return {d.kecamatan: weight * d.first_time + d.replacement for d in demand}


def _caps(demand: list[Demand]) -> dict[str, int]:
    return {d.kecamatan: d.unmet for d in demand}


def largest_remainder(total: int, weights: Mapping[str, Any], caps: Mapping[str, int]) -> dict[str, int]:
    """Share ``total`` in proportion to ``weights`` without exceeding ``caps``.

    Whole shares first, then one each to the largest remainders (ties by code); what
    a capped kecamatan cannot take is shared again among the others. Exact
    (fractions), so the same inputs give the same split on every machine. What no
    one can take is left over.
    """
    given = dict.fromkeys(weights, 0)
    remaining = total
    while remaining > 0:
        open_ = [k for k in sorted(weights) if weights[k] > 0 and given[k] < caps.get(k, 0)]
        if not open_:
            break
        step = _one_round(remaining, {k: Fraction(weights[k]) for k in open_}, {k: caps[k] - given[k] for k in open_})
        if not any(step.values()):
            break
        for k, n in step.items():
            given[k] += n
        remaining -= sum(step.values())
    return given


def _one_round(total: int, weights: dict[str, Fraction], room: dict[str, int]) -> dict[str, int]:
    weight_sum = sum(weights.values())
    quotas = {k: total * w / weight_sum for k, w in weights.items()}
    step = {k: min(int(q), room[k]) for k, q in quotas.items()}
    leftover = total - sum(step.values())
    for k in sorted(quotas, key=lambda k: (-(quotas[k] - int(quotas[k])), k)):
        if leftover == 0:
            break
        if step[k] < room[k]:
            step[k] += 1
            leftover -= 1
    return step
