"""Rule sets: operator-editable TOML naming rules and their parameters, validated, never run.

A rule set file::

    name = "2020 circular"

    [split]
    rule = "proportional_to_queue"
    first_time_weight = 2.0

    [[queue]]
    rule = "priority_tiers"

    [[queue]]
    rule = "longest_waiting_first"
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidText, RuleSetError
from ..i18n import N_, _
from ..text import line
from .base import QUEUE, SPLIT, Parameter
from .registry import available_rules

_TOP_KEYS = {"name", "split", "queue"}
MAX_QUEUE_RULES = 20
MAX_TEXT = 100_000


@dataclass(frozen=True)
class RuleChoice:
    """One rule of a rule set with its validated parameters (defaults filled in)."""

    rule: str
    params: Mapping[str, Any]

    def instantiate(self, rules: Mapping[str, Any]) -> Any:
        return rules[self.rule](**self.params)

    def canonical(self) -> dict[str, Any]:
        return {"rule": self.rule, "params": {k: _plain(v) for k, v in sorted(self.params.items())}}

    def describe(self) -> str:
        """``rule(param=value, ...)``, or just ``rule`` without parameters."""
        params = ", ".join(f"{k}={_plain(v)}" for k, v in sorted(self.params.items()))
        return f"{self.rule}({params})" if params else self.rule


@dataclass(frozen=True)
class RuleSet:
    """A validated rule set: one split rule and an ordered list of queue rules."""

    name: str
    split: RuleChoice
    queue: tuple[RuleChoice, ...]
    #: the text it was read from, kept verbatim when stored.
    text: str

    @property
    def hash(self) -> str:
        """SHA-256 of what the rules mean: independent of comments and formatting."""
        encoded = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()

    def canonical(self) -> dict[str, Any]:
        return {"split": self.split.canonical(), "queue": [q.canonical() for q in self.queue]}

    def describe(self) -> str:
        """One line: ``split: proportional_to_queue; queue: first_time_first, ...``."""
        return f"split: {self.split.describe()}; queue: {self.queue_description()}"

    def queue_description(self) -> str:
        return ", ".join(q.describe() for q in self.queue) or _("(none)")


def load_rule_set(path: str | Path) -> RuleSet:
    """Read and validate a rule-set file.

    :raises RuleSetError: naming the file, every bad key and what is expected.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RuleSetError(str(path), [_("cannot read: {error}").format(error=err)]) from err
    return parse_rule_set(text, str(path))


def parse_rule_set(text: str, source: str = "<rule set>", rules: Mapping[str, Any] | None = None) -> RuleSet:
    """Validate rule-set TOML against the installed rules' parameter schemas.

    :raises RuleSetError: listing every problem with its key.
    """
    if len(text) > MAX_TEXT:
        message = _("{count:,} characters; a rule set has at most {maximum:,}")
        raise RuleSetError(source, [message.format(count=len(text), maximum=MAX_TEXT)])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RuleSetError(source, [_("not valid TOML: {error}").format(error=err)]) from err
    except RecursionError as err:
        raise RuleSetError(source, [_("not valid TOML: arrays or tables nested too deeply")]) from err
    rules = available_rules() if rules is None else rules
    problems: list[str] = []
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        message = _("{keys}: unknown key(s); a rule set has name, [split] and [[queue]]")
        problems.append(message.format(keys=", ".join(unknown)))
    name = data.get("name", "")
    if not isinstance(name, str) or not name.strip():
        problems.append(_("name: expected a non-empty string describing the rule set"))
    else:
        try:
            line(name, N_("name"))
        except InvalidText as err:
            problems.append(f"name: {err.reason}")
    split = _split(data.get("split"), rules, problems)
    queue = _queue(data.get("queue", []), rules, problems)
    if problems or split is None:
        raise RuleSetError(source, problems)
    return RuleSet(str(name).strip(), split, tuple(queue), text)


