"""Administering the database: engines, schema migrations and PostgreSQL roles (``ektp db``).

Plain functions the ``ektp db`` commands call, and scripts may call too::

    from ektp_workflow import admin

    engine = admin.create_engine("postgresql+psycopg://owner@db/ektp")
    admin.upgrade(engine)                       # create or upgrade the schema (Alembic)
    admin.grant_application(engine, "ektp_app")  # the role the application runs as

SQLAlchemy and Alembic load when a function is first used, not on import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._store.settings import DEFAULT_URL, URL_VARIABLE, default_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from ._store.engine import create_engine
    from ._store.migrations import head_revision, upgrade
    from ._store.roles import grant_application, grant_auditor

__all__ = [
    "DEFAULT_URL",
    "URL_VARIABLE",
    "create_engine",
    "current_revision",
    "default_url",
    "downgrade",
    "grant_application",
    "grant_auditor",
    "head_revision",
    "upgrade",
]

_WHERE = {
    "create_engine": "_store.engine",
    "head_revision": "_store.migrations",
    "upgrade": "_store.migrations",
    "grant_application": "_store.roles",
    "grant_auditor": "_store.roles",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ektp_workflow.admin' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ektp_workflow.{module}"), name)
    globals()[name] = value
    return value


def current_revision(bind: Engine | Connection) -> str | None:
    """The migration the database is at, or None for a database without the schema."""
    from sqlalchemy.engine import Engine

    from ._store import migrations
    from ._store.engine import reading

    if not isinstance(bind, Engine):
        return migrations.current_revision(bind)
    with bind.connect() as connection:  # no write lock: a reader never waits for a writer
        return migrations.current_revision(reading(connection))


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` (``"base"``: no schema left). For developers."""
    from ._store import migrations

    migrations.downgrade(engine, revision)
