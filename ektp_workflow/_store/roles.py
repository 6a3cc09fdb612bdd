"""PostgreSQL roles: the auditor's (read-only) and the application's (unable to alter the history)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..errors import WorkflowError
from ..i18n import _
from .schema import APPEND_ONLY, DERIVED, metadata

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_auditor(engine: Engine, role: str, password: str | None = None) -> list[str]:
    """Create (or update) a PostgreSQL login role that can read every table and change nothing.

    :returns: the statements run, for the operator's record.
    :raises WorkflowError: not PostgreSQL, or the role name is not a plain identifier.
    """

    def grants(quote: Callable[[str], str], schema: str, owner: str) -> list[str]:
        return [
            f"ALTER ROLE {quote(role)} SET default_transaction_read_only = on",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {quote(schema)} TO {quote(role)}",
            # tables the schema's owner (who runs the migrations) creates later, too
            (
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote(owner)} IN SCHEMA {quote(schema)} "
                f"GRANT SELECT ON TABLES TO {quote(role)}"
            ),
        ]

    return _grant(engine, role, password, grants, "grant-auditor")


def grant_application(engine: Engine, role: str, password: str | None = None) -> list[str]:
    """Create (or update) the PostgreSQL role the application runs as: it may read and add
    everything, change only current state, and delete nothing.

    The append-only tables (events, ledger entries, rule sets, ...) get SELECT and INSERT
    only: even without the triggers this role could not alter the history. The tables
    the database's own triggers keep (the queue) get SELECT only.

    :returns: the statements run. :raises WorkflowError: as ``grant_auditor``.
    """
    mutable = [t for t in metadata.tables if t not in APPEND_ONLY and t not in DERIVED]

    def grants(quote: Callable[[str], str], schema: str, owner: str) -> list[str]:
        def listed(names: Iterable[str]) -> str:
            return ", ".join(f"{quote(schema)}.{quote(n)}" for n in sorted(names))

        return [
            f"GRANT SELECT, INSERT ON {listed(APPEND_ONLY)} TO {quote(role)}",
            f"GRANT SELECT, INSERT, UPDATE ON {listed(mutable)} TO {quote(role)}",
            f"GRANT SELECT ON {listed(DERIVED)} TO {quote(role)}",
            f"GRANT SELECT ON {quote(schema)}.alembic_version TO {quote(role)}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {quote(role)}",
        ]

    return _grant(engine, role, password, grants, "grant-app")


def _grant(
    engine: Engine,
    role: str,
    password: str | None,
    grants: Callable[[Callable[[str], str], str, str], list[str]],
    command: str,
) -> list[str]:
    _refuse_arguments(engine, role, password, command)
    with engine.begin() as conn:
        database, schema, me = conn.execute(sa.text("SELECT current_database(), current_schema(), current_user")).one()
        found = conn.execute(sa.text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role})
        existing = found.first()
        if role == me or (existing is not None and (existing[0] or existing[1])):
            what = _("the role running this command") if role == me else _("a superuser")
            raise WorkflowError(
                _(
                    "role {role} is {what}: it can do anything, whatever {command} grants; "
                    "give {command} a role of its own"
                ).format(role=role, what=what, command=command)
            )
        owner = (
            conn.scalar(
                sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'events' AND schemaname = :s"),
                {"s": schema},
            )
            or me
        )
        quote = conn.dialect.identifier_preparer.quote
        statements = [] if existing is not None else [f"CREATE ROLE {quote(role)} LOGIN"]
        statements += [
            f"GRANT CONNECT ON DATABASE {quote(database)} TO {quote(role)}",
            f"GRANT USAGE ON SCHEMA {quote(schema)} TO {quote(role)}",
            *grants(quote, schema, owner),
        ]
        for statement in statements:
            conn.exec_driver_sql(statement)
        if password:
            # ALTER ROLE takes no bind parameter: the password goes as a quoted literal
            literal = "'" + password.replace("'", "''") + "'"
            conn.exec_driver_sql(f"ALTER ROLE {quote(role)} PASSWORD {literal}")
            statements.append(f"ALTER ROLE {quote(role)} PASSWORD '***'")
    return statements


def _refuse_arguments(engine: Engine, role: str, password: str | None, command: str) -> None:
    """:raises WorkflowError: not PostgreSQL, a role name that is not a plain identifier, or
    an empty password."""
    if engine.dialect.name != "postgresql":
        raise WorkflowError(
            _(
                "{command} needs PostgreSQL; on SQLite give auditors a copy of the file, "
                "or a URL opened read-only: sqlite:///file:ektp.db?mode=ro&uri=true"
            ).format(command=command)
        )
    if not _ROLE.match(role):
        raise WorkflowError(
            _("role {role!r}: expected lower-case letters, digits and _, starting with a letter").format(role=role)
        )
    if password is not None and ("\x00" in password or not password):
        raise WorkflowError(_("--password: must not be empty or hold a NUL byte"))
