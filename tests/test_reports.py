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

from ektp_workflow import Event, FireRequest, Workflow, clock
from ektp_workflow._files.report_data import Headline, MonthRow
from ektp_workflow._services import overview
from ektp_workflow.cli.main import cli
from ektp_workflow.cli.progress import progress, stage
from ektp_workflow.states import diagram

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


SECTIONS = ("headline", "coverage", "backlog", "aging", "blanks", "trends", "diagram", "checkpoint")


def _write_page(db_url: str, out: Path, *options: str) -> str:
    result = CliRunner().invoke(cli, [*options, "--db", db_url, "report", "html", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout
    return out.read_text(encoding="utf-8")


def _section(page: str, key: str) -> str:
    found = re.search(rf'<section id="{key}">(.*?)</section>', page, re.DOTALL)
    assert found, f"no section {key}"
    return found.group(1)


def _figures(page: str, key: str) -> list[str]:
    return re.findall(r'<div class="figure">([^<]*)</div>', _section(page, key))


def test_the_html_report_is_one_self_contained_page(city: Workflow, db_url: str, tmp_path: Path) -> None:
    page = _write_page(db_url, tmp_path / "report.html", "--tz", "WITA")
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert re.findall(r'<section id="([a-z]+)">', page) == list(SECTIONS)
    assert page.count('<div class="chart"><svg') == 4, "coverage, backlog, aging and trends charts"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "nothing loads from the network"
    assert "<script" not in page and "@page" in page and "size: A4" in page
    seq, hash_ = city.audit.checkpoint()
    checkpoint = _section(page, "checkpoint")
    assert f"ektp audit verify --against {seq}:{hash_}" in checkpoint
    assert re.search(r"<time datetime=[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+08:00</time>", page), "local time, offset"


def test_the_html_report_leads_with_the_city_and_counts_the_blanks(city: Workflow, db_url: str, tmp_path: Path) -> None:
    page = _write_page(db_url, tmp_path / "report.html")
    # 3 of 4 wajib KTP recorded; 1 first-time + 1 replacement waiting; 1 blank at ITS + 3 at the city
    assert _figures(page, "headline") == ["75.0%", "2", "4", "0"]
    # received, distributed, consumed (1 printed), spoiled, in stock, requested
    assert _figures(page, "blanks") == ["5", "2", "1", "0", "4", "0"]
    assert Headline(4, 3, 75.0, 3, 2, in_stock=1).needed == 4
    assert Headline(4, 3, 75.0, 3, 2, in_stock=9).needed == 0, "never below 0"


def test_the_html_report_draws_aging_by_stage_and_a_readable_diagram(
    city: Workflow, db_url: str, tmp_path: Path
) -> None:
    page = _write_page(db_url, tmp_path / "report.html")
    aging = _section(page, "aging")
    for state in ("deduplicated", "printed"):
        assert f"<td>{state}</td>" in aging, "each waiting state has its own rows"
    dot = diagram(city.lifecycle, "dot", {"deduplicated": "2 cards"})
    assert "any_active_state" not in dot + page
    assert "cluster_active" in dot and "ltail=cluster_active" in dot, "die, move_out: once, from a dashed box"
    initial = re.search(r'^\s+"?unrecorded"? \[(.*)\]$', dot, re.MULTILINE)
    assert initial and 'fillcolor="#e8f1fb"' in initial.group(1), "the initial state is not alarm-red"
    assert re.search(r'"?duplicate"? \[[^]]*fillcolor="#fdecea"', dot), "exceptional states stand apart"
    assert '"deduplicated\\n2 cards"' in dot and 'label="e-KTP card"' not in dot, "notes, and no stray title"
    if shutil.which("dot"):
        drawn = _section(page, "diagram")
        assert ">2 cards</text>" in drawn, "the cards in each state now"
        sizes = [float(size) for size in re.findall(r'font-size="([\d.]+)"', drawn)]
        assert sizes and min(sizes) >= 12


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_html_report_renders_in_a_real_headless_browser(city: Workflow, db_url: str, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("needs Debian's chromium (CI installs it)")
    out = tmp_path / "report.html"
    _write_page(db_url, out)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--proxy-server=http://127.0.0.1:9",  # no network: anything it tried to load would fail
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run([browser, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for key in SECTIONS:
        assert f'<section id="{key}">' in dom.stdout, key
    assert dom.stdout.count("<svg") >= 4 and "Recording coverage" in dom.stdout
    shot = tmp_path / "page.png"
    subprocess.run(
        [browser, *flags, "--window-size=1100,3000", f"--screenshot={shot}", out.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from PIL import Image  # comes with matplotlib

    colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the charts are drawn, not a blank page"


def test_the_html_report_in_indonesian(city: Workflow, db_url: str, tmp_path: Path) -> None:
    page = _write_page(db_url, tmp_path / "laporan.html", "--lang", "id")
    assert '<html lang="id">' in page and "<title>Laporan e-KTP</title>" in page
    headings = re.findall(r"<h2[^>]*>([^<]*)</h2>", page)
    assert "Cakupan perekaman" in headings and "Titik periksa" in headings
    assert not {"Recording coverage", "Monthly trends", "Blanks", "Checkpoint"} & set(headings)


def test_monthly_trends_count_the_events_of_each_month(workflow: Workflow) -> None:
    a, b, c = (make_resident(ITS) for _ in range(3))
    workflow.register([a, b, c], actor=ACTOR, at=_wib(2025, 12, 15))
    workflow.blanks.receive("B", 1, actor=ACTOR)
    workflow.blanks.distribute("B", counts={ITS: 1}, actor=ACTOR)
    history = [
        (a, "record", _wib(2026, 1, 10)), (a, "submit", _wib(2026, 1, 20)), (a, "confirm_single", _wib(2026, 2, 5)),
        (a, "allocate", _wib(2026, 3, 1)), (a, "print_card", _wib(2026, 3, 2)), (a, "collect", _wib(2026, 3, 10)),
        # 20:00 UTC on 31 January is 03:00 WIB on 1 February
        (b, "record", dt.datetime(2026, 1, 31, 20, tzinfo=dt.UTC)), (b, "submit", _wib(2026, 2, 2)),
        (b, "flag_duplicate", _wib(2026, 3, 1)), (b, "resolve_duplicate", _wib(2026, 3, 5)),
        (c, "record", _wib(2026, 2, 10)), (c, "submit", _wib(2026, 2, 11)),
        (c, "reject_enrollment", _wib(2026, 3, 3)), (c, "rerecord", _wib(2026, 5, 1)),
    ]  # fmt: skip
    for resident, trigger, at in history:
        workflow.fire(resident.nik, trigger, actor=ACTOR, at=at)
    with workflow._store.reading() as tx:
        in_wib = overview.trends(tx, workflow.lifecycle, 7 * 60)
        in_utc = overview.trends(tx, workflow.lifecycle, 0)
    assert in_wib == [
        MonthRow("2026-01", recorded=1, prr=1),
        MonthRow("2026-02", recorded=2, prr=2, decided=1),
        MonthRow("2026-03", decided=1, printed=1, collected=1),
        MonthRow("2026-04"),
        MonthRow("2026-05", recorded=1),
    ]
    assert in_wib == _trends_from(workflow.events_after(0, limit=1000), clock.WIB)
    assert in_utc == _trends_from(workflow.events_after(0, limit=1000), dt.UTC)
    assert in_utc[0] == MonthRow("2026-01", recorded=2, prr=1)


def _wib(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 10, tzinfo=clock.WIB)


def _trends_from(events: list[Event], zone: dt.tzinfo) -> list[MonthRow]:
    """The trends as one reads them off the events, one by one."""
    months: dict[str, dict[str, int]] = {}
    for e in events:
        if e.from_state == "prr" and e.to_state in ("deduplicated", "duplicate"):
            kind = "decided"
        else:
            kind = {"recorded": "recorded", "prr": "prr", "printed": "printed", "collected": "collected"}.get(
                e.to_state
            )
        if kind:
            count = months.setdefault(e.occurred_at.astimezone(zone).strftime("%Y-%m"), {})
            count[kind] = count.get(kind, 0) + 1
    first, last = min(months), max(months)
    every = [f"{y}-{m:02d}" for y in range(int(first[:4]), int(last[:4]) + 1) for m in range(1, 13)]
    return [MonthRow(month, **months.get(month, {})) for month in every if first <= month <= last]


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
