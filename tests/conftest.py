"""Fixtures: a fresh database for every test, on SQLite always and PostgreSQL when configured.

Set ``EKTP_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
to run every storage test on PostgreSQL too; each test gets a database of its own on that
server (the role must be allowed to create databases), cloned from one migrated per session.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ektp_workflow import Workflow, create_engine, upgrade
from ektp_workflow._store.schema import metadata

PG_VARIABLE = "EKTP_TEST_DATABASE_URL"
# Tests read the English messages unless they choose a language, whatever the machine's
# locale; no config file of the developer's is read (a test that wants one names it).
os.environ["EKTP_LANG"] = "en"
os.environ["EKTP_CONFIG"] = os.devnull
#: What the working directory held when the run started: a test must leave it so.
_STARTED_WITH: set[str] = set()


@pytest.fixture(autouse=True)
def _english_again() -> Iterator[None]:
    """A test that chose a language leaves the next one in English."""
    yield
    from ektp_workflow import i18n

    i18n.use("en")
    os.environ["LANGUAGE"] = "en"


def pytest_sessionstart(session: pytest.Session) -> None:
    _STARTED_WITH.update(os.listdir(Path.cwd()))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test left files in the directory pytest ran in (a newcomer's
    ``ektp-demo-report.html`` there must survive the test suite)."""
    left = sorted(set(os.listdir(Path.cwd())) - _STARTED_WITH - {".pytest_cache", ".hypothesis", "__pycache__"})
    if left:
        print(f"\ntests wrote into the working directory {Path.cwd()}: {', '.join(left)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _postgresql_url() -> str | None:
    return os.environ.get(PG_VARIABLE) or None


#: The fixtures that want the database migrated: on PostgreSQL it is then cloned from a
#: template migrated once per session (``CREATE DATABASE ... TEMPLATE``, some 50 ms,
#: instead of running every migration again, some 500 ms).
_MIGRATED = {"engine", "workflow"}
#: The PostgreSQL databases a test's db_url was cloned from the template.
_CLONED: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A URL to a database of each kind of its own: empty (not yet migrated), or on
    PostgreSQL already migrated when the test asks for ``engine`` (which migrates it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ektp.db'}"
        return
    base = _postgresql_url()
    if base is None:
        pytest.skip(f"PostgreSQL tests need {PG_VARIABLE}")
    template = request.getfixturevalue("migrated_postgresql") if _MIGRATED & set(request.fixturenames) else None
    yield from _postgresql_database(base, template)


def _postgresql_database(base: str, template: str | None) -> Iterator[str]:
    """A database of its own on the server of ``base`` (copied from ``template`` if given),
    dropped afterwards whatever connections a test left open."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    url = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    if template:
        _CLONED.add(url)
    try:
        yield url
    finally:
        _CLONED.discard(url)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_postgresql() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per session, the template of the
    databases tests get (nothing may stay connected to it)."""
    base = _postgresql_url()
    assert base is not None
    name = f"ektp_template_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine = create_engine(sa.make_url(base).set(database=name))
    upgrade(engine)
    engine.dispose()
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / "ektp.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # closing the last connection folds the WAL into the file
    return path


@pytest.fixture
def engine(db_url: str, migrated_sqlite: Path) -> Iterator[sa.Engine]:
    """An engine on a freshly migrated database."""
    url = sa.make_url(db_url)
    if url.get_backend_name() == "sqlite":
        shutil.copyfile(migrated_sqlite, str(url.database))
    engine = create_engine(db_url)
    if url.get_backend_name() != "sqlite" and db_url not in _CLONED:
        upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def workflow(engine: sa.Engine) -> Workflow:
    return Workflow(engine)


def first_link(conn: sa.Connection) -> str:
    """The hash the first event is chained to: a fresh database's schema chains the default
    rule set (seq -1) and its activation (seq 0) before it."""
    return str(conn.scalar(sa.text("SELECT chain_hash FROM rule_set_activations WHERE seq = 0")))


def snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a refused command changed nothing."""
    with engine.connect() as conn:
        return {
            table.name: sorted(tuple(map(repr, row)) for row in conn.execute(sa.select(table)))
            for table in metadata.sorted_tables
        }


def consistent(workflow: Workflow) -> None:
    """The history verifies, every table agrees with its replay, and the ledger balances."""
    assert workflow.audit.verify().ok
    assert workflow.audit.compare() == []
    assert workflow.blanks.problems() == []


def run_cli(db_url: str, actor: str, *args: str) -> Any:
    """``ektp --db DB_URL --actor ACTOR ARGS...`` in a click test runner: its Result."""
    from click.testing import CliRunner

    from ektp_workflow.cli.main import cli

    return CliRunner().invoke(cli, ["--db", db_url, "--actor", actor, *args])
