"""The documentation runs: guide examples, the JSON shapes, the CLI reference."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ektp_workflow.cli.main import cli
from ektp_workflow.cli.reference import reference_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def run_guide(path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run a guide's examples in order: files, console commands, Python blocks."""
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("EKTP_ACTOR", "docs")
    monkeypatch.delenv("EKTP_DATABASE_URL", raising=False)
    monkeypatch.delenv("EKTP_CONFIG", raising=False)  # a guide's ektp.toml in workdir is read
    monkeypatch.delenv("EKTP_LANG", raising=False)  # and its language
    monkeypatch.setenv("XDG_CONFIG_HOME", str(workdir / ".config"))
    namespace: dict[str, Any] = {"__name__": "guide"}
    ran = 0
    for language, info, body in FENCE.findall(path.read_text(encoding="utf-8")):
        target = re.search(r"file=(\S+)", info)
        if target:
            (workdir / target.group(1)).write_text(body, encoding="utf-8")
        elif language == "console":
            for line in body.splitlines():
                ran += _run_command(line)
        elif language == "python":
            exec(compile(body, f"{path.name} example", "exec"), namespace)
            ran += 1
    return ran


def _run_command(line: str) -> int:
    if not line.startswith("$ ektp "):
        return 0
    command, _, expectation = line[2:].partition(" # exit ")
    result = CliRunner().invoke(cli, shlex.split(command)[1:])
    expected = int(expectation) if expectation else 0
    assert result.exit_code == expected, f"{command}\n{result.output}"
    return 1


@pytest.mark.parametrize("guide", ["operator.md", "auditor.md", "integrator.md", "panduan-singkat.md"])
def test_guide_examples_run(guide: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_guide(DOCS / guide, tmp_path, monkeypatch) >= 5


def test_the_cli_reference_is_up_to_date() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == reference_markdown(), (
        "regenerate: python -m ektp_workflow.cli.reference > docs/cli.md"
    )


def _documented_shapes() -> list[tuple[str, list[str]]]:
    rows = re.findall(r"^\| `([^`]+)` \| [^|]+ \| (.+) \|$", (DOCS / "json.md").read_text(), re.MULTILINE)
    shapes: dict[str, list[str]] = {}
    for command, keys in rows:
        same_as = re.fullmatch(r"as `([^`]+)`", keys.strip())
        shapes[command] = (
            next(v for k, v in shapes.items() if k.startswith(same_as.group(1)))
            if same_as
            else re.findall(r"`(\w+)`", keys)
        )
    return list(shapes.items())


@pytest.fixture(scope="module")
def demo_city(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    workdir = tmp_path_factory.mktemp("json")
    url = f"sqlite:///{workdir / 'city.db'}"
    here = Path.cwd()
    os.chdir(workdir)  # the demo writes its report where it runs
    try:
        CliRunner().invoke(cli, ["--db", url, "demo", "--residents", "200", "--blanks", "40"], catch_exceptions=False)
    finally:
        os.chdir(here)
    events = json.loads(CliRunner().invoke(cli, ["--db", url, "audit", "history", "--json", _some_nik(url)]).stdout)
    residents = workdir / "residents.csv"
    residents.write_text("nik,name,kecamatan\n", encoding="utf-8")
    (workdir / "rules.toml").write_text(
        'name = "x"\n[split]\nrule = "equal"\n[[queue]]\nrule = "longest_waiting_first"\n', encoding="utf-8"
    )
    return url, events[0]["nik"], workdir


def _some_nik(url: str, state: str = "collected") -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        nik = conn.scalar(
            sa.text("SELECT nik FROM residents r JOIN cards c ON c.id = r.id WHERE c.state = :s"), {"s": state}
        )
    engine.dispose()
    return str(nik)


@pytest.mark.parametrize(("command", "keys"), _documented_shapes(), ids=lambda v: v if isinstance(v, str) else "")
def test_json_output_has_the_documented_keys(
    command: str, keys: list[str], demo_city: tuple[str, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, nik, workdir = demo_city
    monkeypatch.chdir(workdir)
    words = command.replace("NIK", nik).replace("TRIGGER", "rekam").replace("FILE", "rules.toml")
    words = words.replace("REF", "KEMENDAGRI-DEMO-x").replace(" [VERSION]", "")
    args = shlex.split(words)
    if args[:2] == ["residents", "import"]:
        args[2] = "residents.csv"
    if args[:2] == ["residents", "correct"]:
        args += ["--name", "Nama Koreksi", "--reason", "docs", "--dry-run"]
    if args[:2] == ["card", "fire"]:
        args[3] = "die"
    if args[:2] == ["card", "reprint"]:
        args[2:] = [_some_nik(url, "printed"), "--reason", "docs", "--dry-run"]
    if args[:2] == ["card", "replace"]:
        args[2:] = [_some_nik(url), "--category", "damaged", "--old-card-surrendered", "--dry-run"]
    if args[:2] == ["blanks", "spoilage"]:  # a card's spoiled blank, at least
        CliRunner().invoke(
            cli, ["--db", url, "--actor", "t", "card", "reprint", _some_nik(url, "printed"), "--reason", "x"]
        )
    if args[:2] == ["blanks", "distribute"]:
        CliRunner().invoke(cli, ["--db", url, "--actor", "t", "blanks", "receive", "5", "--reference", "JSON-1"])
        args[2] = "JSON-1"
    if args[:2] == ["blanks", "requests"]:
        CliRunner().invoke(cli, ["--db", url, "--actor", "t", "blanks", "request", "--reference", "JSON-R"])
    result = CliRunner().invoke(cli, ["--db", url, "--actor", "docs", *args, "--json"])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    sample = data[0] if isinstance(data, list) else data
    assert list(sample) == keys
