"""The public stock bulletin: per kecamatan what there is, what is reserved, printed today
and who waits; one snapshot, stamped with its checkpoint; a page in Indonesian and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ektp_workflow import Workflow
from ektp_workflow.cli.main import cli
from ektp_workflow.clock import WIB

from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .test_allocation import queue

ACTOR = "gudang"


def city(workflow: Workflow) -> None:
    """Ilir Timur Satu: 3 first-time and 2 replacement applicants, 4 blanks of which 3
    reserved and 1 printed; Sako: 1 waiting, no blank; 6 blanks still at the city."""
    queue(workflow, ITS, 3, 2)
    queue(workflow, SAKO, 1, 0)
    workflow.blanks.receive("KEMENDAGRI-1", 10, actor=ACTOR)
    workflow.blanks.distribute("KEMENDAGRI-1", counts={ITS: 4}, actor=ACTOR)
    plan = workflow.allocate(actor=ACTOR, kecamatan=ITS)
    workflow.fire(plan.chosen()[0].nik, "print_card", actor=ACTOR)


def test_the_bulletin_counts_stock_reservations_printing_and_the_queue(workflow: Workflow) -> None:
    city(workflow)
    bulletin = workflow.reports.stock()
    rows = {r.kecamatan: r for r in bulletin.rows}
    its, sako, total = rows[ITS], rows[SAKO], rows[""]
    assert (its.in_stock, its.reserved, its.printed_today) == (0, 3, 1)
    assert (its.first_time_waiting, its.replacement_waiting) == (0, 1)  # four got a blank, one waits
    assert (sako.in_stock, sako.first_time_waiting) == (0, 1)
    assert (total.in_stock, bulletin.at_city, total.reserved) == (6, 6, 3)
    assert bulletin.checkpoint == workflow.audit.checkpoint()
    assert workflow.audit.verify(bulletin.checkpoint).ok


def test_printing_yesterday_is_not_printing_today(workflow: Workflow) -> None:
    city(workflow)
    tomorrow = dt.datetime.now(WIB) + dt.timedelta(days=1)
    rows = {r.kecamatan: r for r in workflow.reports.stock(tomorrow).rows}
    assert rows[ITS].printed_today == 0


def test_the_page_is_in_indonesian_and_names_its_checkpoint(workflow: Workflow) -> None:
    city(workflow)
    bulletin = workflow.reports.stock(dt.datetime(2026, 12, 2, 13, 20, tzinfo=WIB))
    page = workflow.reports.stock_page(bulletin)
    assert '<html lang="id">' in page and "Stok Blangko KTP-el, Kota Palembang" in page
    assert "Keadaan 2 Desember 2026 pukul 13.20 WIB" in page
    assert "Pelayanan KTP-el tidak dipungut biaya." in page
    seq, hash_ = bulletin.checkpoint
    assert f"ektp audit verify --against {seq}:{hash_}" in page
    assert "Ilir Timur Satu" in page and "Menunggu: pemula" in page


def test_the_csv_has_a_row_per_kecamatan_and_a_total_each_stamped(workflow: Workflow) -> None:
    city(workflow)
    bulletin = workflow.reports.stock()
    rows = list(csv.DictReader(io.StringIO(workflow.reports.stock_csv(bulletin))))
    assert [r["kecamatan"] for r in rows] == [ITS, SAKO, ""]
    assert rows[0]["dicadangkan"] == "3" and rows[-1]["blanko_tersedia"] == "6"
    assert {r["titik_periksa"] for r in rows} == {f"{bulletin.checkpoint[0]}:{bulletin.checkpoint[1]}"}


def test_report_stock_writes_the_page_and_the_csv(workflow: Workflow, engine: sa.Engine, tmp_path: Path) -> None:
    city(workflow)
    url = engine.url.render_as_string(hide_password=False)
    page, table = tmp_path / "stok.html", tmp_path / "stok.csv"
    result = CliRunner().invoke(cli, ["--db", url, "report", "stock", "--html", str(page), "--csv", str(table)])
    assert result.exit_code == 0, result.output
    assert "printed today" in result.stdout and "checkpoint" in result.stdout
    assert "tidak dipungut biaya" in page.read_text(encoding="utf-8")
    assert table.read_text(encoding="utf-8").startswith("kecamatan,nama,blanko_tersedia")
    data = json.loads(CliRunner().invoke(cli, ["--db", url, "report", "stock", "--json"]).stdout)
    assert set(data) == {"made_at", "checkpoint", "at_city", "rows"} and data["at_city"] == 6


def test_a_page_that_cannot_be_written_is_refused_and_leaves_the_old_one(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    city(workflow)
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli, ["--db", url, "report", "stock", "--html", str(tmp_path / "missing" / "stok.html")]
    )
    assert result.exit_code == 1 and "Could not open file" in result.output and "Traceback" not in result.output
    old = tmp_path / "stok.html"
    old.write_text("yesterday's bulletin", encoding="utf-8")

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)  # the new page was written beside it, then cannot take its place
    result = CliRunner().invoke(cli, ["--db", url, "report", "stock", "--html", str(old)])
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert old.read_text(encoding="utf-8") == "yesterday's bulletin"
    assert [p.name for p in tmp_path.iterdir() if "stok" in p.name] == ["stok.html"]  # no temporary file left
