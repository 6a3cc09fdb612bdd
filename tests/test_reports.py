"""Reports: coverage, backlog and aging per kecamatan; the HTML page; progress output."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from ektp_workflow import FireRequest, Workflow, clock
from ektp_workflow.cli.main import cli
from ektp_workflow.cli.progress import progress, stage

from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .factories import make_resident

ACTOR = "dinas"
NOW = clock.now()
LONG_AGO = NOW - dt.timedelta(days=400)


@pytest.fixture
def city(workflow: Workflow) -> Workflow:
    """ITS: 3 adults (1 unrecorded, 1 waiting for a blank a year, 1 printed today), a 15-year-old,
    a deceased adult; SAKO: 1 replacement applicant waiting for two months."""
    today = NOW.date()
    adults = [make_resident(ITS) for _ in range(3)]
    child = make_resident(ITS, born=today.replace(year=today.year - 15))
    dead = make_resident(ITS)
    sako = make_resident(SAKO, had_ektp=True)
    workflow.register([*adults, child, dead, sako], actor=ACTOR, at=LONG_AGO - dt.timedelta(days=30))
    steps = [FireRequest(adults[i].nik, t, at=LONG_AGO) for i in (1, 2) for t in ("record", "submit", "confirm_single")]
    steps += [FireRequest(sako.nik, t, at=NOW - dt.timedelta(days=60)) for t in ("record", "submit", "confirm_single")]
    steps += [FireRequest(dead.nik, "die", at=LONG_AGO)]
    workflow.fire_many(steps, actor=ACTOR)
    workflow.blanks.receive("B", 5, actor=ACTOR)
    workflow.blanks.distribute("B", counts={ITS: 2}, actor=ACTOR)
    workflow.fire(adults[2].nik, "allocate", actor=ACTOR)
    workflow.fire(adults[2].nik, "print_card", actor=ACTOR)
    return workflow


def test_coverage_counts_wajib_ktp_and_recorded_share(city: Workflow) -> None:
    its, sako, total = city.reports.coverage()
    assert (its.kecamatan, its.residents, its.wajib_ktp, its.recorded) == (ITS, 4, 3, 2)
    assert its.recorded_pct == 66.7
    assert (its.waiting_for_blank, its.printed, its.deceased) == (1, 1, 1)
    assert (sako.wajib_ktp, sako.recorded_pct) == (1, 100.0)
    assert (total.name, total.residents, total.wajib_ktp, total.recorded) == ("total", 5, 4, 3)


def test_backlog_splits_first_time_and_replacements_and_counts_days_of_stock(city: Workflow) -> None:
    its, sako, total = city.reports.backlog()
    assert (its.first_time_waiting, its.replacement_waiting, its.blanks_in_stock) == (1, 0, 1)
    assert (sako.first_time_waiting, sako.replacement_waiting) == (0, 1)
    assert its.printed_per_day == round(1 / 30, 2) and its.days_covered == round(1 / round(1 / 30, 2), 1)
    assert sako.days_covered is None, "no printing there lately: no rate to divide by"
    assert total.blanks_in_stock == 1 + 3, "the total counts the blanks still at the city"


def test_aging_flags_cards_waiting_over_six_months(city: Workflow) -> None:
    rows = {(r.kecamatan, r.state): r for r in city.reports.aging()}
    year = rows[(ITS, "deduplicated")]
    assert (year.cards, year.over_six_months, year.max_days) == (1, 1, 400)
    months = rows[(SAKO, "deduplicated")]
    assert (months.over_six_months, months.buckets) == (0, (0, 1, 0, 0))
    assert (ITS, "printed") in rows and (ITS, "unrecorded") not in rows


def test_report_commands_print_tables_and_json(city: Workflow, db_url: str) -> None:
    for name in ("coverage", "backlog", "aging"):
        table = CliRunner().invoke(cli, ["--db", db_url, "report", name])
        assert table.exit_code == 0 and "Ilir Timur Satu" in table.stdout
        assert json.loads(CliRunner().invoke(cli, ["--db", db_url, "report", name, "--json"]).stdout)
    flagged = CliRunner().invoke(cli, ["--db", db_url, "report", "aging", "--over-six-months"]).stdout
    assert "Sako" not in flagged and flagged.count("\n!") == 1


def test_the_html_report_is_one_self_contained_page(city: Workflow, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["--db", db_url, "report", "html", str(out), "--title", "Palembang"])
    assert result.exit_code == 0 and str(out) in result.stdout
    page = out.read_text(encoding="utf-8")
    assert page.count('<div class="chart"><svg') == 3 + bool(shutil.which("dot")), "3 charts, and the diagram"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "nothing loads from the network"
    assert "<script" not in page


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_html_report_renders_in_a_real_headless_browser(city: Workflow, db_url: str, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("needs Debian's chromium (CI installs it)")
    out = tmp_path / "report.html"
    CliRunner().invoke(cli, ["--db", db_url, "report", "html", str(out)])
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run([browser, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") >= 3 and "Recording coverage" in dom.stdout
    shot = tmp_path / "page.png"
    subprocess.run(
        [browser, *flags, "--window-size=1100,2600", f"--screenshot={shot}", out.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from PIL import Image  # comes with matplotlib

    colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the charts are drawn, not a blank page"


def test_svg_diagram_needs_graphviz_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if shutil.which("dot"):
        drawn = CliRunner().invoke(cli, ["states", "diagram", "--format", "svg"])
        assert drawn.exit_code == 0 and "<svg" in drawn.stdout
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = CliRunner().invoke(cli, ["states", "diagram", "--format", "svg"])
    assert missing.exit_code == 1
    assert "needs Graphviz's `dot` program" in missing.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only_and_never_when_quiet() -> None:
    terminal, piped, quiet = _Terminal(), io.StringIO(), _Terminal()
    for stream, silent in ((terminal, False), (piped, False), (quiet, True)):
        with progress("importing", silent, stream=stream) as advance:
            advance(2000)
            advance(500)
        stage("drawing", silent, stream=stream)
    assert "importing: 2,500 done" in terminal.getvalue() and "drawing" in terminal.getvalue()
    assert piped.getvalue() == "" and quiet.getvalue() == ""


def test_piped_commands_write_nothing_to_stderr(city: Workflow, db_url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", db_url, "audit", "verify"])
    assert result.exit_code == 0 and result.stderr == ""
