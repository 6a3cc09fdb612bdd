"""The ``ektp`` group and its global options."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import click

from .. import clock
from ..admin import DEFAULT_URL, URL_VARIABLE
from ..i18n import VARIABLE
from . import (
    allocate,
    audit,
    blanks,
    bulk,
    card,
    cards,
    config,
    config_show,
    db,
    demo,
    options,
    output,
    report,
    residents,
    rules,
    states,
)
from .context import ErrorHandlingGroup, Settings
from .language import HELP_OPTION_NAMES, kept_language, localize, requested


class Root(ErrorHandlingGroup):
    """The ``ektp`` group: chooses the language before anything is read or parsed (so
    that errors in the config file, help and usage errors are in it), reads the config
    file, and gives the process its language back when the command is done."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with kept_language(self):
            return super().main(*args, **kwargs)

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        self._localize(args, None)
        loaded = config.load()
        extra.setdefault("default_map", loaded.values)
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta["ektp.config"] = loaded
        return ctx

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        self._localize(args, ctx.default_map)  # the config file may choose it
        return super().parse_args(ctx, args)

    def _localize(self, args: list[str], default_map: Mapping[str, Any] | None) -> None:
        """The language asked for; English for ``--json``, whatever is asked (a program
        reads the messages in it)."""
        try:
            localize(self, "en" if "--json" in args else requested(args, default_map))
        except ValueError as err:  # a catalogue missing from a broken install
            raise click.UsageError(str(err)) from err


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
    callback=options.region,
    help="The kabupaten/kota this office works for (env EKTP_REGION), as 16.71: times are shown in its zone.",
)
@click.option(
    "--lang",
    metavar="[en|id]",
    envvar=VARIABLE,
    callback=options.language,
    help="Language of messages and help (env EKTP_LANG); default from the locale: id for id_ID, else en.",
)
@click.option(
    "--tz",
    envvar="EKTP_TZ",
    metavar="ZONE",
    callback=options.zone,
    help="Show times in this zone (env EKTP_TZ): WIB, WITA, WIT, UTC or a name as Asia/Makassar; default the region's, else WIB.",
)
@click.option("--utc", is_flag=True, help="Show times in UTC (as --tz UTC).")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr (it shows only on a terminal anyway).")
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=options.version,
    help="Show the version and exit.",
)
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
    settings = Settings(db_url=options.as_url(db_url), actor=actor, quiet=quiet, region=region, zone=zone)
    output.use_zone(zone)
    ctx.obj = settings
    ctx.call_on_close(settings.close)


for module in (db, residents, card, cards, bulk, blanks, allocate, rules, report, audit, states, demo, config_show):
    cli.add_command(module.command)
cli.add_command(bulk.central_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ektp")
