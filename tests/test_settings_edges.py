"""The edges of languages, ektp.toml, zones and progress, found by an insider's review:
a planted or odd config file, a language that must not leak out of a command, JSON that
programs read, zones that are folders, a report whose figures must not follow the zone."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ektp_workflow import Workflow, clock, i18n
from ektp_workflow.cli.main import cli
from tests.factories import make_resident

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no config, an English locale, nothing chosen by variable."""
    monkeypatch.delenv("EKTP_CONFIG", raising=False)
    for name in ("EKTP_DATABASE_URL", "EKTP_ACTOR", "EKTP_REGION", "EKTP_TZ", "EKTP_LANG"):
        monkeypatch.delenv(name, raising=False)
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env or {})


# --- the language leaks out of one invocation ---------------------------------------


def test_one_invocation_in_indonesian_leaves_the_next_in_the_locale_language(office: Path) -> None:
    assert invoke("--help").output.startswith("Usage:")
    assert invoke("--lang", "id", "--help").output.startswith("Penggunaan:")
    # localize() set os.environ["LANGUAGE"] = "id", which from_locale() then reads
    assert invoke("--help").output.startswith("Usage:"), "the previous --lang id stuck"


def test_the_cli_gives_the_library_back_in_the_language_it_found() -> None:
    assert i18n.language() == "en"
    invoke("--lang", "id", "--help")
    assert i18n.language() == "en", "a Python caller of cli() now gets Indonesian errors from the library"


# --- ektp.toml ------------------------------------------------------------------------


def test_config_file_errors_are_in_the_language_asked_for(office: Path) -> None:
    (office / "ektp.toml").write_text("colour = 'blue'\n")
    result = invoke("config", "show", env={"EKTP_LANG": "id"})
    assert result.exit_code == 2
    assert "unknown key" not in result.output and "Error:" not in result.output, result.output


def test_a_bad_value_in_the_config_file_names_the_file(office: Path) -> None:
    (office / "ektp.toml").write_text('region = "99.99"\n')
    result = invoke("config", "show")
    assert result.exit_code == 2
    assert "ektp.toml" in result.output, "the operator typed no --region: " + result.output


def test_a_config_file_saved_by_notepad_with_a_bom_is_read(office: Path) -> None:
    (office / "ektp.toml").write_bytes(b'\xef\xbb\xbfactor = "op-1"\r\n')
    result = invoke("config", "show", "--json")
    assert result.exit_code == 0, result.output


def _cli_in_subprocess(env: dict[str, str], timeout: float, memory: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        if memory is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "ektp_workflow", "--help"],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        timeout=timeout,
        preexec_fn=limit,
        check=False,
    )


