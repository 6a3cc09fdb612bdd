"""``ektp config show``: each setting, its value and where it came from."""

from __future__ import annotations

import re

import click

from .. import i18n
from ..i18n import _
from .config import KEYS, Config, Key


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
    if key.param == "tz" and root.params.get("utc"):
        return {"key": key.key, "value": "UTC", "source": _("flag {flag}").format(flag="--utc")}
    if value is None and key.param == "tz":
        zone, region = root.obj.zone, root.params.get("region")
        origin = _("region {region}").format(region=region) if region else _("default")
        return {"key": key.key, "value": str(zone), "source": origin}
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
        shown = hidden_password(shown)
    return {"key": key.key, "value": shown, "source": origin}


def hidden_password(url: str) -> str:
    """A database URL with its password shown as ``***``, in the user part or the query."""
    url = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", url)
