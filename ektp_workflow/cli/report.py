"""``ektp report``: coverage, backlog and aging per kecamatan, as tables, JSON or a page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..i18n import _, ngettext
from .context import Settings, pass_settings
from .output import emit_json, emit_table, when, write_file
from .progress import stage

if TYPE_CHECKING:
    from .. import CoverageRow, StockBulletin

Command = TypeVar("Command", bound=Callable[..., Any])


@click.group("report")
def command() -> None:
    """Coverage, backlog and aging per kecamatan; an HTML page with charts.

    \b
    Example:
      ektp report coverage
      ektp report html report.html
    """


def _name(name: str) -> str:
    """A row's name as shown: the total row's in the language in use."""
    return _("total") if name == "total" else name


def _json_option(function: Command) -> Command:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(function)


@command.command("coverage")
@_json_option
@pass_settings
def coverage_command(settings: Settings, as_json: bool) -> None:
    """Per kecamatan: residents, wajib KTP, recorded %, and where the cards stand.

    Residents are the living ones (not deceased, not moved out); wajib KTP are
    those aged 17 or more today; recorded counts them once they were recorded.

    \b
    Example:
      ektp report coverage --json
    """
    rows = settings.workflow().reports.coverage()
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    print_coverage(rows)


def print_coverage(rows: list[CoverageRow]) -> None:
    """The coverage table: one row per kecamatan and a total."""
    emit_table(
        [
            _("kecamatan"),
            _("name"),
            _("residents"),
            _("wajib KTP"),
            _("recorded %"),
            _("in PRR"),
            _("waiting blank"),
            _("allocated"),
            _("printed"),
            _("collected"),
            _("exceptional"),
        ],
        [
            (
                r.kecamatan,
                _name(r.name),
                r.residents,
                r.wajib_ktp,
                f"{r.recorded_pct:.1f}",
                r.in_prr,
                r.waiting_for_blank,
                r.allocated,
                r.printed,
                r.collected,
                r.exceptional,
            )
            for r in rows
        ],
        right=tuple(range(2, 11)),
    )


@command.command("backlog")
@_json_option
@pass_settings
def backlog_command(settings: Settings, as_json: bool) -> None:
    """First-time and replacement applicants waiting, blanks in stock, days they cover.

    Days covered = (unreserved + reserved blanks) / cards printed per day over the
    last 30 days; the total row counts blanks still at the city too.

    \b
    Example:
      ektp report backlog
    """
    rows = settings.workflow().reports.backlog()
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    emit_table(
        [
            _("kecamatan"),
            _("name"),
            _("first-time wait"),
            _("replacement wait"),
            _("blanks"),
            _("reserved"),
            _("printed/day"),
            _("days covered"),
        ],
        [
            (
                r.kecamatan,
                _name(r.name),
                r.first_time_waiting,
                r.replacement_waiting,
                r.blanks_in_stock,
                r.reserved,
                f"{r.printed_per_day:.2f}",
                "-" if r.days_covered is None else f"{r.days_covered:.1f}",
            )
            for r in rows
        ],
        right=tuple(range(2, 8)),
    )


@command.command("replacements")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Count those made from this day (WIB) on.")
@_json_option
@pass_settings
def replacements_command(settings: Settings, since: Any, as_json: bool) -> None:
    """Replacements per kecamatan by why: lost, damaged, data_change.

    "waiting" counts the replacement applicants waiting for a blank now ("unknown":
    the resident held an e-KTP before being registered here, no reason recorded);
    "made" counts the replacements made, all or from --since on.

    \b
    Example:
      ektp report replacements --since 2026-01-01
    """
    rows = settings.workflow().reports.replacements(since.date() if since else None)
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    if not rows:
        click.echo(_("no replacements"))
        return
    kinds = ("lost", "damaged", "data_change")
    emit_table(
        [
            _("kecamatan"),
            _("name"),
            *(_("waiting {category}").format(category=k) for k in (*kinds, "unknown")),
            *(_("made {category}").format(category=k) for k in kinds),
        ],
        [
            (r.kecamatan, _name(r.name), *(r.waiting[k] for k in (*kinds, "unknown")), *(r.made[k] for k in kinds))
            for r in rows
        ],
        right=tuple(range(2, 9)),
    )


@command.command("aging")
@_json_option
@click.option("--over-six-months", is_flag=True, help="Only rows with cards waiting over six months.")
@pass_settings
def aging_command(settings: Settings, as_json: bool, over_six_months: bool) -> None:
    """How long cards have waited in each waiting state, per kecamatan.

    Time in a state counts from the card's last event. Rows with cards waiting
    more than six months are marked with !.

    \b
    Example:
      ektp report aging --over-six-months
    """
    from ..records import AGE_BUCKETS

    rows = [r for r in settings.workflow().reports.aging() if r.over_six_months or not over_six_months]
    ages = [_(label) for label, _upper in AGE_BUCKETS]  # marked where they are shown in the HTML report
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    emit_table(
        ["", _("kecamatan"), _("name"), _("state"), _("cards"), _("median days"), _("max days"), *ages],
        [
            (
                "!" if r.over_six_months else "",
                r.kecamatan,
                r.name,
                r.state,
                r.cards,
                f"{r.median_days:.0f}",
                r.max_days,
                *r.buckets,
            )
            for r in rows
        ],
        right=tuple(range(4, 11)),
    )


@command.command("html")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option("--title", help='The page\'s title (default "e-KTP report", in the language of --lang).')
@pass_settings
def html_command(settings: Settings, out: str, title: str | None) -> None:
    """Write the report for the head of office as one self-contained HTML page.

    Headline figures (coverage, cards waiting for a blank, blanks in stock and
    needed); coverage, backlog and aging by stage per kecamatan; the blanks
    received, distributed, consumed, spoiled, in stock and requested; monthly
    trends; the state diagram; and the checkpoint it was made from. In the
    language of --lang, times in the zone of --tz; opens in any browser without
    a network and prints on A4. The state diagram is drawn where Graphviz is
    installed, and given as Mermaid source otherwise.

    \b
    Example:
      ektp report html report.html --title "Kota Palembang, November 2026"
      ektp --lang id report html laporan.html
    """
    stage(_("drawing the report"), settings.quiet)
    page = settings.workflow().reports.html(title, settings.zone)
    click.echo(_("report written to {path}").format(path=write_file(out, page)))


@command.command("stock")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Also write the printable page (Indonesian).")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False), help="Also write the figures as CSV.")
@_json_option
@pass_settings
def stock_command(settings: Settings, html_out: str | None, csv_out: str | None, as_json: bool) -> None:
    """The public stock bulletin: blanks per kecamatan, reserved, printed today, who waits.

    Made from one snapshot of the history and stamped with its time and checkpoint
    (SEQ:HASH, which `ektp audit verify --against` checks), for the daily public
    announcement of stock. --html writes it as one printable page in Indonesian,
    --csv as CSV; both are written whole or not at all.

    \b
    Example:
      ektp report stock
      ektp report stock --html stok-blanko.html --csv stok-blanko.csv
    """
    reports = settings.workflow().reports
    bulletin = reports.stock()
    written = [
        write_file(path, render(bulletin))
        for path, render in ((html_out, reports.stock_page), (csv_out, reports.stock_csv))
        if path
    ]
    if as_json:
        emit_json(bulletin.as_dict())
    else:
        _print_stock(bulletin)
    for path in written:
        click.echo(_("written to {path}").format(path=path), err=True)


def _print_stock(bulletin: StockBulletin) -> None:
    rows = [
        (
            r.kecamatan,
            _name(r.name),
            r.in_stock,
            r.reserved,
            r.printed_today,
            r.first_time_waiting,
            r.replacement_waiting,
        )
        for r in bulletin.rows
    ]
    emit_table(
        [
            _("kecamatan"),
            _("name"),
            _("in stock"),
            _("reserved"),
            _("printed today"),
            _("first-time wait"),
            _("replacement wait"),
        ],
        rows,
        right=tuple(range(2, 7)),
    )
    seq, hash_ = bulletin.checkpoint
    still = ngettext(
        "{count:,} blank still at the city; made {when} from checkpoint {checkpoint}",
        "{count:,} blanks still at the city; made {when} from checkpoint {checkpoint}",
        bulletin.at_city,
    )
    click.echo("\n" + still.format(count=bulletin.at_city, when=when(bulletin.made_at), checkpoint=f"{seq}:{hash_}"))
