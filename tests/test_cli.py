"""The ``ektp`` command line as an operator uses it."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from ektp_workflow.cli.main import cli

from .conftest import snapshot
from .factories import make_nik

NIK = make_nik("16.71.05", sex="F")


def run(db_url: str, *args: str, actor: str | None = "kec-05/op-1") -> Result:
    options = ["--db", db_url] + (["--actor", actor] if actor else [])
    return CliRunner().invoke(cli, [*options, *args], catch_exceptions=False)


@pytest.fixture
def imported(db_url: str, engine: sa.Engine, tmp_path: Path) -> str:
    path = tmp_path / "residents.csv"
    path.write_text(f"nik,name,kecamatan,had_ektp\n{NIK},Siti Aminah,16.71.05,false\n", encoding="utf-8")
    result = run(db_url, "residents", "import", str(path))
    assert result.exit_code == 0, result.output
    return NIK


def test_db_upgrade_then_current_reports_up_to_date(db_url: str) -> None:
    assert run(db_url, "db", "upgrade").exit_code == 0
    result = run(db_url, "db", "current", "--json")
    assert json.loads(result.stdout)["up_to_date"] is True


def test_commands_on_a_database_without_schema_say_how_to_fix_it(db_url: str) -> None:
    result = run(db_url, "card", "show", NIK)
    assert result.exit_code == 5
    assert "ektp db upgrade" in result.stderr


def test_a_missing_sqlite_file_is_not_created_by_a_read(tmp_path: Path) -> None:
    target = tmp_path / "absent.db"
    result = run(f"sqlite:///{target}", "card", "show", NIK)
    assert result.exit_code == 5 and not target.exists()
    assert "create it with `ektp db upgrade`" in result.stderr


def test_import_show_fire_and_history(db_url: str, imported: str) -> None:
    shown = json.loads(run(db_url, "card", "show", imported, "--json").stdout)
    assert (shown["state"], shown["version"], shown["next"]) == ("unrecorded", 1, ["record", "die", "move_out"])

    fired = run(db_url, "card", "fire", imported, "record", "--reason", "perekaman")
    assert fired.exit_code == 0
    assert fired.stdout.startswith(f"{imported}: unrecorded -> recorded")

    history = json.loads(run(db_url, "card", "history", imported, "--json").stdout)
    assert history[0]["reason"].startswith("line 2 of ") and history[0]["reason"].endswith("residents.csv")
    assert [(e["trigger"], e["actor"], e["reason"]) for e in history[1:]] == [
        ("record", "kec-05/op-1", "perekaman"),
    ]
    table = run(db_url, "card", "history", imported).stdout
    assert "perekaman" in table and "register" in table


def test_a_refused_transition_exits_3_and_changes_nothing(db_url: str, engine: sa.Engine, imported: str) -> None:
    before = snapshot(engine)
    result = run(db_url, "card", "fire", imported, "collect")
    assert result.exit_code == 3
    assert (
        result.stderr
        == "Error: 'collect' is not allowed from state 'unrecorded'; from 'unrecorded' allowed: record, die, move_out\n"
    )
    assert snapshot(engine) == before


def test_an_unknown_trigger_lists_the_known_ones(db_url: str, imported: str) -> None:
    result = run(db_url, "card", "fire", imported, "rekam")
    assert result.exit_code == 1
    assert "unknown trigger 'rekam'; expected one of: record" in result.stderr


def test_an_unknown_nik_exits_4(db_url: str, imported: str) -> None:
    result = run(db_url, "card", "show", make_nik())
    assert result.exit_code == 4 and "no card registered" in result.stderr


def test_a_change_without_actor_is_refused_before_anything_happens(
    db_url: str, engine: sa.Engine, imported: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EKTP_ACTOR", raising=False)
    before = snapshot(engine)
    result = run(db_url, "card", "fire", imported, "record", actor=None)
    assert result.exit_code == 2
    assert "needs an actor: pass --actor NAME" in result.stderr
    assert snapshot(engine) == before


def test_the_actor_may_come_from_the_environment(db_url: str, imported: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EKTP_ACTOR", "from-env")
    assert run(db_url, "card", "fire", imported, "record", actor=None).exit_code == 0
    history = json.loads(run(db_url, "card", "history", imported, "--json").stdout)
    assert history[-1]["actor"] == "from-env"


def test_idempotency_key_from_the_cli(db_url: str, imported: str) -> None:
    first = json.loads(run(db_url, "card", "fire", imported, "record", "--key", "k1", "--json").stdout)
    again = json.loads(run(db_url, "card", "fire", imported, "record", "--key", "k1", "--json").stdout)
    assert first == again


def test_stale_expected_version_exits_3_and_says_to_read_the_card_again(db_url: str, imported: str) -> None:
    run(db_url, "card", "fire", imported, "record")
    result = run(db_url, "card", "fire", imported, "submit", "--expected-version", "1")
    assert result.exit_code == 3  # the same command can never succeed: not 75
    assert "is at version 2, not 1" in result.stderr and "retryable" not in result.stderr


def test_a_bad_import_lists_lines_and_exits_1(db_url: str, engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"nik,name,kecamatan\n{make_nik()},Ok,16.71.05\n123,Bad,16.71.05\n", encoding="utf-8")
    before = snapshot(engine)
    result = run(db_url, "residents", "import", str(path))
    assert result.exit_code == 1
    assert "line 3: invalid NIK '123': length" in result.stderr
    assert snapshot(engine) == before


def test_states_list_and_diagrams(tmp_path: Path) -> None:
    listed = json.loads(CliRunner().invoke(cli, ["states", "list", "--json"]).stdout)
    assert listed["initial"] == "unrecorded" and len(listed["states"]) == 11
    mermaid = CliRunner().invoke(cli, ["states", "diagram"]).stdout
    assert "stateDiagram-v2" in mermaid
    out = tmp_path / "lifecycle.dot"
    assert CliRunner().invoke(cli, ["states", "diagram", "--format", "dot", "-o", str(out)]).exit_code == 0
    assert out.read_text().startswith("digraph")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((prefix + (name,), command))
        if isinstance(command, click.Group):
            found += _commands(command, prefix + (name,))
    return found


@pytest.mark.parametrize("path", [p for p, _ in _commands(cli)], ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "ektp " in result.stdout.split("Example:")[1]
