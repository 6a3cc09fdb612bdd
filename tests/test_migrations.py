"""The schema comes only from Alembic migrations, and they match the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from alembic import command
from ektp_workflow import create_engine, upgrade
from ektp_workflow._store.migrations import alembic_config as _alembic_config
from ektp_workflow._store.migrations import current_revision, head_revision
from ektp_workflow._store.schema import metadata


def test_migrations_at_head_equal_the_models(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_upgrade_is_idempotent_and_reaches_head(db_url: str) -> None:
    engine = create_engine(db_url)
    assert upgrade(engine) == head_revision()
    assert upgrade(engine) == head_revision()
    engine.dispose()


def test_every_migration_downgrades_and_upgrades_again(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "base")
    with engine.connect() as conn:
        assert current_revision(conn) is None
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    assert upgrade(engine) == head_revision()