def test_a_config_naming_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "ektp.toml"
    os.mkfifo(fifo)
    try:
        done = _cli_in_subprocess({"EKTP_CONFIG": str(fifo)}, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("ektp --help hangs for ever on EKTP_CONFIG naming a FIFO")
    assert done.returncode == 2 and b"ektp.toml" in done.stderr


def test_a_config_naming_dev_zero_is_refused_not_read_into_memory() -> None:
    # with 1 GB of address space: without the limit it grows by about 1 GB a second
    done = _cli_in_subprocess({"EKTP_CONFIG": "/dev/zero"}, timeout=60, memory=1 << 30)
    assert b"MemoryError" not in done.stderr and done.returncode == 2, done.stderr[-500:]


def test_a_relative_database_in_a_config_file_does_not_depend_on_the_working_directory(
    office: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "dinas"
    folder.mkdir()
    (folder / "ektp.toml").write_text('database = "ektp.db"\n')
    result = invoke("db", "upgrade", env={"EKTP_CONFIG": str(folder / "ektp.toml")})
    assert result.exit_code == 0, result.output
    assert not (office / "ektp.db").exists(), "a new, empty database was made in whatever folder ektp ran in"


def test_config_show_hides_a_password_given_in_the_query(office: Path) -> None:
    result = invoke("--db", "postgresql+psycopg://kasi@db/ektp?password=s3cret", "config", "show")
    assert "s3cret" not in result.output


def test_config_show_says_which_zone_times_are_shown_in(office: Path) -> None:
    result = invoke("--tz", "WITA", "--utc", "config", "show", "--json")
    zone = next(r for r in json.loads(result.stdout)["settings"] if r["key"] == "time_zone")
    assert zone["value"] == "UTC", zone  # --utc wins: every time is shown in UTC


# --- zones ------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Asia", "America", "A" * 300])
def test_a_zone_that_is_a_folder_or_too_long_is_refused_not_a_traceback(office: Path, zone: str) -> None:
    result = invoke("--tz", zone, "config", "show")
    assert result.exit_code == 2 and "is not a time zone" in result.output, repr(result.exception)


def test_the_html_report_counts_wajib_ktp_on_the_same_day_whatever_zone_it_shows(
    workflow: Workflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = dt.datetime(2026, 12, 3, 3, 0, tzinfo=clock.WIB)  # 2 December in UTC
    monkeypatch.setattr(clock, "now", lambda: at)
    workflow.register([make_resident(born=dt.date(2009, 12, 3)), make_resident()], actor="t")
    wajib = workflow.reports.coverage()[-1].wajib_ktp
    for zone in (clock.WIB, dt.UTC):
        page = workflow.reports.html(None, zone)
        shown = re.search(r"of ([\d,]+) wajib KTP recorded", page)
        assert shown and int(shown.group(1)) == wajib, (zone, "report coverage says", wajib)


def test_report_stock_json_carries_its_time_in_utc_as_docs_json_says(workflow: Workflow, db_url: str) -> None:
    from tests.conftest import run_cli

    workflow.register([make_resident()], actor="t")
    made = json.loads(run_cli(db_url, "op", "report", "stock", "--json").stdout)["made_at"]
    assert made.endswith("+00:00"), made


# --- progress -----------------------------------------------------------------------------


def test_the_verify_bar_ends_at_its_total(workflow: Workflow, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from ektp_workflow.cli import progress

    workflow.register([make_resident() for _ in range(30)], actor="t")  # 30 events, 30 resident entries
    monkeypatch.setattr(progress, "_terminal", lambda stream: True)
    monkeypatch.setattr("click._termui_impl.isatty", lambda stream: True)
    result = CliRunner().invoke(cli, ["--db", db_url, "audit", "verify"])
    assert result.exit_code == 0, result.output
    done, total = re.findall(r"(\d[\d,]*)/(\d[\d,]*)", result.stderr)[-1]
    assert done == total, f"the bar stops at {done}/{total}: its total counts the ledger's entries too"


def test_an_indonesian_bar_writes_numbers_as_indonesian_does() -> None:
    import io

    from ektp_workflow.cli.progress import progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    i18n.use("id")
    terminal = Terminal()
    with progress("memverifikasi peristiwa", False, total=14_831, stream=terminal) as advance:
        advance(11_715)
    assert "11.715/14.831" in terminal.getvalue(), terminal.getvalue()[-80:]


# --- what an error carries ----------------------------------------------------------------


def test_version_in_indonesian(office: Path) -> None:
    shown = invoke("--lang", "id", "--version").output
    assert "versi " in shown and "version" not in shown, shown


# --- JSON that follows the operator's language --------------------------------------------


def test_bulk_and_central_json_are_the_same_in_both_languages(workflow: Workflow, db_url: str, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    resident = make_resident()
    workflow.register([resident], actor="t")
    niks = tmp_path / "niks.csv"
    niks.write_text(f"nik\n1671050101900099\n{resident.nik}\n")
    results = tmp_path / "central.csv"
    results.write_text("nik,result\n1671050101900099,single\n")
    for args in (("bulk", "fire", "die", "--file", str(niks)), ("central", "import", str(results))):
        shown = {}
        for language in ("en", "id"):
            out = run_cli(db_url, "op", "--lang", language, *args, "--dry-run", "--json")
            assert out.exit_code == 0, out.output
            data = json.loads(out.stdout)
            data.pop("job_id", None)
            shown[language] = data
        assert shown["en"] == shown["id"], (args, shown["id"])  # examples[].reason is translated
