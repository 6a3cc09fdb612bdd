"""Instructions (callgrind) a single fire, a bulk chunk and an import chunk cost on SQLite.

Timings on a shared machine drift by 10% from one run to the next; instruction counts
do not. Each piece of work is counted as the difference between two runs under
``valgrind --tool=callgrind`` on copies of the same prepared database: one that opens
the workflow and does the work, and one that opens it and does nothing. SQLite runs
with ``synchronous = OFF``, so that the disk is not what is measured.

    python benchmarks/instructions.py                 # 20,000 cards, all three
    python benchmarks/instructions.py --only single   # one of single, bulk, import

Needs valgrind. Prints millions of instructions per item, with the totals.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CARDS = 20_000
SINGLE_FIRES = 1_000
CHUNK = 2_000
ACTOR = "bench"


def _engine(path: str):  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from ektp_workflow import create_engine

    engine = create_engine(f"sqlite:///{path}")

    @sa.event.listens_for(engine, "connect")
    def _fast(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    return engine


def prepare(work_dir: Path) -> dict[str, Path]:
    """The residents file and three databases: empty, imported, and imported with cards recorded."""
    import datetime as dt

    from ektp_workflow import Workflow, read_residents_csv, upgrade
    from ektp_workflow.demo import population

    people = population(CARDS, 2017, dt.date(2026, 11, 1))
    csv_path = work_dir / "residents.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["nik", "name", "kecamatan", "had_ektp", "birth_date"])
        for p in people:
            writer.writerow([p.nik, p.name, p.kecamatan, str(p.had_ektp).lower(), p.birth_date.isoformat()])
    paths = {name: work_dir / f"{name}.db" for name in ("empty", "imported", "recorded")}
    engine = _engine(str(paths["empty"]))
    upgrade(engine)
    engine.dispose()
    shutil.copyfile(paths["empty"], paths["imported"])
    engine = _engine(str(paths["imported"]))
    with Workflow(engine) as wf:
        wf.register_numbered(read_residents_csv(csv_path), actor=ACTOR, source=str(csv_path))
    engine.dispose()
    shutil.copyfile(paths["imported"], paths["recorded"])
    engine = _engine(str(paths["recorded"]))
    with Workflow(engine) as wf:
        wf.bulk_fire("record", actor=ACTOR, where_state="unrecorded")
    engine.dispose()
    return {**paths, "csv": csv_path}


def run_work(work: str, db: str, csv_path: str, nothing: bool) -> None:
    """In the child under callgrind: open the workflow and do the work (or nothing).

    The library's modules are loaded first in both runs: the workflow loads a service's
    modules on first use, and loading them is not the work counted here."""
    sys.path.insert(0, str(HERE))
    from preload import preload

    preload()
    from ektp_workflow import Workflow, read_residents_csv

    engine = _engine(db)
    with Workflow(engine) as wf:
        niks = [c.nik for c in wf.cards(state="recorded", limit=SINGLE_FIRES)] if work == "single" else []
        if nothing:
            return
        if work == "single":
            for nik in niks:
                wf.fire(nik, "submit", actor=ACTOR)
        elif work == "bulk":
            wf.bulk_fire("record", actor=ACTOR, where_state="unrecorded")
        else:
            wf.register_numbered(read_residents_csv(csv_path), actor=ACTOR, source=csv_path)
    engine.dispose()


def count(work: str, template: Path, csv_path: Path, work_dir: Path, nothing: bool) -> int:
    db = work_dir / f"run-{work}-{int(nothing)}.db"
    shutil.copyfile(template, db)
    out = work_dir / f"callgrind-{work}-{int(nothing)}.out"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        "--child",
        work,
        str(db),
        str(csv_path),
        *(["--nothing"] if nothing else []),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"callgrind run failed:\n{result.stderr[-3000:]}")
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in callgrind's output:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("single", "bulk", "import"))
    parser.add_argument("--child", nargs=3, metavar=("WORK", "DB", "CSV"), help=argparse.SUPPRESS)
    parser.add_argument("--nothing", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_work(*args.child, nothing=args.nothing)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = Path(tmp)
        paths = prepare(work_dir)
        templates = {"single": paths["recorded"], "bulk": paths["imported"], "import": paths["empty"]}
        items = {
            "single": (SINGLE_FIRES, "a fire"),
            "bulk": (CARDS // CHUNK, "a chunk of 2,000"),
            "import": (CARDS // CHUNK, "a chunk of 2,000"),
        }
        print(f"callgrind on SQLite (synchronous off), {CARDS:,} cards")
        for work in [args.only] if args.only else ["single", "bulk", "import"]:
            total = count(work, templates[work], paths["csv"], work_dir, nothing=False)
            base = count(work, templates[work], paths["csv"], work_dir, nothing=True)
            n, unit = items[work]
            print(f"{work:<7} {(total - base) / 1e6:>10,.1f} M in all, {(total - base) / n / 1e6:>8.3f} M {unit}")


if __name__ == "__main__":
    main()
