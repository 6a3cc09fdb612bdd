"""``ektp db``: create and upgrade the schema."""

from __future__ import annotations

from collections.abc import Callable

import click

from .. import admin
from ..i18n import _
from .context import Settings, pass_settings
from .output import emit_json


@click.group("db")
def command() -> None:
    """Create, upgrade and inspect the database schema.

    \b
    Example:
      ektp db upgrade
      ektp --db postgresql+psycopg://localhost/ektp db current
    """


@command.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Migration to upgrade to.")
@pass_settings
def upgrade_command(settings: Settings, revision: str) -> None:
    """Create the schema, or bring it up to date (safe to run again).

    \b
    Example:
      ektp db upgrade
    """
    engine = settings.engine()
    try:
        reached = admin.upgrade(engine, revision)
    finally:
        engine.dispose()
    click.echo(_("database at revision {revision} (head {head})").format(revision=reached, head=admin.head_revision()))


@command.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def current_command(settings: Settings, as_json: bool) -> None:
    """Show the schema revision of the database and the one this version needs.

    \b
    Example:
      ektp db current --json
    """
    engine = settings.engine()
    try:
        found = admin.current_revision(engine)
    finally:
        engine.dispose()
    head = admin.head_revision()
    if as_json:
        emit_json({"current": found, "head": head, "up_to_date": found == head})
        return
    status = _("up to date") if found == head else _("run `ektp db upgrade`")
    current = found or _("none (empty database)")
    click.echo(_("current: {current}\nhead:    {head}").format(current=current, head=head))
    click.echo(status)


@command.command("grant-auditor")
@click.argument("role")
@click.option("--password", help="Set a password for the role (else use your server's authentication).")
@pass_settings
def grant_auditor_command(settings: Settings, role: str, password: str | None) -> None:
    """Create a read-only PostgreSQL role ROLE for an auditor (PostgreSQL only).

    The role can connect and SELECT every table of the schema, now and later; its
    transactions are read-only. It cannot change or delete anything, events included.

    \b
    Example:
      ektp --db postgresql+psycopg://admin@db/ektp db grant-auditor bpk_auditor
    """
    _grant(settings, admin.grant_auditor, role, password)
    click.echo(_("role {role} can now read, and only read, this database").format(role=role))


@command.command("grant-app")
@click.argument("role")
@click.option("--password", help="Set a password for the role (else use your server's authentication).")
@pass_settings
def grant_app_command(settings: Settings, role: str, password: str | None) -> None:
    """Create the PostgreSQL role the application runs as (PostgreSQL only).

    It can read and add rows everywhere and update current state (cards, stock,
    the chain head), but it cannot UPDATE or DELETE the history (events, ledger
    entries, rule sets, allocation records) and cannot DELETE anything. Run
    migrations as the schema's owner, the application as this role.

    \b
    Example:
      ektp --db postgresql+psycopg://owner@db/ektp db grant-app ektp_app
    """
    _grant(settings, admin.grant_application, role, password)
    click.echo(_("role {role} can run the application and cannot alter the history").format(role=role))


def _grant(settings: Settings, grant: Callable[..., list[str]], role: str, password: str | None) -> None:
    """Run a grant on the --db database and print the statements, for the record."""
    engine = settings.engine()
    try:
        statements = grant(engine, role, password)
    finally:
        engine.dispose()
    for statement in statements:
        click.echo(statement)
