"""Blanks lent to and borrowed from another kabupaten/kota, and the centre's monthly
quotas: both directions in the ledger, conservation counting loans, use beyond a
quota flagged; bad input refused with nothing changed."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ektp_workflow import Workflow
from ektp_workflow.cli.main import cli
from ektp_workflow.clock import WIB
from ektp_workflow.errors import InvalidText, StockError

from .conftest import snapshot
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .test_allocation import queue

ACTOR = "gudang"


def run(engine: sa.Engine, *args: str) -> tuple[int, str]:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--db", url, "--actor", ACTOR, *args])
    return result.exit_code, result.output


def this_month() -> str:
    return dt.datetime.now(WIB).strftime("%Y-%m")


def test_lending_takes_the_oldest_batches_first_and_conservation_counts_it(
    workflow: Workflow, engine: sa.Engine
) -> None:
    workflow.blanks.receive("OLD", 5, actor=ACTOR, received_on=dt.date(2026, 1, 5))
    workflow.blanks.receive("NEW", 10, actor=ACTOR)
    before = workflow.audit.checkpoint()
    code, output = run(engine, "blanks", "lend", "7", "--to", "1608", "--reference", "470/12/2026")
    assert code == 0, output
    assert "lent 7 blanks to 16.08 Kabupaten Ogan Komering Ulu Timur (470/12/2026)" in output
    batches = {b.reference: b for b in workflow.blanks.batches()}
    assert (batches["OLD"].undistributed, batches["OLD"].lent) == (0, 5)
    assert (batches["NEW"].undistributed, batches["NEW"].lent) == (8, 2)
    [loan] = workflow.blanks.loans()
    assert (loan.direction, loan.counterpart, loan.reference, loan.quantity) == ("lent", "16.08", "470/12/2026", 7)
    assert workflow.blanks.problems() == []
    report = workflow.audit.verify(before)
    assert report.ok and workflow.audit.checkpoint()[0] == before[0] + 2  # one entry per batch it left
    code, output = run(engine, "blanks", "status")
    assert code == 0 and "lent to" in output and "+ lent" in output


def test_borrowed_blanks_are_a_batch_that_names_its_lender_and_can_be_printed(workflow: Workflow) -> None:
    niks = queue(workflow, ITS, 1, 0)
    workflow.blanks.borrow(3, lender="16.07", reference="470/88/Banyuasin", actor=ACTOR)
    [batch] = workflow.blanks.batches()
    assert (batch.reference, batch.lender, batch.received, batch.undistributed) == ("470/88/Banyuasin", "16.07", 3, 3)
    workflow.blanks.distribute("470/88/Banyuasin", counts={ITS: 3}, actor=ACTOR)
    workflow.allocate(actor=ACTOR)
    workflow.fire(niks[0], "print_card", actor=ACTOR)
    assert workflow.blanks.problems() == []
    # Paying the loan back is a loan the other way, from what is still at the city.
    workflow.blanks.receive("KEMENDAGRI-1", 2, actor=ACTOR)
    workflow.blanks.lend(2, to="16.07", reference="470/90/kembali", actor=ACTOR)
    assert [(loan.direction, loan.quantity) for loan in workflow.blanks.loans()] == [("borrowed", 3), ("lent", 2)]
    assert workflow.blanks.problems() == [] and workflow.audit.verify().ok


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lend", "50", "--to", "16.08", "--reference", "L-1"], "cannot lend 50 blanks: 10 undistributed"),
        (["lend", "1", "--to", "16.71", "--reference", "L-1"], "16.71 is this city's own kabupaten/kota"),
        (["lend", "1", "--to", "16.99", "--reference", "L-1"], "invalid kabupaten/kota '16.99'"),
        (["lend", "1", "--to", "Palembang", "--reference", "L-1"], "expected an official code, as 16.07 or 1607"),
        (["lend", "1", "--to", "16.08", "--reference", " "], "a reference is required"),
        (["lend", "1", "--to", "16.08", "--reference", "USED"], "loan document 'USED' was already used"),
        (["borrow", "1", "--from", "16.07", "--reference", "B-1"], "batch 'B-1' was already received"),
        (["borrow", "1", "--from", "16.71", "--reference", "B-2"], "16.71 is this city's own kabupaten/kota"),
        (["borrow", "1", "--from", "16.07", "--reference", "B-2", "--date", "2999-01-01"], "after today"),
        (["borrow", "0", "--from", "16.07", "--reference", "B-2"], "0 is not in the range 1<=x<=100000000"),
        (["quota", "2026-13", "5", "--reference", "SE-1"], "month '2026-13': expected YYYY-MM"),
        (["quota", "--reference", "SE-1", "--", "2026-12", "-5"], "-5 is not in the range 0<=x<=100000000"),
        (["quota", "2026-12", "5", "--reference", ""], "a reference is required"),
    ],
    ids=lambda v: v[0] + "-" + "-".join(v[1:3]) if isinstance(v, list) else "",
)
def test_a_refused_loan_or_quota_names_the_problem_and_changes_nothing(
    workflow: Workflow, engine: sa.Engine, args: list[str], message: str
) -> None:
    workflow.blanks.receive("B-1", 12, actor=ACTOR)
    workflow.blanks.distribute("B-1", counts={ITS: 1}, actor=ACTOR)  # this city is 16.71
    workflow.blanks.lend(1, to="16.08", reference="USED", actor=ACTOR)
    before = snapshot(engine)
    code, output = run(engine, "blanks", *args)
    assert code != 0
    assert message in output
    assert snapshot(engine) == before


def test_conservation_finds_blanks_taken_off_the_books_after_a_loan(workflow: Workflow, engine: sa.Engine) -> None:
    workflow.blanks.receive("B-1", 10, actor=ACTOR)
    workflow.blanks.lend(4, to="16.08", reference="L-1", actor=ACTOR)
    with engine.begin() as conn:  # the projection is edited; the chained entries are not
        conn.execute(sa.text("UPDATE blank_batches SET undistributed = undistributed - 2"))
    problems = workflow.blanks.problems()
    assert "batch B-1: 4 undistributed, but its entries leave 6" in problems
    assert "batch B-1: received 10, accounted for 8" in problems
    code, output = run(engine, "blanks", "status")
    assert code == 1 and "ledger does NOT balance" in output


def test_use_beyond_the_months_quota_is_flagged(workflow: Workflow, engine: sa.Engine) -> None:
    niks = queue(workflow, ITS, 3, 0)
    workflow.blanks.receive("B-1", 5, actor=ACTOR)
    workflow.blanks.distribute("B-1", counts={ITS: 5}, actor=ACTOR)
    month = this_month()
    workflow.blanks.set_quota(month, 2, reference="SE 471.13/6153/Dukcapil", actor=ACTOR)
    workflow.allocate(actor=ACTOR)
    for nik in niks:
        workflow.fire(nik, "print_card", actor=ACTOR)
    workflow.blanks.spoil(ITS, 1, actor=ACTOR, reason="ribbon jam")
    [use] = workflow.blanks.quotas()
    assert (use.month, use.quota, use.used, use.over, use.reference) == (month, 2, 4, 2, "SE 471.13/6153/Dukcapil")
    code, output = run(engine, "blanks", "status")
    assert code == 0  # beyond the quota is flagged, not a broken ledger
    [line] = [line for line in output.splitlines() if line.startswith("!")]
    assert line.split()[:5] == ["!", month, "2", "4", "2"]
    code, output = run(engine, "blanks", "status", "--json")
    assert json.loads(output)["quotas"] == [
        {"month": month, "quota": 2, "reference": "SE 471.13/6153/Dukcapil", "used": 4, "over": 2}
    ]


def test_a_later_quota_for_the_month_is_in_force_and_both_are_in_the_history(
    workflow: Workflow, engine: sa.Engine
) -> None:
    first = workflow.audit.checkpoint()
    code, output = run(engine, "blanks", "quota", "2027-01", "500", "--reference", "SE-1")
    assert code == 0 and "quota for 2027-01: 500 blanks (SE-1)" in output
    workflow.blanks.set_quota("2027-01", 800, reference="SE-2", actor=ACTOR)
    [use] = workflow.blanks.quotas()
    assert (use.quota, use.reference, use.used, use.over) == (800, "SE-2", 0, 0)
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT quantity, reference FROM blank_quotas ORDER BY seq")).all()
    assert [tuple(row) for row in kept] == [(500, "SE-1"), (800, "SE-2")]
    report = workflow.audit.verify(first)
    assert report.ok and workflow.audit.checkpoint()[0] == first[0] + 2


def test_a_month_with_use_and_no_quota_shows_none(workflow: Workflow) -> None:
    workflow.blanks.receive("B-1", 2, actor=ACTOR)
    workflow.blanks.distribute("B-1", counts={ITS: 2}, actor=ACTOR)
    workflow.blanks.spoil(ITS, 1, actor=ACTOR, reason="misprint")
    [use] = workflow.blanks.quotas()
    assert (use.month, use.quota, use.used, use.over) == (this_month(), None, 1, 0)


def test_the_api_refuses_a_loan_without_a_reference(workflow: Workflow) -> None:
    workflow.blanks.receive("B-1", 2, actor=ACTOR)
    with pytest.raises(InvalidText, match="a reference is required"):
        workflow.blanks.lend(1, to="16.08", reference="", actor=ACTOR)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: b.receive("SJ-9\nSJ-1   centre", 5, actor=ACTOR), "U+000A"),
        (lambda b: b.receive("SJ-1\x00", 5, actor=ACTOR), "a NUL byte"),
        (lambda b: b.receive("", 5, actor=ACTOR), "a reference is required"),
        (lambda b: b.receive("X" * 201, 5, actor=ACTOR), "201 characters long; at most 200"),
        (lambda b: b.receive("SJ-\u200b1", 5, actor=ACTOR), "U+200B"),
        (lambda b: b.receive("SJ-2", 3_000_000_000, actor=ACTOR), "from 1 to 100,000,000, got 3,000,000,000"),
        (lambda b: b.set_quota("2026-12", 99_999_999_999, reference="Q", actor=ACTOR), "from 0 to 100,000,000"),
        (lambda b: b.set_quota("0000-12", 5, reference="Q", actor=ACTOR), "from 2000-01 to 2100-12"),
        (lambda b: b.spoil(ITS, 1, actor="kec\r05", reason="jam"), "U+000D"),
        (lambda b: b.spoil(ITS, 1, actor=ACTOR, reason="jam\x00"), "a NUL byte"),
        (lambda b: b.lend(1, to="16.71", reference="L-9", actor=ACTOR), "16.71 is this city's own kabupaten/kota"),
        (lambda b: b.borrow(1, lender="1671", reference="B-9", actor=ACTOR), "16.71 is this city's own"),
    ],
    ids=[
        "newline",
        "nul",
        "empty",
        "long",
        "zero-width",
        "count",
        "quota",
        "month",
        "actor",
        "reason",
        "lend",
        "borrow",
    ],
)
def test_hostile_input_to_the_stock_is_refused_and_changes_nothing(
    workflow: Workflow, engine: sa.Engine, call: object, message: str
) -> None:
    """Before anything was distributed, the city is known by where its residents live."""
    queue(workflow, ITS, 1, 0)
    workflow.blanks.receive("SJ-1", 5, actor=ACTOR)
    before = snapshot(engine)
    with pytest.raises((InvalidText, StockError), match=re.escape(message)):
        call(workflow.blanks)  # type: ignore[operator]
    assert snapshot(engine) == before
