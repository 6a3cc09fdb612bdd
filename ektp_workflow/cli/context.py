"""What every command shares: the database, the actor, and turning errors into exits.

Commands load the library when they run, not when the CLI starts: ``ektp --help``
loads click and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from .. import clock
from ..errors import CardNotFound, ConcurrencyError, SchemaError, TransitionNotAllowed, WorkflowError
from ..i18n import _

if TYPE_CHECKING:
    from .. import Workflow

#: Exit codes, documented in the README.
EXIT_ERROR = 1
EXIT_REFUSED = 3
EXIT_NOT_FOUND = 4
EXIT_SCHEMA = 5
EXIT_RETRY = 75  # EX_TEMPFAIL: try the same command again
#: Who a dry run without ``--actor`` is made as (nothing is written).
DRY_RUN_ACTOR = "dry-run"


@dataclass
class Settings:
    """The global options, handed to every command."""

    db_url: str
    actor: str | None
    quiet: bool = False
    #: The kabupaten/kota this office works for (``--region``), dotted, if given.
    region: str | None = None
    #: The zone times are shown in (``--tz``, ``--utc``, the region's, else WIB).
    zone: dt.tzinfo = clock.WIB
    _workflow: Workflow | None = field(default=None, repr=False)

    def workflow(self) -> Workflow:
        """The workflow on ``--db``, opened once per command (a missing SQLite file is
        refused, not created)."""
        if self._workflow is None:
            from .. import Workflow

            self._workflow = Workflow.open(self.db_url)
        return self._workflow

    def engine(self) -> Any:
        """A new engine on ``--db``, for the schema commands; the caller disposes of it."""
        from ..admin import create_engine

        return create_engine(self.db_url)

    def require_actor(self, dry_run: bool = False) -> str:
        """The ``--actor``; a change without one is refused before anything happens. A dry
        run writes nothing, so it needs none (it shows ``dry-run`` where an actor goes)."""
        if dry_run and (not self.actor or not self.actor.strip()):
            return DRY_RUN_ACTOR
        if not self.actor or not self.actor.strip():
            raise click.UsageError(
                _(
                    "this command changes data and needs an actor: pass --actor NAME (before the command) or set EKTP_ACTOR"
                )
            )
        return self.actor.strip()

    def close(self) -> None:
        if self._workflow is not None:
            self._workflow.close()


pass_settings = click.make_pass_decorator(Settings)


def stale(error: WorkflowError) -> bool:
    """A version the caller gave that the card is no longer at: running the same command
    again can never succeed; the card must be read again."""
    return isinstance(error, ConcurrencyError) and error.actual_version is not None


def exit_code_for(error: WorkflowError) -> int:
    """The exit code a library error ends the command with."""
    if stale(error):
        return EXIT_REFUSED
    if error.retryable:
        return EXIT_RETRY
    if isinstance(error, TransitionNotAllowed):
        return EXIT_REFUSED
    if isinstance(error, CardNotFound):
        return EXIT_NOT_FOUND
    if isinstance(error, SchemaError):
        return EXIT_SCHEMA
    return EXIT_ERROR


class ErrorHandlingGroup(click.Group):
    """The one place where library errors become messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        as_json = "--json" in ctx.args  # the arguments after the command's name
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            if not as_json:
                raise
            _json_failure(error.format_message(), "UsageError", error.exit_code)
            ctx.exit(error.exit_code)
        except WorkflowError as error:
            code = exit_code_for(error)
            if stale(error):
                assert isinstance(error, ConcurrencyError)
                message = _(
                    "card {nik} is at version {actual}, not {expected}: it changed since it was read; "
                    "read it again (ektp card show {nik}) and decide"
                ).format(nik=error.nik, actual=error.actual_version, expected=error.expected_version)
            elif error.retryable:
                message = _("{error} (retryable: run the command again)").format(error=error)
            else:
                message = str(error)
            if as_json:  # a program asked: the error as JSON too, on stderr
                _json_failure(message, type(error).__name__, code)
            else:
                click.echo(_("Error: {message}").format(message=message), err=True)
            ctx.exit(code)


def _json_failure(message: str, kind: str, code: int) -> None:
    """An error as a program that asked for ``--json`` reads it: one JSON object on stderr."""
    click.echo(json.dumps({"error": message, "kind": kind, "exit_code": code}, ensure_ascii=False), err=True)
