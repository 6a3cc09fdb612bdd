"""``ektp blanks``: the blank stock, from the shipment to the kecamatan."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import sys
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from ..i18n import _, ngettext
from ..regions import name_of
from . import complete
from .blank_tables import STATUSES, print_balance, print_distribution, print_loans, print_quotas, print_stock
from .context import Settings, pass_settings
from .output import csv_time, emit_json, emit_table, spreadsheet_safe, when
from .requests import request_command, requests_command

if TYPE_CHECKING:
    from .. import Spoiled


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
@click.argument("count", type=click.IntRange(1, 100_000_000))
@click.option("--reference", required=True, help="The shipment's reference (delivery note); used once.")
@click.option("--date", "received_on", type=click.DateTime(["%Y-%m-%d"]), help="Day received (default today).")
@click.option("--request", "request", metavar="REF", help="The request to the centre this shipment answers.")
@pass_settings
def receive_command(
    settings: Settings, count: int, reference: str, received_on: dt.datetime | None, request: str | None
) -> None:
    """Record COUNT blanks shipped to the city by Kemendagri.

    \b
    Example:
      ektp --actor gudang blanks receive 20000 --reference KEMENDAGRI-2017-10-16 --date 2017-10-16
      ektp --actor gudang blanks receive 5000 --reference SJ-0042 --request 470/512/Disdukcapil/2026
    """
    day = received_on.date() if received_on else None
    actor = settings.require_actor()
    settings.workflow().blanks.receive(reference, count, actor=actor, received_on=day, request=request)
    answers = _(", answering request {request}").format(request=request.strip()) if request else ""
    received = ngettext(
        "received batch {reference}: {count:,} blank, undistributed at the city",
        "received batch {reference}: {count:,} blanks, undistributed at the city",
        count,
    )
    click.echo(received.format(reference=reference.strip(), count=count) + answers)


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
    actor = settings.require_actor(dry_run)
    plan = settings.workflow().blanks.distribute(reference, actor=actor, dry_run=dry_run)
    if as_json:
        emit_json({**dataclasses.asdict(plan), "dry_run": dry_run})
        return
    print_distribution(plan, dry_run)


@command.command("spoil")
@click.argument("kecamatan", shell_complete=complete.kecamatan)
@click.argument("count", type=click.IntRange(1, 100_000_000))
@click.option("--reason", required=True, help="What happened (printer jam, misprint, ...).")
@pass_settings
def spoil_command(settings: Settings, kecamatan: str, count: int, reason: str) -> None:
    """Record COUNT unreserved blanks at KECAMATAN ruined in printing.

    A blank spoiled printing a given card (reserved for it, or already printed on)
    is recorded with `ektp card reprint NIK`, which also gives the card another one.

    \b
    Example:
      ektp --actor kec-05/printer blanks spoil 16.71.05 3 --reason "ribbon jam"
    """
    settings.workflow().blanks.spoil(kecamatan, count, actor=settings.require_actor(), reason=reason)
    spoiled = ngettext("spoiled {count} blank at {kecamatan}", "spoiled {count} blanks at {kecamatan}", count)
    click.echo(spoiled.format(count=count, kecamatan=kecamatan))


@command.command("spoilage")
@click.option("--kecamatan", shell_complete=complete.kecamatan, help="At this kecamatan only (16.71.05).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this day (WIB) on.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (for a spreadsheet).")
@pass_settings
def spoilage_command(
    settings: Settings, kecamatan: str | None, since: dt.datetime | None, as_json: bool, as_csv: bool
) -> None:
    """Blanks spoiled in printing, entry by entry, each with the card it was for.

    "misprinted": the blank reserved for the card was ruined; "voided": the card had
    been printed on it and the print is void; "spoiled": unreserved blanks, no card.

    \b
    Example:
      ektp blanks spoilage --kecamatan 16.71.05 --since 2026-11-01
      ektp blanks spoilage --csv > rusak.csv
    """
    if as_json and as_csv:
        raise click.UsageError(_("choose one of --json and --csv"))
    found = settings.workflow().blanks.spoilage(kecamatan=kecamatan, since=since.date() if since else None)
    if as_json:
        emit_json([s.as_dict() for s in found])
        return
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(_SPOILAGE_COLUMNS)
        writer.writerows([tuple(spreadsheet_safe(str(v)) for v in row) for row in _spoilage_rows(found, csv_time)])
        return
    if not found:
        click.echo(_("no blanks spoiled"))
        return
    headers = (_("when"), _("kecamatan"), _("batch"), _("blanks"), _("how"), _("card"), _("actor"), _("reason"))
    emit_table(headers, _spoilage_rows(found, when), right=(3,))
    total, with_card = sum(s.quantity for s in found), sum(s.quantity for s in found if s.nik)
    summary = ngettext(
        "{total:,} blank spoiled, {with_card:,} of them against a card",
        "{total:,} blanks spoiled, {with_card:,} of them against a card",
        total,
    )
    click.echo(summary.format(total=total, with_card=with_card))


#: The columns of ``blanks spoilage --csv`` (a machine format: English).
_SPOILAGE_COLUMNS = ("when", "kecamatan", "batch", "blanks", "how", "card", "actor", "reason")


def _spoilage_rows(found: list[Spoiled], at: Callable[[dt.datetime], str]) -> list[tuple[object, ...]]:
    """The rows of ``blanks spoilage``, each time shown by ``at``."""
    return [
        (at(s.occurred_at), s.kecamatan, s.reference, s.quantity, s.movement, s.nik or "", s.actor, s.reason or "")
        for s in found
    ]


@command.command("lend")
@click.argument("count", type=click.IntRange(1, 100_000_000))
@click.option("--to", "to", required=True, metavar="CODE", help="The kabupaten/kota borrowing them (16.07).")
@click.option("--reference", required=True, help="The loan's document (letter, receipt).")
@click.option("--reason", help="Why, in a few words.")
@pass_settings
def lend_command(settings: Settings, count: int, to: str, reference: str, reason: str | None) -> None:
    """Lend COUNT blanks still at the city to another kabupaten/kota.

    They leave the oldest batches first; each batch's share is a 'lent' entry naming
    the borrower and the document, and conservation counts it.

    \b
    Example:
      ektp --actor gudang blanks lend 500 --to 16.07 --reference "470/123/Disdukcapil/2026"
    """
    blanks = settings.workflow().blanks
    blanks.lend(count, to=to, reference=reference, actor=settings.require_actor(), reason=reason)
    lent = ngettext(
        "lent {count:,} blank to {region} ({reference})", "lent {count:,} blanks to {region} ({reference})", count
    )
    click.echo(lent.format(count=count, region=_region(to), reference=reference.strip()))


@command.command("borrow")
@click.argument("count", type=click.IntRange(1, 100_000_000))
@click.option("--from", "lender", required=True, metavar="CODE", help="The kabupaten/kota lending them (16.07).")
@click.option("--reference", required=True, help="The lender's document; it becomes the batch's reference.")
@click.option("--date", "received_on", type=click.DateTime(["%Y-%m-%d"]), help="Day received (default today).")
@click.option("--reason", help="Why, in a few words.")
@pass_settings
def borrow_command(
    settings: Settings, count: int, lender: str, reference: str, received_on: dt.datetime | None, reason: str | None
) -> None:
    """Record COUNT blanks lent to the city by another kabupaten/kota, as a batch.

    \b
    Example:
      ektp --actor gudang blanks borrow 300 --from 16.07 --reference "470/88/Disdukcapil-OKI/2026"
    """
    day = received_on.date() if received_on else None
    actor = settings.require_actor()
    settings.workflow().blanks.borrow(
        count, lender=lender, reference=reference, actor=actor, received_on=day, reason=reason
    )
    borrowed = ngettext(
        "borrowed batch {reference}: {count:,} blank from {region}, undistributed at the city",
        "borrowed batch {reference}: {count:,} blanks from {region}, undistributed at the city",
        count,
    )
    click.echo(borrowed.format(reference=reference.strip(), count=count, region=_region(lender)))


def _region(code: str) -> str:
    from ..regions import kabupaten_kota_of

    normal = kabupaten_kota_of(code)
    return f"{normal} {name_of(normal)}"


@command.command("quota")
@click.argument("month")
@click.argument("count", type=click.IntRange(0, 100_000_000))
@click.option("--reference", required=True, help="The circular or letter that sets it.")
@pass_settings
def quota_command(settings: Settings, month: str, count: int, reference: str) -> None:
    """Record the centre's quota of COUNT blanks for MONTH (YYYY-MM).

    A later quota for the same month replaces it; both stay in the history. `blanks
    status` shows each month's quota beside the blanks used (printed or spoiled) and
    flags use beyond it.

    \b
    Example:
      ektp --actor kabid blanks quota 2026-12 500 --reference "SE 471.13/6153/Dukcapil"
    """
    settings.workflow().blanks.set_quota(month, count, reference=reference, actor=settings.require_actor())
    quota = ngettext(
        "quota for {month}: {count:,} blank ({reference})", "quota for {month}: {count:,} blanks ({reference})", count
    )
    click.echo(quota.format(month=month, count=count, reference=reference))


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def status_command(settings: Settings, as_json: bool) -> None:
    """Blanks per batch and per kecamatan, the monthly quotas, and whether the ledger balances.

    A batch borrowed from another kabupaten/kota names its lender; blanks lent on
    count in 'lent'. A month whose use (printed or spoiled) went beyond the centre's
    quota is marked with !. Exits 1 when conservation (received = undistributed +
    unallocated + reserved + consumed + spoiled + lent) or the match with the ledger
    entries fails.

    \b
    Example:
      ektp blanks status --json
    """
    blanks = settings.workflow().blanks
    batches, lines, problems = blanks.batches(), blanks.stock(), blanks.problems()
    quotas, loans = blanks.quotas(), blanks.loans()
    per_batch: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    per_kecamatan: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    for line in (s for s in lines if s.kecamatan is not None):
        for status in STATUSES:
            per_batch[line.reference][status] += getattr(line, status)
            per_kecamatan[str(line.kecamatan)][status] += getattr(line, status)
    if as_json:
        emit_json(
            {
                "batches": [{**dataclasses.asdict(b), **per_batch[b.reference]} for b in batches],
                "kecamatan": [{"kecamatan": k, **v} for k, v in sorted(per_kecamatan.items())],
                "quotas": [{**dataclasses.asdict(q), "over": q.over} for q in quotas],
                "loans": [
                    {
                        **dataclasses.asdict(loan),
                        "occurred_at": loan.occurred_at.isoformat(),
                        "day": loan.day.isoformat(),
                    }
                    for loan in loans
                ],
                "problems": problems,
            }
        )
    else:
        print_stock(batches, per_batch, per_kecamatan)
        print_quotas(quotas)
        print_loans(loans)
        print_balance(problems)
    if problems:
        raise click.exceptions.Exit(1)


command.add_command(request_command)
command.add_command(requests_command)
