"""Regenerate docs/reliability.md from the reliability tests' own figures.

    EKTP_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python tests/reliability_report.py [--long]

Runs the racing-process, kill -9, hostile-input and tampering tests on SQLite and
PostgreSQL, each writing what it tried and what was lost, and renders the table.
--long runs the fuzz tests with thousands of cases each.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/test_reliability.py",
    "tests/test_crash.py",
    "tests/test_hostile_input.py",
    "tests/test_audit.py",
    "tests/test_insider.py",
]
COLUMNS = ("processes", "operations", "kills", "fuzz_cases", "hostile_inputs", "lost")


def main() -> None:
    if not os.environ.get("EKTP_TEST_DATABASE_URL"):
        raise SystemExit("set EKTP_TEST_DATABASE_URL so that PostgreSQL is tried too")
    log = Path(tempfile.mkdtemp()) / "reliability.jsonl"
    env = {**os.environ, "EKTP_RELIABILITY_LOG": str(log)}
    if "--long" in sys.argv:
        env["EKTP_FUZZ"] = "long"
    subprocess.run([sys.executable, "-m", "pytest", "-q", *TESTS], cwd=ROOT, env=env, check=True)
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    (ROOT / "docs" / "reliability.md").write_text(render(rows, "--long" in sys.argv), encoding="utf-8")
    print(f"docs/reliability.md: {len(rows)} rows")


def render(rows: list[dict[str, object]], long: bool) -> str:
    lines = [
        "# Reliability: what was tried, and what was lost",
        "",
        f"Generated {dt.date.today().isoformat()} by `python tests/reliability_report.py"
        f"{' --long' if long else ''}` from the tests' own figures; do not edit by hand.",
        "After every run the tests check that `audit verify` and `audit replay` find nothing",
        "wrong, that the blank ledger balances, that no card holds two blanks and that re-running",
        "an interrupted command finishes the work exactly once. **Lost** counts anything that",
        "went missing, was applied twice or was silently altered: it must be 0.",
        "",
        "| what was tried | database | " + " | ".join(c.replace("_", " ") for c in COLUMNS) + " | detail |",
        "| --- | --- | " + " | ".join("---:" for _ in COLUMNS) + " | --- |",
    ]
    for row in rows:
        cells = [str(row.get(c, "")) for c in COLUMNS]
        detail = row.get("kill_points") or row.get("caught") or row.get("outcomes") or ""
        if isinstance(detail, list):
            detail = "; ".join(detail)
        elif isinstance(detail, dict):
            detail = ", ".join(f"{k} {v}" for k, v in sorted(detail.items()))
        lines.append(f"| {row['test']} | {row['database']} | " + " | ".join(cells) + f" | {detail} |")
    totals = {c: sum(int(r.get(c, 0) or 0) for r in rows) for c in COLUMNS}
    lines.append("| **total** | | " + " | ".join(f"**{totals[c]:,}**" for c in COLUMNS) + " | |")
    return "\n".join(lines + _failover()) + "\n"


def _failover() -> list[str]:
    """The failover runs of ``deploy/ha/failover.py --record docs/failover.json``, if made."""
    path = ROOT / "docs" / "failover.json"
    if not path.exists():
        return []
    kept = json.loads(path.read_text(encoding="utf-8"))
    lines = [
        "",
        "## Failover: the primary killed with SIGKILL",
        "",
        f"Made {kept['made']} by `python deploy/ha/failover.py --runs {len(kept['runs'])} --record docs/failover.json`",
        "on the Patroni cluster of `deploy/ha/up.sh` (a primary, a synchronous standby, etcd; see",
        "docs/high-availability.md). Four writers fire single transitions with idempotency keys",
        "while the primary's Patroni and PostgreSQL are killed; then a bulk fire of 6,000 cards",
        "runs and the new primary is killed in its middle, and the same command is run again.",
        "",
        "| run | acknowledged | of them after the kill | lost | takeover (s) | bulk: runs | moved | moved twice | done after kill (s) | verify, replay |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for run in kept["runs"]:
        s, b = run["single_fires"], run["bulk"]
        audit = "ok" if run["verify_ok"] and not run["replay_problems"] else "FAILED"
        lines.append(
            f"| {run['run']} | {s['acknowledged']:,} | {s['acknowledged_after_kill']:,} | {s['lost']} | "
            f"{s['takeover_seconds']} | {b['runs']} | {b['moved']:,} | {b['moved_twice']} | "
            f"{b['done_seconds_after_kill']} | {audit} |"
        )
    return lines


if __name__ == "__main__":
    main()
