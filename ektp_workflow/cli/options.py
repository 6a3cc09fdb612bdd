"""The global options' checks: a region, a zone, a language, a database path, the
version. A bad value from ``ektp.toml`` is named with its file and key, not as a flag
the operator never typed."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from importlib import metadata
from pathlib import Path

import click

from .. import clock
from ..errors import WorkflowError
from ..i18n import LANGUAGES, _
from . import config


def _refuse(ctx: click.Context, param: click.Parameter, reason: str) -> click.UsageError:
    """A bad value: named with the config file and key it came from, or as the flag's."""
    path = config.source(ctx, param.name or "")
    if path is None:
        return click.BadParameter(reason, ctx, param)
    key = next(k.key for k in config.KEYS if k.param == param.name)
    return click.UsageError(_("config file {path}: {key}: {reason}").format(path=path, key=key, reason=reason), ctx)


def region(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--region``: an official kabupaten/kota code, dotted."""
    if value is None:
        return None
    from ..regions import kabupaten_kota_of

    try:
        return kabupaten_kota_of(value)
    except WorkflowError as err:
        raise _refuse(ctx, param, str(err)) from err


def zone(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.tzinfo | None:
    """``--tz``: WIB, WITA, WIT, UTC (any case) or an IANA zone name."""
    if value is None:
        return None
    name = value.strip()
    if name.upper() in clock.ZONES:
        return clock.ZONES[name.upper()]
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError) as err:  # OSError: a folder of tzdata, too long
        reason = _("{value!r} is not a time zone; expected WIB, WITA, WIT, UTC or a name as Asia/Makassar")
        raise _refuse(ctx, param, reason.format(value=value)) from err


def language(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--lang``: one of the languages there are messages in."""
    if value is None or value in LANGUAGES:
        return value
    reason = _("{value!r} is not a language; expected one of: {languages}")
    raise _refuse(ctx, param, reason.format(value=value, languages=", ".join(LANGUAGES)))


def version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--version``: print it, in the language in use, and stop."""
    if value and not ctx.resilient_parsing:
        shown = _("{prog}, version {version}").format(
            prog=ctx.find_root().info_name, version=metadata.version("ektp_workflow")
        )
        click.echo(shown)
        ctx.exit()


def as_url(value: str) -> str:
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
