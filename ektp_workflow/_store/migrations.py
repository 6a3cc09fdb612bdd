"""Schema migrations through Alembic: the only way the schema is created or changed.

Alembic loads only here, for the commands that change or inspect the schema; opening
a database checks its revision with one query (``store.stored_revision``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from alembic import command

from ..errors import SchemaError
from ..i18n import _


def migrations_path() -> Path:
    """Where the Alembic environment lives: inside the installed package, or the checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "migrations"
    return installed if (installed / "env.py").exists() else package.parent / "alembic"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for this package's migrations, on ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The newest migration this version of the package ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise SchemaError(_("no migrations found in {path}").format(path=migrations_path()))
    return head


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at, or None for a database without the schema."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply migrations up to ``revision``; return the revision the database is then at."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    with engine.connect() as connection:
        return current_revision(connection)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` (``base``: an empty database)."""
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)
