"""Tab completion of the values a command takes: triggers, states and kecamatan codes.

Click completes commands and options itself (``_EKTP_COMPLETE=bash_source ektp``);
these give it the values: the shipped lifecycle's triggers and states, and the
official kecamatan codes with their names.
"""

from __future__ import annotations

from click import Context, Parameter
from click.shell_completion import CompletionItem

from ..i18n import translated


def triggers(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """The lifecycle's triggers that start with what is typed, with what each does."""
    from .. import default_lifecycle

    lifecycle = default_lifecycle()
    helps = {t.trigger: translated(t.help) for t in lifecycle.transitions}
    return [CompletionItem(t, help=helps[t]) for t in lifecycle.triggers if t.startswith(incomplete)]


def states(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """The lifecycle's states that start with what is typed, with their labels."""
    from .. import default_lifecycle

    found = default_lifecycle().states.values()
    return [CompletionItem(s.name, help=translated(s.label)) for s in found if s.name.startswith(incomplete)]


def kecamatan(ctx: Context, param: Parameter, incomplete: str) -> list[CompletionItem]:
    """Official kecamatan codes (dotted) that start with what is typed, with their names;
    six digits typed without dots complete too."""
    from ..regions import kecamatan_starting

    typed = incomplete.strip()
    if typed.isdigit():  # 1671 -> 16.71, 16710 -> 16.71.0
        typed = ".".join(typed[i : i + 2] for i in range(0, len(typed), 2))
    return [CompletionItem(r.code, help=r.name) for r in kecamatan_starting(typed)]
