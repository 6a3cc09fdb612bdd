"""Alembic environment for ektp_workflow.

Run by ``ektp db upgrade`` (which hands over its connection) or by the ``alembic``
command with ``alembic.ini`` (URL from ``-x url=...``, ``EKTP_DATABASE_URL`` or the
ini file).
"""

from __future__ import annotations

from alembic import context
from ektp_workflow._store.schema import metadata
from ektp_workflow.admin import create_engine, default_url

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or (
        config.get_main_option("sqlalchemy.url") or default_url()
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url())
    with engine.connect() as connection:
        _run(connection)
        connection.commit()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
