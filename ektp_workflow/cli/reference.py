"""The CLI reference (docs/cli.md), generated from the commands' own help.

Regenerate with ``python -m ektp_workflow.cli.reference > docs/cli.md``; a test
fails when the file is out of date. The reference is in English, the language the help
is written in, whatever language the process uses.
"""

from __future__ import annotations

import os

import click

from .. import i18n
from .language import localize
from .main import cli


def reference_markdown() -> str:
    """Every command's ``--help``, in command order, as Markdown, in English."""
    previous, variable = i18n.language(), os.environ.get("LANGUAGE")
    localize(cli, "en")
    try:
        return _markdown()
    finally:
        localize(cli, previous)
        if variable is None:  # localize sets it for click's own words
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = variable


def _markdown() -> str:
    parts = [
        "# CLI reference\n",
        "Generated from the commands' own help by `python -m ektp_workflow.cli.reference`; do not edit by hand.\n",
    ]
    for path, command in _walk(cli, ("ektp",)):
        context = click.Context(
            command,
            info_name=" ".join(path),
            terminal_width=100,
            max_content_width=100,
            help_option_names=["-h", "--help"],
        )
        parts.append(f"## `{' '.join(path)}`\n\n```text\n{command.get_help(context)}\n```\n")
    return "\n".join(parts)


def _walk(group: click.Command, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, group)]
    if isinstance(group, click.Group):
        for name in group.list_commands(click.Context(group)):
            found += _walk(group.commands[name], (*path, name))
    return found


if __name__ == "__main__":
    print(reference_markdown(), end="")
