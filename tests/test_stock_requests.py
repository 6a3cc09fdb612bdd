"""Requests for blanks to the centre: the need computed from the queue, the measured
PRR rate, the ledger's spoilage and the stock; recorded and chained with its figures;
a letter in Indonesian and CSV; batches linked to it; asked, received and lead time."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ektp_workflow import FireRequest, Workflow
from ektp_workflow.cli.main import cli
from ektp_workflow.clock import WIB
from ektp_workflow.errors import StockError

from .conftest import snapshot
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import make_resident
from .test_allocation import queue

ACTOR = "kabid"
LETTER = "470/512/Disdukcapil/2026"


def run(engine: sa.Engine, *args: str) -> tuple[int, str]:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--db", url, "--actor", ACTOR, *args])
    return result.exit_code, result.output


def in_prr(workflow: Workflow, count: int) -> None:
    residents = [make_resident(ITS) for _ in range(count)]
    workflow.register(residents, actor=ACTOR)
    workflow.fire_many([FireRequest(r.nik, t) for t in ("record", "submit") for r in residents], actor=ACTOR)


def city(workflow: Workflow) -> None:
    """One replacement applicant waiting, 4 cards in PRR, 5 that left it today; the ledger:
    3 blanks consumed, 1 spoiled, 1 unreserved at the kecamatan, 1 reserved."""
    niks = queue(workflow, ITS, 3, 2)
    in_prr(workflow, 4)
    workflow.blanks.receive("B-1", 4, actor=ACTOR)
    workflow.blanks.distribute("B-1", counts={ITS: 4}, actor=ACTOR)
    workflow.allocate(actor=ACTOR)  # the 3 first-time applicants and 1 replacement
    for nik in niks[:3]:
        workflow.fire(nik, "print_card", actor=ACTOR)
    workflow.blanks.receive("B-2", 2, actor=ACTOR)
    workflow.blanks.distribute("B-2", counts={ITS: 2}, actor=ACTOR)
    workflow.blanks.spoil(ITS, 1, actor=ACTOR, reason="ribbon jam")


def test_the_need_is_computed_from_queue_prr_rate_spoilage_and_stock(workflow: Workflow) -> None:
    city(workflow)
    made = workflow.blanks.request(3, reference=LETTER, actor=ACTOR, dry_run=True)
    assert (made.waiting_first_time, made.waiting_replacement, made.in_prr) == (0, 1, 4)
    # the history is a day old: 5 left PRR in 1 day, so all 4 in PRR are expected to.
    assert (made.left_prr, made.window_days, made.expected_from_prr) == (5, 1, 4)
    assert (made.consumed, made.spoiled, made.spoilage_rate) == (3, 1, 0.25)
    assert made.needed == 7  # 5 cards to print x 4 used / 3 printed, rounded up
    assert (made.on_hand, made.outstanding, made.quantity) == (1, 0, 6)
    assert made.region == "16.71"


def test_prr_exits_are_measured_over_the_last_90_days(workflow: Workflow) -> None:
    now = dt.datetime.now(WIB)
    long_ago = now - dt.timedelta(days=400)
    residents = [make_resident(ITS) for _ in range(40)]
    workflow.register(residents, actor=ACTOR, at=long_ago)
    steps = [FireRequest(r.nik, t, at=long_ago) for t in ("record", "submit") for r in residents]
    workflow.fire_many(steps, actor=ACTOR)
    for r in residents[:10]:  # 10 left PRR 200 days ago: outside the window
        workflow.fire(r.nik, "confirm_single", actor=ACTOR, at=now - dt.timedelta(days=200))
    for r in residents[10:19]:  # 9 in the last 90 days: 0.1 a day
        workflow.fire(r.nik, "confirm_single", actor=ACTOR, at=now - dt.timedelta(days=30))
    made = workflow.blanks.request(2, reference="", actor=ACTOR, dry_run=True)
    assert (made.in_prr, made.left_prr, made.window_days) == (21, 9, 90)
    assert made.expected_from_prr == 6  # 9 / 90 days x 60 days
    assert made.waiting_first_time + made.waiting_replacement == 19
    assert made.needed == 25 and made.quantity == 25  # nothing printed yet: no spoilage measured


def test_a_dry_run_records_nothing(workflow: Workflow, engine: sa.Engine) -> None:
    city(workflow)
    before = snapshot(engine)
    code, output = run(engine, "blanks", "request", "--dry-run")
    assert code == 0, output
    assert "would ask the centre for 6 blanks for 3 months" in output
    assert snapshot(engine) == before


def test_a_request_is_chained_with_its_figures_and_counts_as_outstanding(workflow: Workflow) -> None:
    city(workflow)
    before = workflow.audit.checkpoint()
    made = workflow.blanks.request(3, reference=LETTER, actor=ACTOR)
    assert made.quantity == 6
    assert made.checkpoint == workflow.audit.checkpoint() and made.checkpoint[0] == before[0] + 1
    assert workflow.audit.verify(made.checkpoint).ok
    assert workflow.blanks.requested(LETTER) == made
    again = workflow.blanks.request(3, reference="470/513", actor=ACTOR, dry_run=True)
    assert (again.outstanding, again.quantity) == (6, 0)
    with pytest.raises(StockError, match="nothing to request: 1 blanks on hand and 6 outstanding cover the 7"):
        workflow.blanks.request(3, reference="470/513", actor=ACTOR)


def test_batches_answer_a_request_and_the_report_shows_the_lead_time(workflow: Workflow, engine: sa.Engine) -> None:
    city(workflow)
    workflow.blanks.request(3, reference=LETTER, actor=ACTOR)
    asked_on = dt.datetime.now(WIB).date()
    code, output = run(engine, "blanks", "receive", "4", "--reference", "SJ-1", "--request", LETTER)
    assert code == 0 and f"answering request {LETTER}" in output
    [status] = workflow.blanks.requests()
    assert (status.requested, status.received, status.outstanding) == (6, 4, 2)
    assert (status.first_after_days, status.complete_after_days, status.batches) == (0, None, ("SJ-1",))
    workflow.blanks.receive("SJ-2", 2, actor=ACTOR, request=LETTER)
    code, output = run(engine, "blanks", "requests", "--json")
    [shown] = json.loads(output)
    assert shown == {
        "reference": LETTER,
        "requested_on": asked_on.isoformat(),
        "requested": 6,
        "received": 6,
        "batches": ["SJ-1", "SJ-2"],
        "first_after_days": 0,
        "complete_after_days": 0,
        "outstanding": 0,
    }
    assert {b.reference: b.request for b in workflow.blanks.batches()}["SJ-2"] == LETTER
    assert workflow.blanks.problems() == [] and workflow.audit.verify().ok


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["request"], "give the request letter's number with --reference, or compute only with --dry-run"),
        (["request", "--reference", LETTER], f"request '{LETTER}' was already made"),
        (["request", "--months", "0", "--reference", "X"], "0 is not in the range 1<=x<=24"),
        (["receive", "5", "--reference", "SJ-9", "--request", "470/999"], "no request '470/999' was recorded"),
        (["receive", "5", "--reference", "SJ-9", "--request", LETTER, "--date", "2020-01-01"], "before request"),
        (["requests", "470/999"], "no request '470/999' was recorded"),
        (["requests", "--html", "x.html"], "--html and --csv write one request's letter: give its REFERENCE"),
    ],
    ids=["no-reference", "used-reference", "months", "unknown-request", "before-request", "show-unknown", "html"],
)
def test_a_refused_request_names_the_problem_and_changes_nothing(
    workflow: Workflow, engine: sa.Engine, args: list[str], message: str
) -> None:
    city(workflow)
    workflow.blanks.request(3, reference=LETTER, actor=ACTOR)
    before = snapshot(engine)
    code, output = run(engine, "blanks", *args)
    assert code != 0
    assert message in output
    assert snapshot(engine) == before


def test_the_letter_is_in_indonesian_and_can_be_written_again(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path
) -> None:
    city(workflow)
    letter, figures = tmp_path / "permohonan.html", tmp_path / "permohonan.csv"
    code, output = run(engine, "blanks", "request", "--reference", LETTER, "--html", str(letter), "--csv", str(figures))
    assert code == 0, output
    page = letter.read_text(encoding="utf-8")
    seq, hash_ = workflow.audit.checkpoint()
    for words in (
        "Permohonan Blangko KTP-el",
        LETTER,
        "Kota Palembang",
        "sebanyak <strong>6 keping</strong>",
        "untuk kebutuhan 3 bulan",
        "tingkat kerusakan (8) / ((7) + (8)) = 25,0 %",
        f"ektp audit verify --against {seq}:{hash_}",
    ):
        assert words in page
    rows = list(csv.DictReader(io.StringIO(figures.read_text(encoding="utf-8"))))
    assert [(r["butir"], r["jumlah"]) for r in rows][-4:] == [("9", "7"), ("10", "1"), ("11", "0"), ("12", "6")]
    assert {r["titik_periksa"] for r in rows} == {f"{seq}:{hash_}"}
    again = tmp_path / "lagi.html"
    code, _ = run(engine, "blanks", "requests", LETTER, "--html", str(again))
    assert code == 0 and again.read_text(encoding="utf-8") == page


def test_a_letter_that_cannot_be_written_says_the_request_is_recorded(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path
) -> None:
    city(workflow)
    code, output = run(engine, "blanks", "request", "--reference", LETTER, "--html", str(tmp_path / "no" / "x.html"))
    assert code != 0
    assert f"the request is recorded: write it again with ektp blanks requests {LETTER} --html FILE" in output
    assert [s.reference for s in workflow.blanks.requests()] == [LETTER]


def _at_once(calls: list[object]) -> list[object]:
    """Run the calls in threads started together; each one's result or exception."""
    import threading

    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()  # type: ignore[operator]
        except Exception as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_requests_at_once_do_not_ask_for_the_same_blanks_twice(workflow: Workflow, engine: sa.Engine) -> None:
    city(workflow)
    calls = [lambda i=i: Workflow(engine).blanks.request(3, reference=f"470/{i}", actor=ACTOR) for i in range(3)]
    results = _at_once(calls)
    made = [r for r in results if not isinstance(r, Exception)]
    assert len(made) == 1 and made[0].quantity == 6  # type: ignore[union-attr]
    assert all("nothing to request" in str(r) for r in results if isinstance(r, Exception))
    assert sum(s.requested for s in workflow.blanks.requests()) == 6


