"""``ektp states``: the lifecycle, as a table or a diagram."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import click

from ..i18n import _, translated
from .output import emit_json, emit_table

if TYPE_CHECKING:
    from .. import Lifecycle

#: ``states.DIAGRAM_FORMATS``, written out so that starting the CLI does not load the
#: lifecycle's modules (a test holds the two equal).
FORMATS = ("mermaid", "dot", "svg")


@click.group("states")
def command() -> None:
    """Show the card lifecycle: states, triggers, guards, diagrams.

    \b
    Example:
      ektp states list
      ektp states diagram --format dot > lifecycle.dot
    """


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(as_json: bool) -> None:
    """List the states and the transitions between them.

    \b
    Example:
      ektp states list --json
    """
    from .. import default_lifecycle

    lifecycle = default_lifecycle()
    if as_json:
        emit_json(
            {
                "name": lifecycle.name,
                "hash": lifecycle.hash,
                "initial": lifecycle.initial,
                "states": [vars(s) for s in lifecycle.states.values()],
                "transitions": [
                    {**vars(t), "guards": list(t.guards), "effects": list(t.effects)} for t in lifecycle.transitions
                ],
            }
        )
        return
    title = _("{name} lifecycle {hash}, initial state {initial}")
    click.echo(
        title.format(name=translated(lifecycle.name), hash=lifecycle.hash[:12], initial=lifecycle.initial) + "\n"
    )
    emit_table(
        [_("state"), "SIAK", _("kind"), _("triggers out"), _("label")],
        [
            (
                s.name,
                s.siak,
                _kind(s.terminal, s.exceptional),
                ", ".join(lifecycle.triggers_from(s.name)) or "-",
                translated(s.label),
            )
            for s in lifecycle.states.values()
        ],
    )
    click.echo("")
    _transitions(lifecycle)


def _kind(terminal: bool, exceptional: bool) -> str:
    words = [w for w, on in ((_("exceptional"), exceptional), (_("terminal"), terminal)) if on]
    return ", ".join(words) or _("normal")


@command.command("diagram")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="mermaid", show_default=True)
@click.option("--output", "-o", type=click.File("w"), default="-", help="File to write (default stdout).")
def diagram_command(fmt: str, output: TextIO) -> None:
    """Draw the lifecycle as Mermaid or Graphviz dot source, or as SVG.

    SVG needs Graphviz's dot program installed; Mermaid and dot text need nothing.

    \b
    Example:
      ektp states diagram --format mermaid
      ektp states diagram --format svg -o lifecycle.svg
    """
    from .. import default_lifecycle
    from ..states import diagram

    output.write(diagram(default_lifecycle(), fmt) + "\n")


def _transitions(lifecycle: Lifecycle) -> None:
    """The transitions as a table: what each trigger does from each state."""
    emit_table(
        [_("trigger"), _("from"), _("to"), _("guards"), _("effects"), _("queue")],
        [
            (
                t.trigger,
                t.source,
                t.dest,
                ", ".join(t.guards),
                ", ".join(t.effects),
                _("keeps place") if t.keeps_place else "",
            )
            for t in lifecycle.transitions
        ],
    )
