"""The config file, ``ektp.toml``: the settings an office gives every command once.

Read from the user's config folder (``~/.config/ektp/ektp.toml`` on Linux), then from
the working directory (its values win), or only from the file ``EKTP_CONFIG`` names.
Each value is overridden by its environment variable, and that by its flag:
click's own order (command line, environment, ``default_map``, default).
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

import click

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

    :raises click.UsageError: a file is not a regular file of at most 64 KiB, is owned by
        another user or writable by others, cannot be read, is not TOML, or holds an
        unknown key or a value that is not text (the message names the file and the key).
    """
    values: dict[str, str] = {}
    origins: dict[str, Path] = {}
    named = os.environ.get(VARIABLE)
    if named and Path(named) == Path(os.devnull):
        return Config(values, origins, ())  # EKTP_CONFIG=/dev/null: no config at all
    if named and not Path(named).expanduser().exists():
        raise click.UsageError(
            _("{variable}={path}: no such file (it names the config file to read)").format(
                variable=VARIABLE, path=named
            )
        )
    for path in candidates():
        if path.exists():
            for param, value in _read(path).items():
                values[param], origins[param] = value, path
    return Config(values, origins, candidates())


#: The largest config file read: a few settings, never megabytes.
MAX_SIZE = 64 * 1024


def _checked(path: Path) -> str:
    """The text of a config file that is safe to read: a regular file (not a FIFO that
    would block, nor /dev/zero), small, the user's own and writable by no one else (a
    file another user can plant would name the database and the actor)."""
    try:
        status = path.stat()
    except OSError as err:
        raise _unreadable(path, err) from err
    if not stat.S_ISREG(status.st_mode):
        raise click.UsageError(_("config file {path}: not a regular file").format(path=path))
    if status.st_size > MAX_SIZE:
        raise click.UsageError(
            _("config file {path}: {size:,} bytes; a config file holds at most {limit:,}").format(
                path=path, size=status.st_size, limit=MAX_SIZE
            )
        )
    if status.st_uid != os.geteuid() or status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise click.UsageError(
            _(
                "config file {path}: owned by another user or writable by others, so not read "
                "(it could name another database or actor); make it yours (chmod go-w) or move it"
            ).format(path=path)
        )
    try:
        return path.read_bytes().decode("utf-8").removeprefix("\ufeff")  # Notepad writes a BOM
    except (OSError, UnicodeDecodeError) as err:
        raise _unreadable(path, err) from err


def _unreadable(path: Path, err: Exception) -> click.UsageError:
    return click.UsageError(_("config file {path}: cannot be read: {reason}").format(path=path, reason=err))


def _read(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(_checked(path))
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
        found[by_key[key].param] = _beside(path, value.strip()) if key == "database" else value.strip()
    return found


def _beside(path: Path, database: str) -> str:
    """A database the file names by a relative path (``ektp.db``, ``sqlite:///ektp.db``)
    is beside the file, wherever the command runs."""
    plain = "://" not in database
    local = database[len("sqlite:///") :] if database.startswith("sqlite:///") else database if plain else None
    if local is None or not local or Path(local).is_absolute() or local.startswith(":memory:"):
        return database
    where = (path.parent / Path(local).expanduser()).absolute()
    return str(where) if plain else f"sqlite:///{where}"


def source(ctx: click.Context, param: str) -> str | None:
    """The config file a parameter's value came from, or None (a flag, the environment)."""
    root = ctx.find_root()
    if root.get_parameter_source(param) is not click.core.ParameterSource.DEFAULT_MAP:
        return None
    loaded: Config | None = root.meta.get("ektp.config")
    return str(loaded.origins.get(param, FILE_NAME)) if loaded else FILE_NAME