def _split(raw: Any, rules: Mapping[str, Any], problems: list[str]) -> RuleChoice | None:
    if not isinstance(raw, Mapping):
        problems.append(_('split: expected a table, e.g. [split] rule = "proportional_to_queue"'))
        return None
    return _choice_of("split", raw, SPLIT, rules, problems)


def _queue(raw: Any, rules: Mapping[str, Any], problems: list[str]) -> list[RuleChoice]:
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        problems.append(_('queue: expected an array of tables, e.g. [[queue]] rule = "first_time_first"'))
        return []
    if len(raw) > MAX_QUEUE_RULES:
        problems.append(_("queue: {count} rules, at most {maximum}").format(count=len(raw), maximum=MAX_QUEUE_RULES))
        return []
    choices = [_choice_of(f"queue[{i}]", item, QUEUE, rules, problems) for i, item in enumerate(raw)]
    return [c for c in choices if c is not None]


def _choice_of(
    key: str, raw: Mapping[str, Any], kind: str, rules: Mapping[str, Any], problems: list[str]
) -> RuleChoice | None:
    name = raw.get("rule")
    of_kind = sorted(n for n, r in rules.items() if r.kind == kind)
    if not isinstance(name, str) or name not in rules:
        message = _("{key}: unknown rule {name!r}; {kind} rules: {rules}")
        problems.append(message.format(key=f"{key}.rule", name=name, kind=kind, rules=", ".join(of_kind)))
        return None
    rule = rules[name]
    if rule.kind != kind:
        message = _("{key}: {name} is a {other} rule; {kind} rules: {rules}")
        problems.append(
            message.format(key=f"{key}.rule", name=name, other=rule.kind, kind=kind, rules=", ".join(of_kind))
        )
        return None
    params = _params(key, name, {k: v for k, v in raw.items() if k != "rule"}, rule.parameters, problems)
    return RuleChoice(name, params) if params is not None else None


def _params(
    key: str, rule: str, given: Mapping[str, Any], schema: Mapping[str, Parameter], problems: list[str]
) -> dict[str, Any] | None:
    count = len(problems)
    for unknown in sorted(set(given) - set(schema)):
        takes = ", ".join(schema) or _("no parameters")
        message = _("{key}: unknown parameter of {rule}; it takes {parameters}")
        problems.append(message.format(key=f"{key}.{unknown}", rule=rule, parameters=takes))
    params = {}
    for pname, spec in schema.items():
        if pname not in given:
            if spec.required:
                message = _("{key}: required parameter of {rule} missing ({help})")
                problems.append(message.format(key=f"{key}.{pname}", rule=rule, help=_(spec.help) if spec.help else ""))
            else:
                params[pname] = spec.default
            continue
        problem = _check_value(given[pname], spec)
        if problem:
            problems.append(f"{key}.{pname}: {problem}")
        else:
            params[pname] = float(given[pname]) if spec.type is float else given[pname]
    return params if len(problems) == count else None


def _check_value(value: Any, spec: Parameter) -> str | None:
    expected = spec.type.__name__
    if spec.type is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    elif spec.type is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif spec.type is dt.date:
        ok = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
        expected = _("date (YYYY-MM-DD, unquoted)")
    else:
        ok = isinstance(value, spec.type)
    if not ok:
        return _("expected {expected}, got {value}").format(expected=expected, value=_short(value))
    if spec.type is dt.date and not EARLIEST <= value <= LATEST:
        return _("must be from {earliest} to {latest}, got {value}").format(
            earliest=EARLIEST, latest=LATEST, value=value
        )
    if spec.minimum is not None and value < spec.minimum:
        return _("must be at least {minimum}, got {value}").format(minimum=spec.minimum, value=_short(value))
    if spec.maximum is not None and value > spec.maximum:
        return _("must be at most {maximum}, got {value}").format(maximum=spec.maximum, value=_short(value))
    return None


#: The dates a rule may name: residents' births and the circulars' deadlines lie between.
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else _("{start}...({count:,} characters)").format(start=text[:20], count=len(text))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
