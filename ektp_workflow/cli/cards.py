"""``ektp cards``: find and list cards, a page at a time."""

from __future__ import annotations

import csv
import sys

import click

from ..i18n import _, ngettext
from ..records import CardPage
from . import complete
from .context import Settings, pass_settings
from .output import csv_time, emit_json, emit_table, spreadsheet_safe, when

_ORDERS = ("nik", "waiting", "queue")
#: The columns of ``cards list --csv`` (a machine format: English).
_COLUMNS = ("nik", "name", "kecamatan", "state", "applicant", "since")


@click.group("cards")
def command() -> None:
    """Find and list cards: by state, kecamatan, name or NIK.

    \b
    Example:
      ektp cards list --state prr --kecamatan 16.71.05
      ektp cards list --name "siti nur"
    """


@command.command("list")
@click.option(
    "--state",
    "states",
    multiple=True,
    metavar="STATE",
    shell_complete=complete.states,
    help="In this state (repeat for several).",
)
@click.option(
    "--kecamatan", metavar="CODE", shell_complete=complete.kecamatan, help="In this current kecamatan, e.g. 16.71.05."
)
@click.option("--first-time", is_flag=True, help="First-time applicants only.")
@click.option("--replacement", is_flag=True, help="Replacements only (the resident held an e-KTP).")
@click.option(
    "--waiting-longer-than", type=click.IntRange(0, 100_000), metavar="DAYS", help="In their state for over DAYS days."
)
@click.option("--name", metavar="TEXT", help="Whose name holds TEXT (case, accents and extra spaces ignored).")
@click.option("--nik", "nik_prefix", metavar="PREFIX", help="Whose NIK starts with PREFIX (1 to 16 digits).")
@click.option(
    "--order",
    type=click.Choice(_ORDERS),
    default="nik",
    show_default=True,
    help="By NIK; by time in their state, longest first; or by place in the queue for a blank.",
)
@click.option("--after", metavar="CURSOR", help="Start after this cursor (the 'next' a page printed).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="Cards in a page.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the cards and the next cursor.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header line (the cursor goes to stderr).")
@pass_settings
def list_command(
    settings: Settings,
    states: tuple[str, ...],
    kecamatan: str | None,
    first_time: bool,
    replacement: bool,
    waiting_longer_than: int | None,
    name: str | None,
    nik_prefix: str | None,
    order: str,
    after: str | None,
    limit: int,
    as_json: bool,
    as_csv: bool,
) -> None:
    """List the cards that match every option given, a page at a time.

    A page ends with the cursor of the next one; pass it to --after. Paging is by
    keyset: cards that change between two pages make no other card repeat or go
    missing (one that changed shows where it now belongs). "since" is when the
    card's last event happened (its time in its state); --order queue lists only the
    cards waiting for a blank, kecamatan by kecamatan, in the order the active rules
    would give them one, and refuses a next page whose last card has moved in it.

    \b
    Example:
      ektp cards list --state prr --waiting-longer-than 30 --order waiting
      ektp cards list --kecamatan 16.71.05 --first-time --order queue --limit 20
      ektp cards list --name "siti nur" --json
      ektp cards list --state printed --csv > belum-diambil.csv
    """
    if as_json and as_csv:
        raise click.UsageError(_("choose one of --json and --csv"))
    if first_time and replacement:
        raise click.UsageError(_("choose one of --first-time and --replacement"))
    page = settings.workflow().list_cards(
        states=states,
        kecamatan=kecamatan,
        replacement=True if replacement else False if first_time else None,
        waiting_longer_than=waiting_longer_than,
        name=name,
        nik_prefix=nik_prefix,
        order=order,
        after=after,
        limit=limit,
    )
    _emit(page, "json" if as_json else "csv" if as_csv else "table")


def _emit(page: CardPage, form: str) -> None:
    """Print a page as a table (with the next cursor or the count), JSON or CSV."""
    if form == "json":
        emit_json(page.as_dict())
        return
    if form == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(_COLUMNS)
        rows = [
            (c.nik, c.name, c.kecamatan, c.state, "replacement" if c.had_ektp else "first-time", csv_time(c.updated_at))
            for c in page.cards
        ]
        writer.writerows([tuple(map(spreadsheet_safe, row)) for row in rows])
        if page.next is not None:
            click.echo(_("next: --after {cursor}").format(cursor=page.next), err=True)
        return
    if not page.cards:
        click.echo(_("no cards match"))
        return
    headers = (_("nik"), _("name"), _("kecamatan"), _("state"), _("applicant"), _("since"))
    emit_table(
        headers,
        [
            (
                c.nik,
                c.name,
                c.kecamatan,
                c.state,
                _("replacement") if c.had_ektp else _("first-time"),
                when(c.updated_at),
            )
            for c in page.cards
        ],
    )
    if page.next is not None:
        click.echo(_("next: --after {cursor}").format(cursor=page.next))
    else:
        count = len(page.cards)
        click.echo(
            ngettext("{count:,} card, the last page", "{count:,} cards, the last page", count).format(count=count)
        )
