"""The rule sets as integrators and operators use them: ``Workflow.rules``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._provenance import require_actor
from .._store import rulesets
from .._store.store import Store
from ..clock import now
from ..rules.planner import AllocationPlan
from ..rules.ruleset import RuleSet, load_rule_set
from . import allocation, distribution


@dataclass(frozen=True)
class KecamatanChange:
    """How the next allocation in one kecamatan would differ under other rules."""

    kecamatan: str
    blanks: int
    #: NIKs that would get a blank under the new rules and not under the active ones.
    gain: tuple[str, ...]
    #: NIKs that would lose the blank the active rules give them.
    lose: tuple[str, ...]


@dataclass(frozen=True)
class ShareChange:
    """How one kecamatan's share of the blanks still at the city would differ."""

    kecamatan: str
    #: under the active rules, and under the proposed ones.
    active: int
    proposed: int


@dataclass(frozen=True)
class RuleSetDiff:
    """What applying a rule set would change."""

    active: rulesets.StoredRuleSet
    proposed: RuleSet
    #: the rules that differ, one line each (empty: the same rules).
    changes: list[str]
    #: per kecamatan where the next allocation would differ, the blanks still at the city
    #: shared first by each rule set's split rule.
    allocation: list[KecamatanChange]
    #: per kecamatan whose share of the blanks still at the city would differ.
    distribution: list[ShareChange]


class RuleBook:
    """Stored, versioned rule sets: exactly one active; every change audited."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def active(self) -> rulesets.StoredRuleSet:
        """The rule set in force."""
        with self._store.reading() as conn:
            return rulesets.active(conn)

    def get(self, version: int) -> rulesets.StoredRuleSet:
        """A stored version.

        :raises RuleSetError: there is no such version.
        """
        with self._store.reading() as conn:
            return rulesets.get(conn, version)

    def history(self) -> list[rulesets.Activation]:
        """Every change of the active rule set, oldest first."""
        with self._store.reading() as conn:
            return rulesets.history(conn)

    def apply(self, rule_set: RuleSet | str | Path, *, actor: str, reason: str) -> int:
        """Store a rule set as a new immutable version (or reuse the identical one) and activate it.

        :returns: the version now active.
        :raises RuleSetError: invalid rules, no reason, or those rules already active.
        """
        chosen = rule_set if isinstance(rule_set, RuleSet) else load_rule_set(rule_set)
        with self._store.transaction() as conn:
            return rulesets.apply(conn, chosen, require_actor(actor), reason, now())

    def rollback(self, version: int, *, actor: str, reason: str) -> None:
        """Make an earlier version active again.

        :raises RuleSetError: unknown version, no reason, or already active.
        """
        with self._store.transaction() as conn:
            rulesets.rollback(conn, version, require_actor(actor), reason, now())

    def diff(self, rule_set: RuleSet | str | Path) -> RuleSetDiff:
        """Compare a rule set with the active one: the rules, and the next allocation."""
        proposed = rule_set if isinstance(rule_set, RuleSet) else load_rule_set(rule_set)
        day = now().date()
        with self._store.reading() as tx:  # both plans from one snapshot
            active = rulesets.active(tx)
            shares = distribution.undistributed_shares(tx, active.rule_set)
            other = distribution.undistributed_shares(tx, proposed)
            current = allocation.planned(tx, None, day, added=shares)
            alternative = allocation.planned(tx, None, day, proposed, added=other)
        changes = _rule_changes(active.rule_set, proposed)
        shared = [
            ShareChange(k, shares.get(k, 0), other.get(k, 0))
            for k in sorted(set(shares) | set(other))
            if shares.get(k, 0) != other.get(k, 0)
        ]
        return RuleSetDiff(active, proposed, changes, _allocation_changes(current, alternative), shared)


def _rule_changes(old: RuleSet, new: RuleSet) -> list[str]:
    changes = []
    if old.name != new.name:
        changes.append(f"name: {old.name!r} -> {new.name!r}")
    if old.split != new.split:
        changes.append(f"split: {old.split.describe()} -> {new.split.describe()}")
    if old.queue != new.queue:
        changes.append(f"queue: {old.queue_description()} -> {new.queue_description()}")
    return changes


def _allocation_changes(current: AllocationPlan, alternative: AllocationPlan) -> list[KecamatanChange]:
    changes = []
    now = {k.kecamatan: k for k in current.kecamatan}
    then = {k.kecamatan: k for k in alternative.kecamatan}
    for code in sorted(set(now) | set(then)):
        now_chosen = {a.nik for a in now[code].chosen} if code in now else set()
        then_chosen = {a.nik for a in then[code].chosen} if code in then else set()
        if now_chosen != then_chosen:
            blanks = now[code].blanks if code in now else 0
            changes.append(
                KecamatanChange(
                    code, blanks, tuple(sorted(then_chosen - now_chosen)), tuple(sorted(now_chosen - then_chosen))
                )
            )
    return changes
