"""Crash safety: the process is killed (SIGKILL) at random points; nothing is lost or done twice."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from ektp_workflow import Workflow
from ektp_workflow.demo import population

from .test_reliability import log

RESIDENTS = 6000


def ektp(db_url: str, *args: str, kill_after: float | None = None) -> tuple[int, float | None]:
    """Run the CLI in a process of its own; kill it with SIGKILL after ``kill_after`` seconds."""
    env = {**os.environ, "EKTP_DATABASE_URL": db_url, "EKTP_ACTOR": "crash-test"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ektp_workflow", "--quiet", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if kill_after is None:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode()
        return 0, None
    try:
        process.wait(timeout=kill_after)
        return process.returncode, None  # finished before the kill
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return -9, kill_after


def sound(workflow: Workflow) -> None:
    assert workflow.audit.verify().ok
    assert workflow.audit.compare() == []


def once_each(workflow: Workflow, trigger: str) -> Counter[int]:
    with workflow._store.reading() as conn:
        counts = Counter(conn.scalars(sa.text(f"SELECT card_id FROM events WHERE trigger = '{trigger}'")))
    assert set(counts.values()) <= {1}, f"a card got {trigger} twice"
    return counts


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    people = population(RESIDENTS, seed=11, today=dt.date.today())
    residents = tmp_path / "residents.csv"
    residents.write_text("nik,name,kecamatan\n" + "".join(f"{p.nik},{p.name},{p.kecamatan}\n" for p in people))
    return {"residents": residents}


def test_killed_commands_leave_a_sound_history_and_finish_exactly_once(
    engine: sa.Engine, db_url: str, files: dict[str, Path], tmp_path: Path
) -> None:
    rng = random.Random()
    kills: list[tuple[str, float]] = []
    workflow = Workflow(engine)

    def killed(label: str, *args: str, window: tuple[float, float]) -> None:
        code, when = ektp(db_url, *args, kill_after=rng.uniform(*window))
        if when is not None:
            kills.append((label, when))
        sound(workflow)
        ektp(db_url, *args)  # the same command again finishes the work
        sound(workflow)

    killed("resident import", "residents", "import", str(files["residents"]), window=(0.2, 3.0))
    assert len(once_each(workflow, "register")) == RESIDENTS

    killed("bulk fire", "bulk", "fire", "record", "--where-state", "unrecorded", window=(0.2, 2.5))
    recorded = once_each(workflow, "record")
    assert len(recorded) == RESIDENTS - len(workflow.cards(state="unrecorded", limit=RESIDENTS))
    ektp(db_url, "bulk", "fire", "submit", "--where-state", "recorded")

    in_prr = [c.nik for c in workflow.cards(state="prr", limit=RESIDENTS)]
    results = tmp_path / "hasil.csv"
    results.write_text(
        "nik,result\n" + "".join(f"{n},{rng.choice(['single', 'single', 'duplicate'])}\n" for n in in_prr)
    )
    killed("central import", "central", "import", str(results), window=(0.2, 2.0))
    decided = sum(len(once_each(workflow, t)) for t in ("confirm_single", "flag_duplicate"))
    assert decided == len(in_prr)

    workflow.blanks.receive("CRASH", 500, actor="setup")
    workflow.blanks.distribute("CRASH", actor="setup")
    code, when = ektp(db_url, "allocate", kill_after=rng.uniform(0.1, 1.5))
    kills += [("allocation", when)] if when is not None else []
    sound(workflow)
    ektp(db_url, "allocate")
    sound(workflow)
    allocated = once_each(workflow, "allocate")
    assert len(allocated) == sum(s.reserved for s in workflow.blanks.stock()) <= 500

    rules = tmp_path / "rules.toml"
    rules.write_text('name = "tiers"\n[split]\nrule = "equal"\n[[queue]]\nrule = "priority_tiers"\n')
    code, when = ektp(db_url, "rules", "apply", str(rules), "--reason", "SE", kill_after=rng.uniform(0.05, 0.8))
    kills += [("rule change", when)] if when is not None else []
    if workflow.rules.active().version == 1:
        ektp(db_url, "rules", "apply", str(rules), "--reason", "SE")
    assert workflow.rules.active().version == 2
    assert [a.version for a in workflow.rules.history()] == [1, 2]
    log(
        {
            "test": "kill -9 during import, bulk fire, central import, allocation, rule change",
            "database": engine.dialect.name,
            "processes": 1,
            "kills": len(kills),
            "kill_points": [f"{label} at {when:.2f} s" for label, when in kills],
            "lost": 0,
        }
    )


def test_a_lost_connection_is_a_retryable_error_and_the_next_call_reconnects(db_url: str, engine: sa.Engine) -> None:
    """What a failover looks like to a writer: its server connection is gone."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a SQLite file has no connection to lose")
    from ektp_workflow import ResidentRecord, create_engine
    from ektp_workflow.errors import ConnectionLost

    from .factories import make_nik

    name = "ektp-lost-" + os.urandom(4).hex()
    own = create_engine(sa.make_url(db_url).update_query_dict({"application_name": name}, append=True))
    try:
        workflow = Workflow(own)
        nik = make_nik()
        workflow.register([ResidentRecord(nik, "Siti", "16.71.05")], actor="op")
        with engine.connect() as admin:
            admin.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
                {"n": name},
            )
        with pytest.raises(ConnectionLost) as lost:
            workflow.fire(nik, "record", actor="op", idempotency_key="k-1")
        assert lost.value.retryable
        event = workflow.fire(nik, "record", actor="op", idempotency_key="k-1")  # the retry, same key
        assert event.to_state == "recorded" and workflow.audit.verify().ok
    finally:
        own.dispose()