def test_one_loan_document_serves_one_loan_even_at_once(workflow: Workflow, engine: sa.Engine) -> None:
    workflow.blanks.receive("B-1", 40, actor=ACTOR)
    calls = [lambda: Workflow(engine).blanks.lend(10, to="16.07", reference="RACE-DOC", actor=ACTOR) for _ in range(4)]
    results = _at_once(calls)
    assert sum(r is None for r in results) == 1
    assert all("was already used" in str(r) for r in results if r is not None)
    assert [loan.quantity for loan in workflow.blanks.loans()] == [10] and workflow.blanks.problems() == []


def test_the_rate_is_measured_over_the_events_times_not_their_order(workflow: Workflow) -> None:
    """One resident registered now, 44 recorded 60 days ago: the history is 60 days old
    (and a little: counted as 61)."""
    now = dt.datetime.now(WIB)
    workflow.register([make_resident(ITS)], actor=ACTOR)
    earlier = now - dt.timedelta(days=60)
    residents = [make_resident(ITS) for _ in range(44)]
    workflow.register(residents, actor=ACTOR, at=earlier)
    steps = [FireRequest(r.nik, t, at=earlier) for t in ("record", "submit") for r in residents]
    workflow.fire_many(steps, actor=ACTOR)
    for r in residents[:5]:
        workflow.fire(r.nik, "confirm_single", actor=ACTOR, at=earlier + dt.timedelta(days=2))
    made = workflow.blanks.request(3, reference="", actor=ACTOR, dry_run=True)
    assert (made.left_prr, made.window_days, made.expected_from_prr) == (5, 61, 8)  # 5 / 61 x 90, rounded up
