"""Reliability: real processes racing, idempotent retries across processes, typed errors.

Figures (processes, operations, what was lost) go to the reliability report when
EKTP_RELIABILITY_LOG names a file (see tests/reliability_report.py).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import Counter

import sqlalchemy as sa

from ektp_workflow import FireRequest, Workflow

from . import workers
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .factories import make_resident

PROCESSES = 4
ROUNDS = 40


def log(figures: dict[str, object]) -> None:
    """Add a line to the reliability report, when one is being made."""
    path = os.environ.get("EKTP_RELIABILITY_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(figures) + "\n")


def queue(workflow: Workflow, count: int) -> list[str]:
    residents = [make_resident(ITS if i % 2 else SAKO) for i in range(count)]
    workflow.register(residents, actor="setup")
    workflow.fire_many(
        [FireRequest(r.nik, t) for t in ("record", "submit", "confirm_single") for r in residents], actor="setup"
    )
    return [r.nik for r in residents]


def test_processes_racing_on_the_same_cards_lose_nothing(workflow: Workflow, engine: sa.Engine, db_url: str) -> None:
    niks = queue(workflow, 30)
    workflow.blanks.receive("RACE", 16, actor="setup")
    workflow.blanks.distribute("RACE", counts={ITS: 8, SAKO: 8}, actor="setup")
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        jobs = [(db_url, niks, seed, ROUNDS) for seed in range(PROCESSES)]
        results = pool.starmap_async(workers.race, jobs).get(timeout=600)
    unexpected = [u for r in results for u in r["unexpected"]]
    assert unexpected == [], unexpected[0] if unexpected else ""
    outcomes: Counter[str] = Counter()
    for r in results:
        outcomes.update(r["outcomes"])
    assert workflow.audit.verify().ok
    assert workflow.audit.compare() == [], "stored state equals replay; versions contiguous; ledger sound"
    assert workflow.blanks.problems() == []
    assert len(workflow.cards(state="allocated", limit=100)) == sum(s.reserved for s in workflow.blanks.stock())
    assert sum(outcomes.values()) == PROCESSES * ROUNDS, "every operation done or refused with a typed error"
    log(
        {
            "test": "racing processes",
            "database": engine.dialect.name,
            "processes": PROCESSES,
            "operations": sum(outcomes.values()),
            "lost": 0,
            "outcomes": dict(outcomes),
        }
    )


def test_the_same_idempotency_key_from_racing_processes_applies_once(
    workflow: Workflow, engine: sa.Engine, db_url: str
) -> None:
    resident = make_resident()
    workflow.register([resident], actor="setup")
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        jobs = [(db_url, resident.nik, "net-retry-7")] * (PROCESSES * 2)
        seqs = pool.starmap_async(workers.same_key, jobs).get(timeout=600)
    assert len(set(seqs)) == 1, "every retry got the first result"
    assert [e.trigger for e in workflow.history(resident.nik)] == ["register", "record"]
    log(
        {
            "test": "same idempotency key from racing processes",
            "database": engine.dialect.name,
            "processes": PROCESSES,
            "operations": len(seqs),
            "lost": 0,
        }
    )
