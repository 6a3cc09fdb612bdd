"""What every command shares: the database, the actor, and turning errors into exits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pathlib import Path

import click
import sqlalchemy as sa

from ..database import create_engine
from ..errors import (
    CardNotFound,
    SchemaError,
    TransitionNotAllowed,
    WorkflowError,
)
from ..workflow import Workflow

#: Exit codes, documented in the README.
EXIT_ERROR = 1
EXIT_REFUSED = 3
EXIT_NOT_FOUND = 4
EXIT_SCHEMA = 5
EXIT_RETRY = 75  # EX_TEMPFAIL: try the same command again


@dataclass
class Settings:
    """The global options, handed to every command."""

    db_url: str
    actor: str | None
    quiet: bool = False
    _workflow: Workflow | None = field(default=None, repr=False)

    def workflow(self) -> Workflow:
        """The workflow on ``--db``, opened once per command."""
        if self._workflow is None:
            _refuse_missing_sqlite_file(self.db_url)
            self._workflow = Workflow.open(self.db_url)
        return self._workflow

    def engine(self) -> Any:
        return create_engine(self.db_url)

    def require_actor(self) -> str:
        """The ``--actor``; a change without one is refused before anything happens."""
        if not self.actor or not self.actor.strip():
            raise click.UsageError(
                "this command changes data and needs an actor: pass --actor NAME "
                "(before the command) or set EKTP_ACTOR"
            )
        return self.actor.strip()

    def close(self) -> None:
        if self._workflow is not None:
            self._workflow.close()


pass_settings = click.make_pass_decorator(Settings)


def _refuse_missing_sqlite_file(url: str) -> None:
    # Opening a missing SQLite file would create an empty one as a side effect.
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).exists():
            raise SchemaError(f"no database file {parsed.database}; create it with `ektp db upgrade`")


def exit_code_for(error: WorkflowError) -> int:
    """The exit code a library error ends the command with."""
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
        try:
            return super().invoke(ctx)
        except WorkflowError as error:
            hint = " (retryable: run the command again)" if error.retryable else ""
            click.echo(f"Error: {error}{hint}", err=True)
            ctx.exit(exit_code_for(error))
