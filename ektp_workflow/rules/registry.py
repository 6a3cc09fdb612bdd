"""Finding rules by name through the entry-point group ``ektp_workflow.rules``."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from ..i18n import _
from .base import QUEUE, SPLIT

GROUP = "ektp_workflow.rules"
_REQUIRED = ("name", "kind", "summary", "parameters")


def available_rules() -> dict[str, Any]:
    """Every installed rule class by name, built-ins included, sorted by name.

    A plugin that cannot be imported or lacks the rule attributes is left out; its
    problem is given by ``broken_rules``.
    """
    rules, _broken = _discover()
    return rules


def broken_rules() -> dict[str, str]:
    """Entry points in the group that are not usable rules, with the reason."""
    _rules, broken = _discover()
    return broken


def _discover() -> tuple[dict[str, Any], dict[str, str]]:
    rules: dict[str, Any] = {}
    broken: dict[str, str] = {}
    for point in entry_points(group=GROUP):
        try:
            rule = point.load()
        except Exception as err:  # noqa: BLE001 - a broken plugin must not break the others
            broken[point.name] = _("cannot import {entry_point}: {error}").format(entry_point=point.value, error=err)
            continue
        missing = [a for a in _REQUIRED if not hasattr(rule, a)]
        if missing or rule.kind not in (QUEUE, SPLIT):
            message = _("{entry_point} is not a rule (needs {attributes}; kind queue or split)")
            broken[point.name] = message.format(entry_point=point.value, attributes=", ".join(_REQUIRED))
            continue
        rules[point.name] = rule
    return dict(sorted(rules.items())), broken
