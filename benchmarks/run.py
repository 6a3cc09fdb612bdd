"""The benchmark suite: ektp_workflow beside raw SQL and peers, on the same database, in one run.

    python benchmarks/run.py --size quick                    # SQLite, 20,000 cards
    python benchmarks/run.py --size palembang --db both      # 1,147,696 cards, SQLite and PostgreSQL

PostgreSQL runs need EKTP_BENCH_DATABASE_URL (or EKTP_TEST_DATABASE_URL); each run
uses a schema of its own. Every measurement runs in a child process, so its peak
memory (RSS) is its own. Figures are printed beside their baseline as a ratio, with
the target from the scale issue; a missed target is reported, not hidden.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import floors  # noqa: E402
import peers  # noqa: E402
from preload import preload  # noqa: E402

from ektp_workflow import Workflow, create_engine, read_residents_csv, upgrade  # noqa: E402
from ektp_workflow.demo import population  # noqa: E402

SIZES = {"quick": 20_000, "palembang": 1_147_696}
SINGLE = {"quick": 800, "palembang": 4_000}
#: Single transitions are measured in this many alternating rounds of ours and the floor:
#: a durable commit's cost drifts with the disk, and alternating lets both see the same.
SINGLE_ROUNDS = 4
PEER_ORM = 500
PEER_EVENTSOURCING = 5_000
BLANKS = 20_000
ACTOR = "bench"


# -- measurements, each run in a child process ----------------------------------------------


def measure(name: str, url: str, data: str, size: str, work: str) -> dict[str, Any]:
    """Run one measurement and return items and seconds."""
    if not name.endswith("_floor") and not name.startswith("peer_"):
        preload()
    if name == "import":
        with Workflow.open(url) as wf:
            started = time.perf_counter()
            result = wf.register_numbered(read_residents_csv(data), actor=ACTOR, source=data)
            return {"items": result.added, "seconds": time.perf_counter() - started}
    if name == "import_floor":
        return _pair(floors.import_csv(url, data))
    if name == "bulk_floor":
        return _pair(floors.bulk_update(url, "unrecorded", "recorded", "record"))
    if name.startswith("bulk_"):
        trigger, state = {
            "bulk_record": ("record", "unrecorded"),
            "bulk_submit": ("submit", "recorded"),
            "bulk_confirm": ("confirm_single", "prr"),
        }[name]
        with Workflow.open(url) as wf:
            started = time.perf_counter()
            result = wf.bulk_fire(trigger, actor=ACTOR, where_state=state)
            return {"items": result.total_applied, "seconds": time.perf_counter() - started}
    if name == "single":
        with Workflow.open(url) as wf:
            # the cards the floor moves, in the same (NIK) order
            niks = [c.nik for c in wf.cards(state="recorded", limit=SINGLE[size] // SINGLE_ROUNDS)]
            started = time.perf_counter()
            for nik in niks:
                wf.fire(nik, "submit", actor=ACTOR)
            return {"items": len(niks), "seconds": time.perf_counter() - started}
    if name == "single_floor":
        return _pair(floors.single_commits(url, "recorded", "prr", "submit", SINGLE[size] // SINGLE_ROUNDS))
    if name in ("verify", "verify_jobs2", "replay"):
        with Workflow.open(url) as wf:
            started = time.perf_counter()
            if name.startswith("verify"):
                report = wf.audit.verify(jobs=2 if name == "verify_jobs2" else 1)
                items, ok = report.checked, report.ok
            else:
                folded, _ = wf.audit.replay()
                items, ok = folded.events, not folded.problems
            return {"items": items, "seconds": time.perf_counter() - started, "ok": ok}
    if name == "verify_floor":
        return _pair(floors.read_and_hash(url))
    if name == "replay_floor":
        return _pair(floors.read_and_fold(url))
    if name == "plan":
        with Workflow.open(url) as wf:
            reference = f"BENCH-{uuid.uuid4().hex[:8]}"
            wf.blanks.receive(reference, BLANKS, actor=ACTOR)
            wf.blanks.distribute(reference, actor=ACTOR)
            started = time.perf_counter()
            plan = wf.plan_allocation()
            seconds = time.perf_counter() - started
            queue = sum(k.queue for k in plan.kecamatan)
            return {"items": queue, "seconds": seconds, "blanks": len(plan.chosen())}
    if name == "peer_orm":
        return _pair(peers.orm_peer(str(Path(work) / "orm.db"), PEER_ORM))
    if name == "peer_eventsourcing":
        return _pair(peers.eventsourcing_peer(str(Path(work) / "es.db"), PEER_EVENTSOURCING))
    raise SystemExit(f"unknown measurement {name}")


def _pair(result: tuple[int, float]) -> dict[str, Any]:
    return {"items": result[0], "seconds": result[1]}


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started (VmHWM; Linux).

    Not ``getrusage``: on Linux its ru_maxrss carries over the parent's peak across exec.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(name: str, url: str, data: str, size: str, work: str) -> dict[str, Any]:
    """Run ``measure`` in a fresh interpreter; add its peak RSS in MB."""
    command = [
        sys.executable,
        __file__,
        "--measure",
        name,
        "--url",
        url,
        "--data",
        data,
        "--size",
        size,
        "--work",
        work,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    return result


# -- orchestration --------------------------------------------------------------------------------


def prepare_data(size: str, work: Path) -> Path:
    path = work / f"residents-{size}.csv"
    if not path.exists():
        records = population(SIZES[size], seed=2017, today=dt.date.today())
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["nik", "name", "kecamatan", "had_ektp"])
            for r in records:
                writer.writerow([r.nik, r.name, r.kecamatan, "true" if r.had_ektp else "false"])
    return path


def fresh_database(kind: str, work: Path, label: str) -> tuple[str, Any]:
    """A migrated, empty database of ``kind``; returns its URL and a cleanup."""
    if kind == "sqlite":
        url = f"sqlite:///{work / f'{label}.db'}"
        cleanup = lambda: None  # noqa: E731
    else:
        base = os.environ.get("EKTP_BENCH_DATABASE_URL") or os.environ.get("EKTP_TEST_DATABASE_URL")
        if not base:
            raise SystemExit("PostgreSQL benchmarks need EKTP_BENCH_DATABASE_URL")
        schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(base)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()

    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url, cleanup


# (figure, ours, baseline, target ratio or seconds, kind of target)
PLAN = [
    ("resident import (cards/s)", "import", "import_floor", 0.5, "ratio"),
    ("bulk transitions (cards/s)", "bulk_record", "bulk_floor", 0.5, "ratio"),
    ("bulk transitions, 2nd trigger", "bulk_submit", None, None, None),
    ("bulk transitions, 3rd trigger", "bulk_confirm", None, None, None),
    ("single transitions (durable, /s)", "single", "single_floor", 0.7, "ratio"),
    ("verify (events/s)", "verify", "verify_floor", 0.3, "ratio"),
    ("verify, 2 processes (events/s)", "verify_jobs2", "verify", 1.7, "ratio"),
    ("replay (events/s)", "replay", "replay_floor", 0.3, "ratio"),
    ("allocation planning (s)", "plan", None, 2.0, "seconds"),
]


def run_suite(kind: str, size: str, work: Path) -> list[dict[str, Any]]:
    data = prepare_data(size, work)
    ours_url, ours_cleanup = fresh_database(kind, work, f"ours_{kind}")
    floor_url, floor_cleanup = fresh_database(kind, work, f"floor_{kind}")
    results = []
    try:
        order = [
            "import",
            "import_floor",
            "bulk_record",
            "bulk_floor",
            *["single", "single_floor"] * SINGLE_ROUNDS,
            "bulk_submit",
            "bulk_confirm",
            "verify",
            "verify_jobs2",
            "verify_floor",
            "replay",
            "replay_floor",
            "plan",
        ]
        measured: dict[str, dict[str, Any]] = {}
        for name in order:
            url = floor_url if name in ("import_floor", "bulk_floor", "single_floor") else ours_url
            result = child(name, url, str(data), size, str(work))
            print(f"  {kind} {name}: {result}", file=sys.stderr, flush=True)
            if name in measured:  # another round: add it up
                earlier = measured[name]
                result = {
                    **result,
                    "items": earlier["items"] + result["items"],
                    "seconds": earlier["seconds"] + result["seconds"],
                    "rss_mb": max(earlier["rss_mb"], result["rss_mb"]),
                }
            measured[name] = result
        for figure, ours, baseline, target, kind_of_target in PLAN:
            results.append(
                _row(kind, figure, measured[ours], measured.get(baseline) if baseline else None, target, kind_of_target)
            )
        if kind == "sqlite":
            results += _peer_rows(measured["bulk_record"], size, work)
    finally:
        ours_cleanup()
        floor_cleanup()
    return results


def _rate(result: dict[str, Any]) -> float:
    return result["items"] / result["seconds"] if result["seconds"] else float("inf")


def _row(
    db: str, figure: str, ours: dict[str, Any], base: dict[str, Any] | None, target: Any, kind: Any
) -> dict[str, Any]:
    row = {"db": db, "figure": figure, "items": ours["items"], "ours": _rate(ours), "rss_mb": ours["rss_mb"]}
    if kind == "seconds":
        row.update(ours=ours["seconds"], target=f"< {target} s", met=ours["seconds"] < target)
    elif base is not None:
        ratio = _rate(ours) / _rate(base)
        row.update(
            baseline=_rate(base),
            ratio=ratio,
            target=f">= {target}x",
            met=ratio >= target,
            baseline_rss_mb=base["rss_mb"],
        )
    return row


def _peer_rows(bulk: dict[str, Any], size: str, work: Path) -> list[dict[str, Any]]:
    rows = []
    for peer, target in (("peer_orm", 100), ("peer_eventsourcing", 4)):
        result = child(peer, "", "", size, str(work))
        ratio = _rate(bulk) / _rate(result)
        rows.append(
            {
                "db": "sqlite",
                "figure": f"bulk vs {peer[5:]} peer (cards/s)",
                "items": result["items"],
                "ours": _rate(bulk),
                "baseline": _rate(result),
                "ratio": ratio,
                "target": f">= {target}x",
                "met": ratio >= target,
                "rss_mb": bulk["rss_mb"],
                "baseline_rss_mb": result["rss_mb"],
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]], size: str) -> None:
    print(
        f"\nektp_workflow benchmarks, size {size} ({SIZES[size]:,} cards), {dt.date.today()}, "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores\n"
    )
    header = f"{'db':<10} {'figure':<36} {'items':>10} {'ours':>12} {'baseline':>12} {'ratio':>8} {'target':>9} {'met':>4} {'RSS MB':>7} {'base MB':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        base = f"{r['baseline']:,.0f}" if "baseline" in r else "-"
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "-"
        ours = f"{r['ours']:,.2f}" if "(s)" in r["figure"] else f"{r['ours']:,.0f}"
        met = {True: "yes", False: "NO"}.get(r.get("met"), "-")
        print(
            f"{r['db']:<10} {r['figure']:<36} {r['items']:>10,} {ours:>12} {base:>12} {ratio:>8} "
            f"{r.get('target', '-'):>9} {met:>4} {r['rss_mb']:>7.0f} {r.get('baseline_rss_mb', 0):>8.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="quick")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--work", help="Folder for data and SQLite files (default: a temporary one).")
    parser.add_argument("--json", help="Also write the rows as JSON to this file.")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        result = measure(args.measure, args.url, args.data, args.size, args.work)
        result["rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="ektp-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    rows = [row for kind in kinds for row in run_suite(kind, args.size, work)]
    print_table(rows, args.size)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
