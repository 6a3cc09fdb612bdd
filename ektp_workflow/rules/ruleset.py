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
        return ", ".join(q.describe() for q in self.queue) or "(none)"


def load_rule_set(path: str | Path) -> RuleSet:
    """Read and validate a rule-set file.

    :raises RuleSetError: naming the file, every bad key and what is expected.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RuleSetError(str(path), [f"cannot read: {err}"]) from err
    return parse_rule_set(text, str(path))


def parse_rule_set(text: str, source: str = "<rule set>", rules: Mapping[str, Any] | None = None) -> RuleSet:
    """Validate rule-set TOML against the installed rules' parameter schemas.

    :raises RuleSetError: listing every problem with its key.
    """
    if len(text) > MAX_TEXT:
        raise RuleSetError(source, [f"{len(text):,} characters; a rule set has at most {MAX_TEXT:,}"])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RuleSetError(source, [f"not valid TOML: {err}"]) from err
    except RecursionError as err:
        raise RuleSetError(source, ["not valid TOML: arrays or tables nested too deeply"]) from err
    rules = available_rules() if rules is None else rules
    problems: list[str] = []
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        problems.append(f"{', '.join(unknown)}: unknown key(s); a rule set has name, [split] and [[queue]]")
    name = data.get("name", "")
    if not isinstance(name, str) or not name.strip():
        problems.append("name: expected a non-empty string describing the rule set")
    else:
        try:
            line(name, "name")
        except InvalidText as err:
            problems.append(f"name: {err.reason}")
    split = _split(data.get("split"), rules, problems)
    queue = _queue(data.get("queue", []), rules, problems)
    if problems or split is None:
        raise RuleSetError(source, problems)
    return RuleSet(str(name).strip(), split, tuple(queue), text)


def _split(raw: Any, rules: Mapping[str, Any], problems: list[str]) -> RuleChoice | None:
    if not isinstance(raw, Mapping):
        problems.append('split: expected a table, e.g. [split] rule = "proportional_to_queue"')
        return None
    return _choice_of("split", raw, SPLIT, rules, problems)


def _queue(raw: Any, rules: Mapping[str, Any], problems: list[str]) -> list[RuleChoice]:
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        problems.append('queue: expected an array of tables, e.g. [[queue]] rule = "first_time_first"')
        return []
    if len(raw) > MAX_QUEUE_RULES:
        problems.append(f"queue: {len(raw)} rules, at most {MAX_QUEUE_RULES}")
        return []
    choices = [_choice_of(f"queue[{i}]", item, QUEUE, rules, problems) for i, item in enumerate(raw)]
    return [c for c in choices if c is not None]


def _choice_of(
    key: str, raw: Mapping[str, Any], kind: str, rules: Mapping[str, Any], problems: list[str]
) -> RuleChoice | None:
    name = raw.get("rule")
    of_kind = sorted(n for n, r in rules.items() if r.kind == kind)
    if not isinstance(name, str) or name not in rules:
        problems.append(f"{key}.rule: unknown rule {name!r}; {kind} rules: {', '.join(of_kind)}")
        return None
    rule = rules[name]
    if rule.kind != kind:
        problems.append(f"{key}.rule: {name} is a {rule.kind} rule; {kind} rules: {', '.join(of_kind)}")
        return None
    params = _params(key, name, {k: v for k, v in raw.items() if k != "rule"}, rule.parameters, problems)
    return RuleChoice(name, params) if params is not None else None


def _params(
    key: str, rule: str, given: Mapping[str, Any], schema: Mapping[str, Parameter], problems: list[str]
) -> dict[str, Any] | None:
    count = len(problems)
    for unknown in sorted(set(given) - set(schema)):
        takes = ", ".join(schema) or "no parameters"
        problems.append(f"{key}.{unknown}: unknown parameter of {rule}; it takes {takes}")
    params = {}
    for pname, spec in schema.items():
        if pname not in given:
            if spec.required:
                problems.append(f"{key}.{pname}: required parameter of {rule} missing ({spec.help})")
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
        ok, expected = isinstance(value, dt.date) and not isinstance(value, dt.datetime), "date (YYYY-MM-DD, unquoted)"
    else:
        ok = isinstance(value, spec.type)
    if not ok:
        return f"expected {expected}, got {_short(value)}"
    if spec.type is dt.date and not EARLIEST <= value <= LATEST:
        return f"must be from {EARLIEST} to {LATEST}, got {value}"
    if spec.minimum is not None and value < spec.minimum:
        return f"must be at least {spec.minimum}, got {_short(value)}"
    if spec.maximum is not None and value > spec.maximum:
        return f"must be at most {spec.maximum}, got {_short(value)}"
    return None


#: The dates a rule may name: residents' births and the circulars' deadlines lie between.
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text):,} characters)"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
