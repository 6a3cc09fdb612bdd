"""Kill the primary with SIGKILL under load and check that nothing acknowledged is lost.

    deploy/ha/up.sh
    python deploy/ha/failover.py [--runs 3] [--record docs/failover.json]

On the cluster up.sh started (Patroni, a synchronous standby, etcd), in a fresh
database ``ektp_failover``:

1. four writer processes fire single transitions (each with an idempotency key, each
   acknowledged one written to the writer's log), and the primary's Patroni and
   PostgreSQL are killed with SIGKILL while they write; each writer retries a
   ``ConnectionLost`` with the same key until the standby has taken over;
2. the old primary comes back as a standby; a bulk fire runs, and the new primary is
   killed with SIGKILL in the middle of it; the same command is run again once the
   other node has taken over, and resumes.

Then every acknowledged event must be in the history, no card may have moved twice,
and ``audit verify`` and ``audit replay`` must pass. It prints the figures as JSON
(operations acknowledged, lost, the time from the kill to the first write the new
primary acknowledged) and, with ``--record``, adds them to a JSON file that
``tests/reliability_report.py`` renders in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ektp_workflow import ResidentRecord, Workflow, create_engine, upgrade
from ektp_workflow.errors import ConnectionLost, DatabaseError, TransitionNotAllowed

HA_DIR = Path(os.environ.get("EKTP_HA_DIR", "/tmp/ektp-ha"))
NODES = {"node1": (5441, 8009), "node2": (5442, 8010)}
DATABASE = "ektp_failover"
URL = (
    f"postgresql+psycopg://postgres@/{DATABASE}?host=127.0.0.1:5441&host=127.0.0.1:5442"
    "&target_session_attrs=read-write&connect_timeout=2"
)
WRITERS, CARDS_PER_WRITER, BULK_CARDS = 4, 150, 6000
TRIGGERS = ("record", "submit", "confirm_single")


def role(node: str) -> str:
    """``primary``, ``replica`` or ``down``: what the node's Patroni says."""
    for what in ("primary", "replica"):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{NODES[node][1]}/{what}", timeout=1) as answer:
                if answer.status == 200:
                    return what
        except OSError:
            continue
    return "down"


def primary() -> str:
    for _ in range(120):
        found = [n for n in NODES if role(n) == "primary"]
        if len(found) == 1:
            return found[0]
        time.sleep(0.5)
    raise SystemExit("no primary")


def kill(node: str) -> float:
    """SIGKILL the node's Patroni and its PostgreSQL; return when."""
    found = subprocess.run(
        ["pgrep", "-u", "postgres", "-f", f"patroni {HA_DIR / node}.yml"], capture_output=True, text=True
    )
    patroni = int(found.stdout.split()[0])
    postmaster = int((HA_DIR / node / "postmaster.pid").read_text().split()[0])
    at = time.monotonic()
    for pid in (patroni, postmaster):
        os.kill(pid, signal.SIGKILL)
    return at


def restart(node: str) -> None:
    """Start the node's Patroni again: it rejoins as a standby (pg_rewind if needed)."""
    log = (HA_DIR / f"{node}.log").open("a")
    started = subprocess.Popen(
        ["runuser", "-u", "postgres", "--", "patroni", str(HA_DIR / f"{node}.yml")], stdout=log, stderr=log
    )
    (HA_DIR / f"{node}.pid").write_text(str(started.pid))
    for _ in range(240):
        if role(node) == "replica" and _sync_standby(node):
            return
        time.sleep(0.5)
    raise SystemExit(f"{node} did not come back as the synchronous standby")


def _sync_standby(node: str) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{NODES[node][1]}/cluster", timeout=1) as answer:
        members = json.load(answer)["members"]
    return any(m["name"] == node and m["role"] == "sync_standby" for m in members)


def fresh_database() -> None:
    admin = sa.create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{NODES[primary()][0]}/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
    admin.dispose()
    engine = create_engine(URL)
    upgrade(engine)
    engine.dispose()


def residents(count: int, start: int) -> list[ResidentRecord]:
    """Valid residents of Kota Palembang, kecamatan Ilir Timur Satu (16.71.05)."""
    return [
        ResidentRecord(f"167105{(i % 28) + 1:02d}0590{(i % 9999) + 1:04d}", f"Warga {i}", "16.71.05")
        for i in range(start, start + count)
    ]


def writer(number: int, niks: list[str], log_path: str, stop_after: float) -> None:
    """Fire every trigger on every card of this writer, retrying a lost connection with
    the same idempotency key; write each acknowledged event (key and seq) to the log."""
    workflow = Workflow.open(URL)
    with open(log_path, "a", encoding="utf-8") as log:
        for trigger in TRIGGERS:
            for nik in niks:
                key = f"w{number}-{nik}-{trigger}"
                while True:
                    try:
                        event = workflow.fire(nik, trigger, actor=f"writer-{number}", idempotency_key=key)
                    except ConnectionLost:
                        time.sleep(0.1)
                        continue
                    except TransitionNotAllowed:
                        break  # cannot happen: each card is this writer's alone
                    log.write(json.dumps({"key": key, "seq": event.seq, "at": time.monotonic()}) + "\n")
                    log.flush()
                    os.fsync(log.fileno())
                    break
                if time.monotonic() > stop_after:
                    return


