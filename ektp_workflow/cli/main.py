"""The ``ektp`` group and its global options."""

from __future__ import annotations

from pathlib import Path

import click

from ..admin import DEFAULT_URL, URL_VARIABLE
from . import allocate, audit, blanks, bulk, card, cards, db, demo, report, residents, rules, states
from .context import ErrorHandlingGroup, Settings


@click.group(cls=ErrorHandlingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    envvar=URL_VARIABLE,
    default=DEFAULT_URL,
    show_default=True,
    metavar="URL",
    help=f"Database URL (env {URL_VARIABLE}), e.g. postgresql+psycopg://host/ektp, or a SQLite file's path.",
)
@click.option(
    "--actor",
    envvar="EKTP_ACTOR",
    metavar="NAME",
    help="Who makes the change (env EKTP_ACTOR); required by every command that changes data.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr (it shows only on a terminal anyway).")
@click.version_option(package_name="ektp_workflow")
@click.pass_context
def cli(ctx: click.Context, db_url: str, actor: str | None, quiet: bool) -> None:
    """e-KTP workflow: card lifecycle, event log and blank allocation.

    \b
    Example:
      ektp db upgrade
      ektp --actor op-1 residents import residents.csv
      ektp --actor op-1 card fire 1671054509050001 record
    """
    settings = Settings(db_url=_as_url(db_url), actor=actor, quiet=quiet)
    ctx.obj = settings
    ctx.call_on_close(settings.close)


for module in (db, residents, card, cards, bulk, blanks, allocate, rules, report, audit, states, demo):
    cli.add_command(module.command)
cli.add_command(bulk.central_command)


def _as_url(value: str) -> str:
    """A database URL as given, or a plain path (``/srv/ektp.db``, ``ektp.db``) as the
    SQLite file's URL, as sqlite-utils and datasette take one."""
    if "://" in value or not value.strip():
        return value
    path = Path(value).expanduser().absolute()
    if "?" in value or "%" in value:  # they would be read as a URL's query or escapes
        raise click.BadParameter(
            f"{value!r}: a path with ? or % must be given as a URL (sqlite:///...)", param_hint="--db"
        )
    if path.is_dir():
        raise click.BadParameter(f"{value!r} is a directory, not a SQLite file", param_hint="--db")
    return f"sqlite:///{path}"


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ektp")
