"""``ektp allocate``: reserve blanks for the queue, in the order the rules give."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..i18n import _, ngettext, translated
from ..regions import name_of
from . import complete
from .context import Settings, pass_settings
from .output import emit_json, emit_table
from .progress import progress

if TYPE_CHECKING:
    from .. import AllocationPlan


@click.command("allocate")
@click.option(
    "--kecamatan", metavar="CODE", shell_complete=complete.kecamatan, help="Only this kecamatan (16.71.05 or 167105)."
)
@click.option("--dry-run", is_flag=True, help="Show the plan; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON, with the NIKs chosen.")
@pass_settings
def command(settings: Settings, kecamatan: str | None, dry_run: bool, as_json: bool) -> None:
    """Reserve each kecamatan's unreserved blanks for cards waiting in deduplicated.

    The active rule set orders each kecamatan's queue (`ektp rules show`); ties are
    broken by waiting time, then NIK, so the same queue, stock and rules always give
    the same plan. Each chosen card gets one `allocate` event recording the rule-set
    version and the run id. The plan is recorded first; the chosen cards then get
    their blanks chunk by chunk, so other desks wait a moment at most. A chosen card
    that left the queue meanwhile is skipped and listed. After a crash or Ctrl-C, run
    it again: it finishes the interrupted run first, giving no card two blanks.

    \b
    Example:
      ektp --actor dinas/kabid allocate --dry-run
      ektp --actor dinas/kabid allocate --kecamatan 16.71.05
    """
    actor = settings.require_actor(dry_run)
    workflow = settings.workflow()
    with progress(_("allocating"), settings.quiet or dry_run) as advance:
        plan = workflow.allocate(actor=actor, kecamatan=kecamatan, dry_run=dry_run, progress=advance)
    if as_json:
        emit_json(plan_json(plan, dry_run))
        return
    active = workflow.rules.get(plan.rule_set_version).rule_set
    rules = _("rule set version {version} ({name}): {rules}")
    click.echo(
        rules.format(version=plan.rule_set_version, name=translated(active.name), rules=active.describe()) + "\n"
    )
    print_plan(plan)
    reserved = len(plan.chosen()) - plan.skipped_count
    if plan.resumed:
        click.echo(_("finished run {run}, interrupted before").format(run=plan.run_id))
    if dry_run:
        done = ngettext(
            "dry run: would reserve {count:,} blank; nothing written",
            "dry run: would reserve {count:,} blanks; nothing written",
            reserved,
        )
    else:
        done = ngettext("reserved {count:,} blank (run {run})", "reserved {count:,} blanks (run {run})", reserved)
    click.echo("\n" + done.format(count=reserved, run=plan.run_id))
    for nik, why in plan.skipped:
        click.echo("  " + _("{nik}: skipped, {why}").format(nik=nik, why=why))


def print_plan(plan: AllocationPlan) -> None:
    """The per-kecamatan table: blanks, who gets one, who waits."""
    rows: list[tuple[Any, ...]] = []
    for k in plan.kecamatan:
        rows.append(
            (
                k.kecamatan,
                name_of(k.kecamatan),
                k.blanks,
                k.served(True),
                k.served(False),
                k.left_waiting(True),
                k.left_waiting(False),
            )
        )
    totals = [sum(r[i] for r in rows) for i in range(2, 7)]
    rows.append(("", _("total"), *totals))
    emit_table(
        [
            _("kecamatan"),
            _("name"),
            _("blanks"),
            _("first-time get"),
            _("replacement get"),
            _("first-time wait"),
            _("replacement wait"),
        ],
        rows,
        right=(2, 3, 4, 5, 6),
    )


def plan_json(plan: AllocationPlan, dry_run: bool) -> dict[str, object]:
    return {
        "dry_run": dry_run,
        "run_id": plan.run_id,
        "rule_set_version": plan.rule_set_version,
        "rule_set_hash": plan.rule_set_hash,
        "day": plan.day.isoformat(),
        "kecamatan": [{**k.summary(), "chosen": [a.nik for a in k.chosen]} for k in plan.kecamatan],
        "skipped": plan.skipped_count,
        "skipped_examples": [{"nik": nik, "reason": why} for nik, why in plan.skipped],
        "resumed": plan.resumed,
    }
