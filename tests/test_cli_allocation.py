"""``ektp blanks``, ``ektp allocate`` and ``ektp rules`` as an operator uses them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from ektp_workflow import Workflow
from ektp_workflow.cli.main import cli

from .conftest import snapshot
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .test_allocation import queue


def run(db_url: str, *args: str, actor: str | None = "dinas/kabid") -> Result:
    options = ["--db", db_url] + (["--actor", actor] if actor else [])
    return CliRunner().invoke(cli, [*options, *args], catch_exceptions=False)


@pytest.fixture
def waiting(workflow: Workflow) -> list[str]:
    return queue(workflow, ITS, 2, 2)


def test_receive_distribute_allocate_and_status(db_url: str, waiting: list[str]) -> None:
    assert run(db_url, "blanks", "receive", "3", "--reference", "KMD-2017-10-16", "--date", "2017-10-16").exit_code == 0
    distributed = run(db_url, "blanks", "distribute", "KMD-2017-10-16")
    assert distributed.exit_code == 0
    assert "distributed 3 of 3 blanks by proportional_to_queue" in distributed.stdout

    dry = run(db_url, "allocate", "--dry-run")
    assert "dry run: would reserve 3 blanks; nothing written" in dry.stdout
    plan = json.loads(run(db_url, "allocate", "--json").stdout)
    (kecamatan,) = plan["kecamatan"]
    assert (kecamatan["first_time_served"], kecamatan["replacement_served"]) == (2, 1)
    assert kecamatan["chosen"][:2] == waiting[:2]

    status = run(db_url, "blanks", "status", "--json")
    assert status.exit_code == 0
    data = json.loads(status.stdout)
    assert data["problems"] == []
    assert data["batches"][0]["received"] == 3 and data["batches"][0]["reserved"] == 3
    assert "ledger balances" in run(db_url, "blanks", "status").stdout


def test_status_exits_1_when_the_ledger_does_not_balance(db_url: str, engine: sa.Engine, waiting: list[str]) -> None:
    run(db_url, "blanks", "receive", "3", "--reference", "B")
    run(db_url, "blanks", "distribute", "B")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE blank_stock SET spoiled = spoiled + 2")
    result = run(db_url, "blanks", "status")
    assert result.exit_code == 1
    assert "ledger does NOT balance" in result.stderr


def test_refused_stock_commands_give_the_numbers_and_change_nothing(
    db_url: str, engine: sa.Engine, waiting: list[str]
) -> None:
    run(db_url, "blanks", "receive", "2", "--reference", "B")
    before = snapshot(engine)
    again = run(db_url, "blanks", "receive", "5", "--reference", "B")
    assert again.exit_code == 1 and "batch 'B' was already received" in again.stderr
    spoil = run(db_url, "blanks", "spoil", ITS, "1", "--reason", "jam")
    assert spoil.exit_code == 1 and "cannot spoil 1 blank at kecamatan 16.71.05: 0 unreserved there" in spoil.stderr
    assert run(db_url, "blanks", "distribute", "NOPE").exit_code == 1
    assert snapshot(engine) == before


RULES = """\
    name = "2020 circular"
    [split]
    rule = "proportional_to_queue"
    first_time_weight = 2.0
    [[queue]]
    rule = "priority_tiers"
    [[queue]]
    rule = "longest_waiting_first"
"""


def test_rules_validate_diff_apply_history_rollback(db_url: str, tmp_path: Path, waiting: list[str]) -> None:
    path = tmp_path / "circular-2020.toml"
    path.write_text(textwrap.dedent(RULES), encoding="utf-8")
    assert "valid: 2020 circular" in run(db_url, "rules", "validate", str(path)).stdout
    diff = run(db_url, "rules", "diff", str(path))
    assert "queue: first_time_first, longest_waiting_first -> priority_tiers(first_time_age=17)" in diff.stdout

    applied = run(db_url, "rules", "apply", str(path), "--reason", "SE Dirjen 2020")
    assert applied.exit_code == 0 and "rule set version 2 is now active" in applied.stdout
    shown = json.loads(run(db_url, "rules", "show", "--json").stdout)
    assert (shown["version"], shown["name"], shown["active"]) == (2, "2020 circular", True)
    assert "first_time_weight = 2.0" in shown["text"]

    assert run(db_url, "rules", "rollback", "1", "--reason", "withdrawn").exit_code == 0
    history = json.loads(run(db_url, "rules", "history", "--json").stdout)
    assert [(h["version"], h["action"], h["actor"]) for h in history] == [
        (1, "apply", "ektp_workflow"),
        (2, "apply", "dinas/kabid"),
        (1, "rollback", "dinas/kabid"),
    ]


def test_an_invalid_rule_set_is_refused_naming_file_and_key(db_url: str, engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(textwrap.dedent(RULES).replace("2.0", '"double"'), encoding="utf-8")
    before = snapshot(engine)
    result = run(db_url, "rules", "apply", str(path), "--reason", "x")
    assert result.exit_code == 1
    assert f"invalid rule set {path}" in result.stderr
    assert "split.first_time_weight: expected float, got 'double'" in result.stderr
    assert snapshot(engine) == before


def test_rules_list_shows_parameters(db_url: str) -> None:
    listed = run(db_url, "rules", "list").stdout
    assert "turning_17_before" in listed and "date (date, required)" in listed
    names = {r["name"] for r in json.loads(run(db_url, "rules", "list", "--json").stdout)}
    assert "minimum_per_kecamatan" in names
