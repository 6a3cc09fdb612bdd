"""The ``ektp`` group and its global options."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

import click

from .. import clock
from ..admin import DEFAULT_URL, URL_VARIABLE
from ..errors import WorkflowError
from ..i18n import LANGUAGES, VARIABLE, _
from ..regions import kabupaten_kota_of
from . import allocate, audit, blanks, bulk, card, cards, config, db, demo, output, report, residents, rules, states
from .context import ErrorHandlingGroup, Settings
from .language import HELP_OPTION_NAMES, localize, requested


def _region(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return kabupaten_kota_of(value)
    except WorkflowError as err:
        raise click.BadParameter(str(err)) from err


def _zone(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.tzinfo | None:
    if value is None:
        return None
    if value.strip().upper() in clock.ZONES:
        return clock.ZONES[value.strip().upper()]
    try:
        return zoneinfo.ZoneInfo(value.strip())
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as err:
        raise click.BadParameter(
            _("{value!r} is not a time zone; expected WIB, WITA, WIT, UTC or a name as Asia/Makassar").format(
                value=value
            )
        ) from err


class Root(ErrorHandlingGroup):
    """The ``ektp`` group: reads the config file before anything else, and chooses the
    language before the command line is parsed (so its help and errors are in it)."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        loaded = config.load()
        extra.setdefault("default_map", loaded.values)
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta["ektp.config"] = loaded
        return ctx

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            localize(self, requested(args, ctx.default_map))
        except ValueError as err:  # a catalogue missing from a broken install
            raise click.UsageError(str(err)) from err
        return super().parse_args(ctx, args)


@click.group(cls=Root, context_settings={"help_option_names": list(HELP_OPTION_NAMES)})
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
@click.option(
    "--region",
    envvar="EKTP_REGION",
    metavar="CODE",
    callback=_region,
    help="The kabupaten/kota this office works for (env EKTP_REGION), as 16.71: times are shown in its zone.",
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    envvar=VARIABLE,
    help="Language of messages and help (env EKTP_LANG); default from the locale: id for id_ID, else en.",
)
@click.option(
    "--tz",
    envvar="EKTP_TZ",
    metavar="ZONE",
    callback=_zone,
    help="Show times in this zone (env EKTP_TZ): WIB, WITA, WIT, UTC or a name as Asia/Makassar; default the region's, else WIB.",
)
@click.option("--utc", is_flag=True, help="Show times in UTC (as --tz UTC).")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr (it shows only on a terminal anyway).")
@click.version_option(package_name="ektp_workflow")
@click.pass_context
def cli(
    ctx: click.Context,
    db_url: str,
    actor: str | None,
    region: str | None,
    lang: str | None,
    tz: dt.tzinfo | None,
    utc: bool,
    quiet: bool,
) -> None:
    """e-KTP workflow: card lifecycle, event log and blank allocation.

    \b
    Example:
      ektp db upgrade
      ektp --actor op-1 residents import residents.csv
      ektp --actor op-1 card fire 1671054509050001 record
    """
    zone = dt.UTC if utc else tz or (clock.zone_of(region) if region else clock.WIB)
    settings = Settings(db_url=_as_url(db_url), actor=actor, quiet=quiet, region=region, zone=zone)
    output.use_zone(zone)
    ctx.obj = settings
    ctx.call_on_close(settings.close)


for module in (db, residents, card, cards, bulk, blanks, allocate, rules, report, audit, states, demo, config):
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
            _("{value!r}: a path with ? or % must be given as a URL (sqlite:///...)").format(value=value),
            param_hint="--db",
        )
    if path.is_dir():
        raise click.BadParameter(
            _("{value!r} is a directory, not a SQLite file").format(value=value), param_hint="--db"
        )
    return f"sqlite:///{path}"


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ektp")
