"""``ektp blanks``: the blank stock, from the shipment to the kecamatan."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import click

from ..regions import name_of
from .context import Settings, pass_settings
from .output import emit_json, emit_table

if TYPE_CHECKING:
    from .. import Distribution

_STATUSES = ("unallocated", "reserved", "consumed", "spoiled")


@click.group("blanks")
def command() -> None:
    """Receive, distribute, spoil and count blank cards (blanko).

    \b
    Example:
      ektp --actor gudang blanks receive 20000 --reference KEMENDAGRI-2017-10-16
      ektp --actor gudang blanks distribute KEMENDAGRI-2017-10-16 --dry-run
      ektp blanks status
    """


@command.command("receive")
@click.argument("count", type=click.IntRange(min=1))
@click.option("--reference", required=True, help="The shipment's reference (delivery note); used once.")
@click.option("--date", "received_on", type=click.DateTime(["%Y-%m-%d"]), help="Day received (default today).")
@pass_settings
def receive_command(settings: Settings, count: int, reference: str, received_on: dt.datetime | None) -> None:
    """Record COUNT blanks shipped to the city by Kemendagri.

    \b
    Example:
      ektp --actor gudang blanks receive 20000 --reference KEMENDAGRI-2017-10-16 --date 2017-10-16
    """
    day = received_on.date() if received_on else None
    settings.workflow().blanks.receive(reference, count, actor=settings.require_actor(), received_on=day)
    click.echo(f"received batch {reference}: {count:,} blanks, undistributed at the city")


@command.command("distribute")
@click.argument("reference")
@click.option("--dry-run", is_flag=True, help="Show the shares; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def distribute_command(settings: Settings, reference: str, dry_run: bool, as_json: bool) -> None:
    """Share batch REFERENCE between kecamatan by the active rule set's split rule.

    Each kecamatan gets at most its unmet queue (applicants waiting minus blanks
    already there); what no kecamatan needs stays at the city. Per kecamatan it shows
    whom the next allocation would then serve there (first-time and replacement
    applicants, in the active rules' order) and how long the last one served has
    waited, so that a split can be judged before it is made.

    \b
    Example:
      ektp --actor gudang blanks distribute KEMENDAGRI-2017-10-16 --dry-run
    """
    actor = settings.require_actor()
    plan = settings.workflow().blanks.distribute(reference, actor=actor, dry_run=dry_run)
    if as_json:
        emit_json({**dataclasses.asdict(plan), "dry_run": dry_run})
        return
    _print_distribution(plan, dry_run)


def _print_distribution(plan: Distribution, dry_run: bool) -> None:
    """The shares per kecamatan, whom each would serve, and what stays at the city."""
    demand = {d.kecamatan: d for d in plan.demand}
    headers = [
        "kecamatan",
        "name",
        "first-time",
        "replacement",
        "in stock",
        "share",
        "serves first-time",
        "serves replacement",
        "last served waited",
    ]
    rows = [
        (
            o.kecamatan,
            name_of(o.kecamatan),
            _waiting(demand, o.kecamatan, True),
            _waiting(demand, o.kecamatan, False),
            o.in_stock,
            o.share,
            o.first_time_served,
            o.replacement_served,
            "-" if o.last_served_waited_days is None else f"{o.last_served_waited_days:,} days",
        )
        for o in plan.outcomes
    ]
    emit_table(headers, rows, right=tuple(range(2, 9)))
    given = sum(plan.shares.values())
    verb = "would distribute" if dry_run else "distributed"
    click.echo(
        f"\n{plan.reference}: {verb} {given:,} of {plan.available:,} blanks by {plan.split_rule} "
        f"(rule set version {plan.rule_set_version}); {plan.available - given:,} stay at the city"
    )


def _waiting(demand: dict[str, Any], kecamatan: str, first_time: bool) -> int:
    found = demand.get(kecamatan)
    return 0 if found is None else found.first_time if first_time else found.replacement


@command.command("spoil")
@click.argument("kecamatan")
@click.argument("count", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="What happened (printer jam, misprint, ...).")
@pass_settings
def spoil_command(settings: Settings, kecamatan: str, count: int, reason: str) -> None:
    """Record COUNT unreserved blanks at KECAMATAN ruined in printing.

    \b
    Example:
      ektp --actor kec-05/printer blanks spoil 16.71.05 3 --reason "ribbon jam"
    """
    settings.workflow().blanks.spoil(kecamatan, count, actor=settings.require_actor(), reason=reason)
    click.echo(f"spoiled {count} blanks at {kecamatan}")


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def status_command(settings: Settings, as_json: bool) -> None:
    """Blanks per batch and per kecamatan, and whether the ledger balances.

    Exits 1 when conservation (received = undistributed + unallocated + reserved +
    consumed + spoiled) or the match with the ledger entries fails.

    \b
    Example:
      ektp blanks status --json
    """
    blanks = settings.workflow().blanks
    batches, lines, problems = blanks.batches(), blanks.stock(), blanks.problems()
    per_batch: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_STATUSES, 0))
    per_kecamatan: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_STATUSES, 0))
    for line in (s for s in lines if s.kecamatan is not None):
        for status in _STATUSES:
            per_batch[line.reference][status] += getattr(line, status)
            per_kecamatan[str(line.kecamatan)][status] += getattr(line, status)
    if as_json:
        emit_json(
            {
                "batches": [{**dataclasses.asdict(b), **per_batch[b.reference]} for b in batches],
                "kecamatan": [{"kecamatan": k, **v} for k, v in sorted(per_kecamatan.items())],
                "problems": problems,
            }
        )
    else:
        _print_status(batches, per_batch, per_kecamatan, problems)
    if problems:
        raise click.exceptions.Exit(1)


def _print_status(batches, per_batch, per_kecamatan, problems) -> None:  # type: ignore[no-untyped-def]
    emit_table(
        ["batch", "received on", "received", "undistributed", *_STATUSES],
        [
            (
                b.reference,
                b.received_on.isoformat(),
                b.received,
                b.undistributed,
                *(per_batch[b.reference][s] for s in _STATUSES),
            )
            for b in batches
        ],
        right=tuple(range(2, 8)),
    )
    click.echo("")
    emit_table(
        ["kecamatan", "name", *_STATUSES],
        [(k, name_of(k), *(v[s] for s in _STATUSES)) for k, v in sorted(per_kecamatan.items())],
        right=(2, 3, 4, 5),
    )
    click.echo("")
    if problems:
        click.echo("ledger does NOT balance:\n" + "\n".join(f"  {p}" for p in problems), err=True)
    else:
        click.echo("ledger balances: received = undistributed + unallocated + reserved + consumed + spoiled")
