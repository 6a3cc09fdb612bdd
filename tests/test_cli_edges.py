"""The rough edges a newcomer hit (issue 22), each held: dry runs need no actor, ``--db``
takes a plain path, every input gap is named with the right exit code, and a program
that asked for JSON gets its error as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from ektp_workflow import Workflow
from ektp_workflow.cli.main import cli

from .conftest import snapshot
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .test_allocation import queue, stock


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def anonymous(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EKTP_ACTOR", raising=False)


def test_dry_runs_need_no_actor_and_write_nothing(
    db_url: str, workflow: Workflow, engine: sa.Engine, tmp_path: Path, anonymous: None
) -> None:
    niks = queue(workflow, ITS, 2, 0)
    workflow.blanks.receive("B-1", 2, actor="gudang")
    residents = tmp_path / "residents.csv"
    residents.write_text("nik,name,kecamatan\n1671054509050001,Siti Aminah,16.71.05\n", encoding="utf-8")
    before = snapshot(engine)
    for command in (
        ["allocate", "--dry-run"],
        ["blanks", "distribute", "B-1", "--dry-run"],
        ["residents", "import", str(residents), "--dry-run"],
        ["bulk", "fire", "die", "--where-state", "deduplicated", "--dry-run"],
        ["residents", "correct", niks[0], "--name", "Siti", "--reason", "x", "--dry-run"],
    ):
        result = run("--db", db_url, *command)
        assert result.exit_code == 0, (command, result.output)
    assert snapshot(engine) == before
    refused = run("--db", db_url, "allocate")
    assert refused.exit_code == 2 and "needs an actor" in refused.output


def test_db_takes_a_plain_path_to_a_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("--db", "kota.db", "db", "upgrade").exit_code == 0
    assert (tmp_path / "kota.db").exists()
    shown = run("--db", str(tmp_path / "kota.db"), "db", "current")
    assert shown.exit_code == 0 and "up to date" in shown.output, shown.output
    missing = run("--db", str(tmp_path / "none.db"), "cards", "list")
    assert missing.exit_code == 5 and f"no database file {tmp_path / 'none.db'}" in missing.output


def test_an_unknown_state_is_named_with_the_states(db_url: str, engine: sa.Engine) -> None:
    result = run("--db", db_url, "--actor", "op", "bulk", "fire", "submit", "--where-state", "recordd")
    assert result.exit_code == 1
    assert "unknown state 'recordd'; the states are: unrecorded, recorded, prr" in result.output


def test_a_stale_expected_version_is_refused_not_offered_as_a_retry(db_url: str, workflow: Workflow) -> None:
    nik = queue(workflow, ITS, 1, 0)[0]
    result = run("--db", db_url, "--actor", "op", "card", "fire", nik, "die", "--expected-version", "1")
    assert result.exit_code == 3, result.output
    assert f"is at version 4, not 1: it changed since it was read; read it again (ektp card show {nik})" in (
        result.output
    )
    assert "run the command again" not in result.output


def test_an_error_is_json_on_stderr_when_json_was_asked_for(db_url: str, workflow: Workflow) -> None:
    result = CliRunner().invoke(cli, ["--db", db_url, "card", "show", "1234", "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    failure = json.loads(result.stderr)
    assert failure["kind"] == "InvalidNIK" and failure["exit_code"] == 1 and "'1234'" in failure["error"]


def test_a_time_that_is_not_one_says_what_a_time_looks_like(db_url: str, workflow: Workflow) -> None:
    nik = queue(workflow, ITS, 1, 0)[0]
    result = run("--db", db_url, "--actor", "op", "card", "fire", nik, "die", "--at", "2026-13-01")
    assert result.exit_code == 2
    assert "'2026-13-01' is not a time: expected a day or a day and time such as 2026-11-28" in result.output
    assert "%Y" not in result.output


def test_a_missing_postgresql_driver_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    result = run("--db", "postgresql+psycopg://ektp:secret@db.local/ektp", "db", "current")
    assert result.exit_code != 0
    assert "the PostgreSQL driver (psycopg) is not installed: pip install 'ektp_workflow[postgresql]'" in (
        result.output
    )
    assert "secret" not in result.output


def test_one_blank_is_one_blank(db_url: str, workflow: Workflow) -> None:
    queue(workflow, ITS, 1, 0)
    stock(workflow, {ITS: 1})
    result = run("--db", db_url, "--actor", "op", "allocate")
    assert "reserved 1 blank (run " in result.output


def completions(args: list[str], incomplete: str) -> list[str]:
    from click.shell_completion import ShellComplete

    return [c.value for c in ShellComplete(cli, {}, "ektp", "_EKTP_COMPLETE").get_completions(args, incomplete)]


def test_tab_completion_offers_triggers_states_and_kecamatan_codes() -> None:
    triggers = completions(["card", "fire", "1671054509050001"], "re")
    assert "record" in triggers and "reprint" in triggers and all(t.startswith("re") for t in triggers)
    assert completions(["bulk", "fire"], "conf") == ["confirm_single"]
    assert completions(["cards", "list", "--state"], "dedup") == ["deduplicated"]
    assert completions(["bulk", "fire", "submit", "--where-state"], "pr") == ["prr", "printed"]
    assert completions(["cards", "list", "--kecamatan"], "167105") == ["16.71.05"]
    assert completions(["blanks", "spoil"], "16.71.1")[:2] == ["16.71.10", "16.71.11"]


def test_a_path_that_would_read_as_a_url_or_a_directory_is_refused(tmp_path: Path) -> None:
    for path, words in (("new?x.db", "a path with ? or % must be given as a URL"), (str(tmp_path), "is a directory")):
        result = run("--db", path, "db", "current")
        assert result.exit_code == 2 and words in result.output, result.output


def test_a_usage_error_is_json_too_when_json_was_asked_for(db_url: str, workflow: Workflow) -> None:
    nik = queue(workflow, ITS, 1, 0)[0]
    result = CliRunner().invoke(cli, ["--db", db_url, "card", "replace", nik, "--category", "stolen", "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    failure = json.loads(result.stderr)
    assert failure["kind"] == "UsageError" and "'stolen' is not one of" in failure["error"]
