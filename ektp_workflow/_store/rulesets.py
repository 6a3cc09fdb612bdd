"""Stored rule sets: immutable, content-hashed versions and an append-only activation log,
both chained with the events (``eventlog.append_entries``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import RuleSetError, WorkflowError
from ..i18n import _
from ..rules.ruleset import RuleSet, parse_rule_set
from . import eventlog
from .schema import rule_set_activations, rule_sets


@dataclass(frozen=True)
class StoredRuleSet:
    """A version of the rules as stored."""

    version: int
    rule_set: RuleSet
    created_at: dt.datetime
    created_by: str


@dataclass(frozen=True)
class Activation:
    """One change of the active rule set: who, when, why."""

    seq: int
    version: int
    action: str
    actor: str
    reason: str
    occurred_at: dt.datetime
    name: str
    hash: str


def active(conn: Connection) -> StoredRuleSet:
    """The rule set in force.

    :raises WorkflowError: the database has no rule set (not migrated).
    """
    version = conn.scalar(
        sa.select(rule_set_activations.c.version).order_by(rule_set_activations.c.seq.desc()).limit(1)
    )
    if version is None:
        raise WorkflowError(_("no rule set is active; run `ektp db upgrade`"))
    return get(conn, int(version))


def get(conn: Connection, version: int) -> StoredRuleSet:
    """A stored version.

    :raises RuleSetError: there is no such version, or its rules are no longer installed.
    """
    row = conn.execute(sa.select(rule_sets).where(rule_sets.c.version == version)).first()
    if row is None:
        raise RuleSetError(
            _("version {version}").format(version=version), [_("no such rule-set version; see `ektp rules history`")]
        )
    stored = _("stored rule set version {version}").format(version=version)
    rule_set = parse_rule_set(row.text, stored)
    if rule_set.hash != row.hash:
        altered = _("was altered: its text hashes to {found}, it was stored as {stored}")
        raise RuleSetError(stored, [altered.format(found=rule_set.hash[:12], stored=row.hash[:12])])
    return StoredRuleSet(row.version, rule_set, row.created_at, row.created_by)


def history(conn: Connection) -> list[Activation]:
    """Every activation, oldest first."""
    query = (
        sa.select(rule_set_activations, rule_sets.c.name, rule_sets.c.hash)
        .join(rule_sets, rule_sets.c.version == rule_set_activations.c.version)
        .order_by(rule_set_activations.c.seq)
    )
    return [
        Activation(r.seq, r.version, r.action, r.actor, r.reason, r.occurred_at, r.name, r.hash)
        for r in conn.execute(query)
    ]


def apply(conn: Connection, rule_set: RuleSet, actor: str, reason: str, at: dt.datetime) -> int:
    """Store ``rule_set`` (or find the identical stored version) and make it active.

    :returns: the version now active.
    :raises RuleSetError: no reason given, or the same rules are already active.
    """
    _require_reason(reason)
    version = conn.scalar(sa.select(rule_sets.c.version).where(rule_sets.c.hash == rule_set.hash))
    if version is None:
        version = int(conn.scalar(sa.select(sa.func.coalesce(sa.func.max(rule_sets.c.version), 0))) or 0) + 1
        stored = {
            "version": version,
            "name": rule_set.name,
            "hash": rule_set.hash,
            "text": rule_set.text,
            "created_at": at,
            "created_by": actor,
        }
        eventlog.append_entries(conn, "rule_set", [stored])
    _activate(conn, int(version), "apply", actor, reason, at)
    return int(version)


def rollback(conn: Connection, version: int, actor: str, reason: str, at: dt.datetime) -> None:
    """Make an earlier stored version active again.

    :raises RuleSetError: unknown version, no reason, or that version is already active.
    """
    _require_reason(reason)
    get(conn, version)
    _activate(conn, version, "rollback", actor, reason, at)


def _activate(conn: Connection, version: int, action: str, actor: str, reason: str, at: dt.datetime) -> None:
    current = active(conn)
    if current.version == version:
        active_already = _("version {version} ({name}) is already active; nothing changed")
        raise RuleSetError(
            _("version {version}").format(version=version),
            [active_already.format(version=version, name=current.rule_set.name)],
        )
    activation = {"version": version, "action": action, "actor": actor, "reason": reason, "occurred_at": at}
    eventlog.append_entries(conn, "rule_activation", [activation])


def _require_reason(reason: str) -> None:
    if not reason or not reason.strip():
        # TRANSLATORS: what the rule-set error is about: a change of the rules in force.
        raise RuleSetError(_("change"), [_("a reason is required (e.g. the circular's number and date)")])