def single_fires_phase(work: Path) -> dict[str, object]:
    workflow = Workflow.open(URL)
    everyone = residents(WRITERS * CARDS_PER_WRITER, 0)
    workflow.register(everyone, actor="setup")
    niks = [r.nik for r in everyone]
    logs = [work / f"writer-{i}.jsonl" for i in range(WRITERS)]
    for path in logs:
        path.unlink(missing_ok=True)
    deadline = time.monotonic() + 300
    processes = [
        multiprocessing.Process(target=writer, args=(i, niks[i::WRITERS], str(logs[i]), deadline))
        for i in range(WRITERS)
    ]
    for p in processes:
        p.start()
    time.sleep(3)  # writing at full speed
    victim = primary()
    killed_at = kill(victim)
    took_over = writable_after(killed_at)
    for p in processes:
        p.join()
    acknowledged = [json.loads(line) for path in logs for line in path.read_text().splitlines()]
    after = [a["at"] for a in acknowledged if a["at"] > killed_at]
    keys = {a["key"] for a in acknowledged}
    with create_engine(URL).connect() as conn:
        stored = set(conn.scalars(sa.text("SELECT idempotency_key FROM events WHERE idempotency_key IS NOT NULL")))
    return {
        "killed": victim,
        "writers": WRITERS,
        "acknowledged": len(keys),
        "acknowledged_before_kill": sum(a["at"] <= killed_at for a in acknowledged),
        "lost": len(keys - stored),
        "takeover_seconds": round(took_over, 2),
        "longest_gap_seconds": round(_longest_gap(sorted(a["at"] for a in acknowledged)), 2),
        "acknowledged_after_kill": len(after),
    }


def writable_after(killed_at: float) -> float:
    """Seconds from the kill until the multi-host URL reaches a primary that takes a write."""
    probe = sa.create_engine(URL, poolclass=sa.pool.NullPool)
    try:
        while True:
            try:
                with probe.begin() as conn:
                    conn.exec_driver_sql("CREATE TEMPORARY TABLE probe (x int)")  # needs a writable primary
                return time.monotonic() - killed_at
            except sa.exc.DBAPIError:
                time.sleep(0.05)
    finally:
        probe.dispose()


def _longest_gap(times: list[float]) -> float:
    return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


def bulk_phase(work: Path) -> dict[str, object]:
    workflow = Workflow.open(URL)
    batch = residents(BULK_CARDS, 100_000)
    workflow.register(batch, actor="setup")
    command = [
        sys.executable,
        "-m",
        "ektp_workflow",
        "--db",
        URL,
        "--actor",
        "bulk",
        "-q",
        "bulk",
        "fire",
        "record",
        "--where-state",
        "unrecorded",
    ]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    victim = primary()
    killed_at = kill(victim)
    _, error = first.communicate(timeout=300)
    runs = 1
    while True:  # the same command again, until the new primary takes it
        again = subprocess.run(command, capture_output=True, text=True, timeout=600)
        runs += 1
        if again.returncode == 0:
            break
        if again.returncode != 75 and "connection" not in again.stderr.lower():
            raise SystemExit(f"bulk fire failed: {again.stderr}")
        time.sleep(0.5)
    took = time.monotonic() - killed_at
    with create_engine(URL).connect() as conn:
        twice = conn.scalar(
            sa.text(
                "SELECT count(*) FROM (SELECT card_id FROM events WHERE trigger = 'record' GROUP BY card_id HAVING count(*) > 1) x"
            )
        )
        moved = conn.scalar(
            sa.text("SELECT count(DISTINCT card_id) FROM events WHERE trigger = 'record' AND actor = 'bulk'")
        )
    return {
        "killed": victim,
        "bulk_cards": BULK_CARDS,
        "first_run": "interrupted" if first.returncode else "finished before the kill",
        "first_run_error": error.strip().splitlines()[-1] if error.strip() else "",
        "runs": runs,
        "moved": moved,
        "moved_twice": twice,
        "done_seconds_after_kill": round(took, 2),
    }


def audits() -> dict[str, object]:
    workflow = Workflow.open(URL)
    report = workflow.audit.verify()
    folded, _ = workflow.audit.replay(compare=True)
    return {"verify_ok": report.ok, "replay_problems": len(folded.problems) + len(folded.mismatches)}


def _sound(result: dict[str, Any]) -> bool:
    singles, bulk = result["single_fires"], result["bulk"]
    return not singles["lost"] and not bulk["moved_twice"] and result["verify_ok"] and not result["replay_problems"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--record", type=Path, help="add the figures to this JSON file")
    options = parser.parse_args()
    work = HA_DIR / "failover-work"
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for run in range(options.runs):
        fresh_database()
        singles = single_fires_phase(work)
        restart(str(singles["killed"]))
        bulk = bulk_phase(work)
        restart(str(bulk["killed"]))
        result: dict[str, Any] = {"run": run + 1, "single_fires": singles, "bulk": bulk, **audits()}
        print(json.dumps(result), flush=True)
        results.append(result)
    if options.record:
        kept = {"made": dt.date.today().isoformat(), "runs": results}
        options.record.write_text(json.dumps(kept, indent=2) + "\n")
    failed = [r for r in results if not _sound(r)]
    if failed:
        raise SystemExit(f"{len(failed)} run(s) lost or doubled something; see above")


if __name__ == "__main__":
    try:
        main()
    except DatabaseError as err:
        raise SystemExit(f"failover: {err}") from err
