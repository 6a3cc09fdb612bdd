"""The main job: ``ektp demo`` on a synthetic Kota Palembang."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ektp_workflow import Workflow, default_lifecycle, parse_nik
from ektp_workflow.cli.main import cli
from ektp_workflow.demo import history, population
from ektp_workflow.regions import kecamatan_in


def test_the_population_is_palembang_with_valid_unique_niks() -> None:
    records = population(3000, seed=1, today=dt.date(2026, 11, 28))
    assert len({r.nik for r in records}) == 3000
    palembang = {k.code for k in kecamatan_in("16.71")}
    assert {r.kecamatan for r in records} == palembang
    for record in records:
        assert parse_nik(record.nik, dt.date(2026, 11, 28)).birth_date == record.birth_date
    born_elsewhere = sum(not r.nik.startswith("1671") for r in records)
    assert 0.10 < born_elsewhere / 3000 < 0.20


def test_the_same_seed_gives_the_same_city_and_history() -> None:
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    first = population(500, 7, now.date())
    assert first == population(500, 7, now.date())
    assert history(first, 7, now) == history(population(500, 7, now.date()), 7, now)


def test_demo_writes_a_fresh_file_and_prints_cards_by_state_per_kecamatan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EKTP_DATABASE_URL", raising=False)
    for _ in range(2):  # a second run replaces the first demo's file
        result = CliRunner().invoke(cli, ["demo", "--residents", "600"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    out = result.stdout
    for kecamatan in kecamatan_in("16.71"):
        assert kecamatan.code in out and kecamatan.name in out
    for state in default_lifecycle().states:
        assert state in out
    with Workflow.open("sqlite:///ektp-demo.db") as workflow:
        counts = workflow.counts()
        assert workflow.blanks.problems() == []
        received = sum(b.received for b in workflow.blanks.batches())
        events = workflow.audit.verify().checked
    assert f"{events:,} events in" in out
    assert sum(sum(c.values()) for c in counts.values()) == 600
    states = {s for c in counts.values() for s in c}
    assert {"unrecorded", "prr", "deduplicated", "duplicate", "enroll_failed", "collected"} <= states
    assert f"{600:,} residents in 18 kecamatan" in out
    assert received == round(20_000 * 600 / 1_801_367)
    assert "first-time applicants served before replacements in every kecamatan: yes" in out
    report = tmp_path / "ektp-demo-report.html"
    assert f"HTML report with charts: {report}" in out
    assert report.read_text(encoding="utf-8").count("<svg") >= 3
    assert "coverage (ektp report coverage)" in out and "recorded %" in out


def test_a_larger_shipment_reaches_replacements_only_after_first_time_applicants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EKTP_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["demo", "--residents", "400", "--blanks", "250"], catch_exceptions=False)
    assert "first-time applicants served before replacements in every kecamatan: yes" in result.stdout
    with Workflow.open("sqlite:///ektp-demo.db") as workflow:
        assert workflow.blanks.problems() == []
        assert sum(s.spoiled for s in workflow.blanks.stock()) > 0


def test_demo_refuses_a_database_that_is_not_empty(
    db_url: str, engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo writes its report where it runs
    CliRunner().invoke(cli, ["--db", db_url, "demo", "--residents", "50"], catch_exceptions=False)
    result = CliRunner().invoke(cli, ["--db", db_url, "demo", "--residents", "50"], catch_exceptions=False)
    assert result.exit_code == 2
    assert "needs an empty database" in result.stderr
    assert os.path.basename("ektp-demo.db") in result.stderr
