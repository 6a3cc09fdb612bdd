"""How long the CLI takes to start, beside floors measured in the same run.

    python benchmarks/startup.py            # 21 runs of each, alternating ours and the floor

Figures are the median wall time of whole processes, as an operator waits for them:

- ``ektp --help`` beside ``python -c "import click"`` (target: at most 2x);
- ``ektp card show NIK`` on a demo database beside ``python -c "import sqlalchemy,
  sqlite3"`` (target: at most 1.6x): reading one card needs SQLAlchemy and the SQLite
  driver, and should need little else.

The demo database is made once in a temporary folder (``ektp demo --residents 2000``).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EKTP = str(Path(sys.executable).with_name("ektp"))
TARGETS = {"ektp --help": 2.0, "ektp card show NIK": 1.6}


def seconds(command: list[str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(ours: list[str], floor: list[str], runs: int, cwd: str) -> tuple[float, float]:
    """Median seconds of ``ours`` and ``floor``, run alternately ``runs`` times each."""
    seconds(ours, cwd), seconds(floor, cwd)  # warm the file cache
    mine, base = [], []
    for _ in range(runs):
        mine.append(seconds(ours, cwd))
        base.append(seconds(floor, cwd))
    return statistics.median(mine), statistics.median(base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([EKTP, "-q", "demo", "--residents", "2000"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        with sqlite3.connect(Path(work) / "ektp-demo.db") as conn:
            (nik,) = conn.execute("SELECT nik FROM residents ORDER BY id LIMIT 1 OFFSET 1000").fetchone()
        python = sys.executable
        cases = {
            "ektp --help": ([EKTP, "--help"], [python, "-c", "import click"]),
            "ektp card show NIK": (
                [EKTP, "--db", "sqlite:///ektp-demo.db", "card", "show", nik],
                [python, "-c", "import sqlalchemy, sqlite3"],
            ),
        }
        print(f"CLI start-up, median of {args.runs} runs each, {sys.version.split()[0]}\n")
        print(f"{'command':<20} {'ours':>8} {'floor':>8} {'ratio':>7} {'target':>8}  met")
        for name, (ours, floor) in cases.items():
            mine, base = measure(ours, floor, args.runs, work)
            ratio, target = mine / base, TARGETS[name]
            print(
                f"{name:<20} {mine * 1000:>6.0f}ms {base * 1000:>6.0f}ms {ratio:>6.2f}x {'<= ' + str(target) + 'x':>8}  "
                f"{'yes' if ratio <= target else 'NO'}"
            )


if __name__ == "__main__":
    main()
