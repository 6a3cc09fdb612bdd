"""``ektp bulk`` and ``ektp central``: many cards at once, resumable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..i18n import _, ngettext
from ..regions import kecamatan_of
from . import complete
from .context import Settings, pass_settings
from .output import emit_json
from .progress import progress, rows_in

if TYPE_CHECKING:
    from .. import BulkResult


@click.group("bulk")
def command() -> None:
    """Fire a trigger on many cards at once, chunk by chunk, resumable.

    \b
    Example:
      ektp --actor kec-05/op bulk fire submit --where-state recorded --kecamatan 16.71.05
    """


@command.command("fire")
@click.argument("trigger", shell_complete=complete.triggers)
@click.option("--where-state", metavar="STATE", shell_complete=complete.states, help="Every card in this state ...")
@click.option("--kecamatan", metavar="CODE", shell_complete=complete.kecamatan, help="... in this kecamatan only ...")
@click.option("--limit", type=click.IntRange(1, 100_000_000), help="... at most this many.")
@click.option(
    "--file",
    "niks_file",
    type=click.Path(dir_okay=False),
    help="Or the cards in this CSV (a nik column, optional reason).",
)
@click.option("--reason", help="Recorded on every event (a file's reason column wins).")
@click.option("--dry-run", is_flag=True, help="Count what would move; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_settings
def fire_command(
    settings: Settings,
    trigger: str,
    where_state: str | None,
    kecamatan: str | None,
    limit: int | None,
    niks_file: str | None,
    reason: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Fire TRIGGER on every card selected, one transaction per chunk.

    Select with --where-state (and --kecamatan, --limit) or with --file. Guards and
    effects apply as for a single card; refused cards are skipped and listed. After
    a crash or Ctrl-C, run the same command again: it resumes, moving no card twice.

    \b
    Example:
      ektp --actor kec-05/op bulk fire submit --where-state recorded --kecamatan 16.71.05
      ektp --actor dinas bulk fire die --file deaths-2026-11.csv --reason "laporan kematian"
    """
    actor = settings.require_actor(dry_run)
    if (where_state is None) == (niks_file is None):
        raise click.UsageError(_("say which cards: --where-state STATE or --file NIKS.csv (one of them)"))
    if niks_file is not None and (kecamatan or limit):
        raise click.UsageError(_("--kecamatan and --limit go with --where-state, not with --file"))

    def total() -> int | None:
        if niks_file is not None:
            return rows_in(niks_file)
        assert where_state is not None
        return _cards_in(settings, where_state, kecamatan, limit)

    with progress(f"{trigger}", settings.quiet, total=total) as advance:
        result = settings.workflow().bulk_fire(
            trigger,
            actor=actor,
            where_state=where_state,
            kecamatan=kecamatan,
            limit=limit,
            niks_file=niks_file,
            reason=reason,
            dry_run=dry_run,
            progress=advance,
        )
    report(result, as_json)


def _cards_in(settings: Settings, state: str, kecamatan: str | None, limit: int | None) -> int:
    """How many cards a bulk job over a state would move at most, for its progress bar."""
    counts = settings.workflow().counts()
    code = kecamatan_of(kecamatan).code if kecamatan else None
    found = sum(by_state.get(state, 0) for k, by_state in counts.items() if code is None or k == code)
    return found if limit is None else min(limit, found)


def report(result: BulkResult, as_json: bool) -> None:
    """Print what a bulk job did: moved per trigger, done before, skipped with examples."""
    if as_json:
        emit_json(
            {
                "job_id": result.job_id,
                "dry_run": result.dry_run,
                "resumed": result.resumed,
                "applied": dict(result.applied),
                "done_before": result.done_before,
                "skipped": result.skipped,
                "examples": [{"nik": nik, "reason": why} for nik, why in result.examples],
            }
        )
        return
    by = _("{count:,} by {trigger}")
    moved = ", ".join(by.format(count=n, trigger=t) for t, n in sorted(result.applied.items())) or _("no card")
    job = _("job {job}: would move {moved}") if result.dry_run else _("job {job}: moved {moved}")
    click.echo(job.format(job=result.job_id, moved=moved))
    if result.done_before:
        click.echo(
            ngettext(
                "{count:,} was already done by this job earlier (resumed, not moved again)",
                "{count:,} were already done by this job earlier (resumed, not moved again)",
                result.done_before,
            ).format(count=result.done_before)
        )
    if result.skipped:
        click.echo(_("{count:,} skipped, for example:").format(count=result.skipped))
        for nik, why in result.examples[:10]:
            click.echo(f"  {nik}: {why}")


@click.group("central")
def central_command() -> None:
    """Results from the centre's de-duplication (penunggalan).

    \b
    Example:
      ektp --actor siak-sync central import hasil-penunggalan-2026-11-28.csv
    """


@central_command.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check and count; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_settings
def central_import_command(settings: Settings, file: str, dry_run: bool, as_json: bool) -> None:
    """Apply a results file nik,result[,reference] to cards waiting in prr.

    result is single, duplicate or enroll_failure (confirm_single, flag_duplicate,
    reject_enrollment). A file with a bad line is refused whole. Rows for cards not
    in prr are reported, not applied. Importing the same file again applies nothing
    twice; after an interruption it finishes the job.

    \b
    Example:
      ektp --actor siak-sync central import hasil-penunggalan-2026-11-28.csv --dry-run
    """
    actor = settings.require_actor(dry_run)
    with progress(_("applying {file}").format(file=file), settings.quiet, total=lambda: rows_in(file)) as advance:
        result = settings.workflow().import_central_results(file, actor=actor, dry_run=dry_run, progress=advance)
    report(result, as_json)
