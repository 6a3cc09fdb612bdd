"""How long another desk waits while an allocation runs, and what an allocated card costs.

    python benchmarks/allocation_wait.py --cards 100000 --blanks 20000 --db sqlite
    python benchmarks/allocation_wait.py --cards 100000 --blanks 20000 --db postgresql

Builds a city (import; ``record``, ``submit`` and ``confirm_single`` for everyone of
age, so that the cards wait for a blank, but for 2,000 left in ``recorded``), receives
and distributes the blanks, then allocates them while another process fires single
``submit`` transitions on the cards left in ``recorded``, one after another, timing
each. Printed: the allocation's time, its time per allocated card, the chunks it
wrote (the first with the planning transaction, which records the queue it planned
from), and beside them the other desk's longest wait and 99th percentile, and its
median fire when nothing else runs (the floor of a wait). The target (issue 24): no
desk waits longer than one chunk.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import fresh_database  # noqa: E402

from ektp_workflow import Workflow, read_residents_csv  # noqa: E402
from ektp_workflow.demo import population  # noqa: E402

ACTOR = "bench"
LEFT_RECORDED = 2_000

_DESK = """
import json, os, sys, time
from ektp_workflow import Workflow
url, go, stop = sys.argv[1], sys.argv[2], sys.argv[3]
niks = json.loads(sys.stdin.read())
waits = []
with Workflow.open(url) as wf:
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.01)
    for nik in niks:
        if os.path.exists(stop):
            break
        started = time.perf_counter()
        wf.fire(nik, "submit", actor="desk")
        waits.append(time.perf_counter() - started)
print(json.dumps(waits), flush=True)
"""


def build(url: str, cards: int, work: Path) -> list[str]:
    import csv
    import datetime as dt

    path = work / f"residents-{cards}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["nik", "name", "kecamatan", "had_ektp"])
        for r in population(cards, seed=2017, today=dt.date.today()):
            writer.writerow([r.nik, r.name, r.kecamatan, "true" if r.had_ektp else "false"])
    with Workflow.open(url) as wf:
        wf.register_numbered(read_residents_csv(path), actor=ACTOR, source=str(path))
        wf.bulk_fire("record", actor=ACTOR, where_state="unrecorded")
        recorded = wf.counts()
        total = sum(by.get("recorded", 0) for by in recorded.values())
        wf.bulk_fire("submit", actor=ACTOR, where_state="recorded", limit=total - LEFT_RECORDED)
        wf.bulk_fire("confirm_single", actor=ACTOR, where_state="prr")
        return [c.nik for c in wf.cards(state="recorded", limit=LEFT_RECORDED)]


def desk_alone(url: str, niks: list[str]) -> float:
    """The median single fire with nothing else running."""
    seconds = []
    with Workflow.open(url) as wf:
        for nik in niks:
            started = time.perf_counter()
            wf.fire(nik, "submit", actor="desk")
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def measure(url: str, blanks: int, niks: list[str], work: Path) -> dict[str, float]:
    with Workflow.open(url) as wf:
        reference = f"BENCH-{uuid.uuid4().hex[:8]}"
        wf.blanks.receive(reference, blanks, actor=ACTOR)
        wf.blanks.distribute(reference, actor=ACTOR)
    go, stop = work / "go", work / "stop"
    desk = subprocess.Popen(
        [sys.executable, "-c", _DESK, url, str(go), str(stop)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert desk.stdin is not None and desk.stdout is not None
    desk.stdin.write(json.dumps(niks))
    desk.stdin.close()
    desk.stdout.readline()  # ready
    chunks: list[float] = []
    last = [time.perf_counter()]

    def chunk_done(n: int) -> None:
        now = time.perf_counter()
        chunks.append(now - last[0])
        last[0] = now

    go.write_text("go")
    started = time.perf_counter()
    with Workflow.open(url) as wf:
        plan = wf.allocate(actor=ACTOR, progress=chunk_done)
    seconds = time.perf_counter() - started
    stop.write_text("stop")
    waits = json.loads(desk.stdout.read())
    desk.wait()
    allocated = len(plan.chosen()) - plan.skipped_count
    waits.sort()
    return {
        "allocated": allocated,
        "seconds": round(seconds, 2),
        "ms_per_card": round(seconds / max(allocated, 1) * 1000, 3),
        "chunks": len(chunks),
        # the first includes making and recording the plan (the kept queue), under the head
        "plan_and_first_chunk_s": round(chunks[0], 3) if chunks else None,
        "longest_later_chunk_s": round(max(chunks[1:] or [0]), 3),
        "desk_fires": len(waits),
        "desk_longest_wait_s": round(waits[-1], 3) if waits else None,
        "desk_p99_s": round(waits[int(len(waits) * 0.99)], 3) if waits else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--blanks", type=int, default=20_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        url, cleanup = fresh_database(args.db, work, "allocation_wait")
        try:
            niks = build(url, args.cards, work)
            alone = desk_alone(url, niks[:200])
            result = measure(url, args.blanks, niks[200:], work)
        finally:
            cleanup()
    print(
        json.dumps(
            {"db": args.db, "cards": args.cards, "blanks": args.blanks, "desk_alone_s": round(alone, 4), **result}
        )
    )


if __name__ == "__main__":
    main()
