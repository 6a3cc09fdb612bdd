"""The config file, ``ektp.toml``: the settings an office gives every command once.

Read from the user's config folder (``~/.config/ektp/ektp.toml`` on Linux), then from
the working directory (its values win), or only from the file ``EKTP_CONFIG`` names.
Each value is overridden by its environment variable, and that by its flag:
click's own order (command line, environment, ``default_map``, default).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import click

from .. import i18n
from ..i18n import _

#: The file's name, and the variable that names one file instead.
FILE_NAME, VARIABLE = "ektp.toml", "EKTP_CONFIG"


@dataclass(frozen=True)
class Key:
    """One setting: its key in the file, the global option's parameter, flag and variable."""

    key: str
    param: str
    flag: str
    variable: str


#: Every key the file may hold.
KEYS = (
    Key("database", "db_url", "--db", "EKTP_DATABASE_URL"),
    Key("actor", "actor", "--actor", "EKTP_ACTOR"),
    Key("region", "region", "--region", "EKTP_REGION"),
    Key("language", "lang", "--lang", "EKTP_LANG"),
    Key("time_zone", "tz", "--tz", "EKTP_TZ"),
)


@dataclass(frozen=True)
class Config:
    """The values the files give, by parameter, and the file each came from."""

    values: dict[str, str]
    origins: dict[str, Path]
    files: tuple[Path, ...]


def candidates() -> tuple[Path, ...]:
    """The files read, in order (a later one's values win)."""
    named = os.environ.get(VARIABLE)
    if named:
        return (Path(named).expanduser(),)
    return (Path(click.get_app_dir("ektp")) / FILE_NAME, Path.cwd() / FILE_NAME)


def load() -> Config:
    """The config, from every file there is.

    :raises click.UsageError: a file cannot be read, is not TOML, or holds an unknown
        key or a value that is not text (the message names the file and the key).
    """
    values: dict[str, str] = {}
    origins: dict[str, Path] = {}
    named = os.environ.get(VARIABLE)
    if named and not Path(named).expanduser().exists():
        raise click.UsageError(
            _("{variable}={path}: no such file (it names the config file to read)").format(
                variable=VARIABLE, path=named
            )
        )
    for path in candidates():
        if path.exists():  # EKTP_CONFIG=/dev/null: no config at all
            for param, value in _read(path).items():
                values[param], origins[param] = value, path
    return Config(values, origins, candidates())


def _read(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise click.UsageError(_("config file {path}: cannot be read: {reason}").format(path=path, reason=err)) from err
    except tomllib.TOMLDecodeError as err:
        raise click.UsageError(_("config file {path}: not valid TOML: {reason}").format(path=path, reason=err)) from err
    by_key = {k.key: k for k in KEYS}
    found = {}
    for key, value in data.items():
        if key not in by_key:
            raise click.UsageError(
                _("config file {path}: unknown key {key!r}; expected one of: {keys}").format(
                    path=path, key=key, keys=", ".join(by_key)
                )
            )
        if not isinstance(value, str) or not value.strip():
            raise click.UsageError(
                _('config file {path}: {key} must be a text in quotes, as {key} = "..."').format(path=path, key=key)
            )
        found[by_key[key].param] = value.strip()
    return found


@click.group("config")
def command() -> None:
    """The settings in use and where each came from (ektp.toml, environment, flag).

    \b
    Example:
      ektp config show
    """


@command.command("show")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """Each setting, its value and where it came from: a flag, an environment variable,
    a config file (which one) or the default.

    \b
    Example:
      ektp config show
      ektp --lang id config show
    """
    root = ctx.find_root()
    config: Config = root.meta["ektp.config"]
    rows = [_row(root, config, key) for key in KEYS]
    if as_json:
        from .output import emit_json

        emit_json({"settings": rows, "files": [{"path": str(p), "found": p.is_file()} for p in config.files]})
        return
    from .output import emit_table

    emit_table([_("setting"), _("value"), _("from")], [(r["key"], r["value"] or "", r["source"]) for r in rows])
    for path in config.files:
        click.echo((_("read: {path}") if path.is_file() else _("not found: {path}")).format(path=path))


def _row(root: click.Context, config: Config, key: Key) -> dict[str, str | None]:
    source = root.get_parameter_source(key.param)
    value = root.params.get(key.param)
    if value is None and key.param == "lang":
        return {"key": key.key, "value": i18n.language(), "source": _("the locale")}
    if value is None and key.param == "tz":
        zone, region = root.obj.zone, root.params.get("region")
        return {
            "key": key.key,
            "value": str(zone),
            "source": _("region {region}").format(region=region) if region else _("default"),
        }
    if source is click.core.ParameterSource.COMMANDLINE:
        origin = _("flag {flag}").format(flag=key.flag)
    elif source is click.core.ParameterSource.ENVIRONMENT:
        origin = _("environment {variable}").format(variable=key.variable)
    elif source is click.core.ParameterSource.DEFAULT_MAP:
        origin = _("file {path}").format(path=config.origins[key.param])
    else:
        origin = _("default")
    shown = None if value is None else str(value)
    if shown and key.param == "db_url":
        shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", shown)  # a password is not shown
    return {"key": key.key, "value": shown, "source": origin}
