"""``ektp blanks request`` and ``ektp blanks requests``: asking the centre for blanks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..i18n import _, ngettext
from .context import Settings, pass_settings
from .output import emit_json, emit_table, write_file

if TYPE_CHECKING:
    from .. import Blanks, RequestStatus, StockRequest

_html_option = click.option(
    "--html", "html_out", type=click.Path(dir_okay=False), help="Also write the letter (Indonesian, printable)."
)
_csv_option = click.option("--csv", "csv_out", type=click.Path(dir_okay=False), help="Also write its figures as CSV.")


@click.command("request")
@click.option("--months", type=click.IntRange(1, 24), default=3, show_default=True, help="Months of need to cover.")
@click.option("--reference", default="", help="The request letter's number; required unless --dry-run.")
@click.option("--dry-run", is_flag=True, help="Compute and show the request; record nothing.")
@_html_option
@_csv_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def request_command(
    settings: Settings,
    months: int,
    reference: str,
    dry_run: bool,
    html_out: str | None,
    csv_out: str | None,
    as_json: bool,
) -> None:
    """Compute what to ask the centre for, record the request and write its letter.

    The need covers MONTHS of 30 days: everyone waiting for a blank, plus the cards
    expected to leave PRR for printing (at the rate measured over the last 90 days),
    made larger by the spoilage rate the ledger shows; the blanks on hand and those
    asked for earlier and not yet received are subtracted. The request is chained
    with every figure; `blanks receive --request` links the batch that answers it.

    \b
    Example:
      ektp --actor kabid blanks request --months 3 --dry-run
      ektp --actor kabid blanks request --months 3 --reference 470/512/Disdukcapil/2026 --html permohonan.html
    """
    if not dry_run and not reference.strip():
        raise click.UsageError(_("give the request letter's number with --reference, or compute only with --dry-run"))
    blanks = settings.workflow().blanks
    made = blanks.request(months, reference=reference, actor=settings.require_actor(dry_run), dry_run=dry_run)
    if as_json:
        emit_json({**made.as_dict(), "dry_run": dry_run})
    else:
        _print_request(made, dry_run)
    try:
        _write(blanks, made, html_out, csv_out)
    except click.FileError as err:
        if dry_run:
            raise
        again = _("the request is recorded: write it again with ektp blanks requests {reference} --html FILE")
        raise click.FileError(err.filename, hint=f"{err.message}; {again.format(reference=made.reference)}") from err


def _write(blanks: Blanks, made: StockRequest, html_out: str | None, csv_out: str | None) -> None:
    for path, render in ((html_out, blanks.request_page), (csv_out, blanks.request_csv)):
        if path:
            click.echo(_("written to {path}").format(path=write_file(path, render(made))), err=True)


def _print_request(made: StockRequest, dry_run: bool) -> None:
    """The computation, line by line, as the letter gives it (in the language in use)."""
    emit_table(["", _("line"), _("blanks"), _("how")], _request_lines(made), right=(0, 2))
    months = ngettext("{months} month", "{months} months", made.months).format(months=made.months)
    if dry_run:
        asks = ngettext(
            "would ask the centre for {quantity:,} blank for {months}",
            "would ask the centre for {quantity:,} blanks for {months}",
            made.quantity,
        )
    else:
        asks = ngettext(
            "request {reference}: asks the centre for {quantity:,} blank for {months}",
            "request {reference}: asks the centre for {quantity:,} blanks for {months}",
            made.quantity,
        )
    click.echo("\n" + asks.format(reference=made.reference, quantity=made.quantity, months=months))
    if not dry_run:
        click.echo(_("checkpoint {seq}:{hash}").format(seq=made.checkpoint[0], hash=made.checkpoint[1]))


def _request_lines(made: StockRequest) -> list[tuple[int, str, int, str]]:
    """The twelve lines of the computation: number, what, blanks, how it is reckoned."""
    to_print = made.waiting_first_time + made.waiting_replacement + made.expected_from_prr
    spoilage = _("spoiled / used = {rate:.1%}").format(rate=made.spoilage_rate)
    if made.consumed:
        needed = _("(6) x ((7) + (8)) / (7), rounded up")
    else:
        needed = _("(6): no printing yet to measure spoilage")
    rate = _("(4) / {window} days x 30 days x {months} months, rounded up, at most (3)").format(
        window=made.window_days, months=made.months
    )
    return [
        (1, _("waiting: first-time applicants"), made.waiting_first_time, ""),
        (2, _("waiting: replacements"), made.waiting_replacement, ""),
        (3, _("cards in PRR (waiting for the centre)"), made.in_prr, ""),
        (4, _("left PRR for printing in the last {days} days").format(days=made.window_days), made.left_prr, ""),
        (5, _expected(made.months), made.expected_from_prr, rate),
        (6, _("cards to print"), to_print, "(1) + (2) + (5)"),
        (7, _("blanks consumed by printing (ledger)"), made.consumed, ""),
        (8, _("blanks spoiled in printing (ledger)"), made.spoiled, spoilage),
        (9, _("blanks needed"), made.needed, needed),
        (10, _("blanks on hand, not reserved (city and kecamatan)"), made.on_hand, ""),
        (11, _("asked for earlier, not received yet"), made.outstanding, ""),
        (12, _("blanks to request"), made.quantity, _("(9) - (10) - (11), at least 0")),
    ]


@click.command("requests")
@click.argument("reference", required=False)
@_html_option
@_csv_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def requests_command(
    settings: Settings, reference: str | None, html_out: str | None, csv_out: str | None, as_json: bool
) -> None:
    """Every request to the centre: blanks asked, received, outstanding and lead time.

    Lead time counts days from the request to its first batch and to the batch that
    completed it. With REFERENCE: that request's figures as recorded, and its letter
    and CSV written again with --html and --csv.

    \b
    Example:
      ektp blanks requests
      ektp blanks requests 470/512/Disdukcapil/2026 --html permohonan.html
    """
    blanks = settings.workflow().blanks
    if reference is not None:
        made = blanks.requested(reference)
        emit_json(made.as_dict()) if as_json else _print_request(made, dry_run=False)
        _write(blanks, made, html_out, csv_out)
        return
    if html_out or csv_out:
        raise click.UsageError(_("--html and --csv write one request's letter: give its REFERENCE"))
    statuses = blanks.requests()
    if as_json:
        emit_json([s.as_dict() for s in statuses])
        return
    _print_statuses(statuses)


def _print_statuses(statuses: list[RequestStatus]) -> None:
    emit_table(
        [
            _("request"),
            _("asked on"),
            _("asked"),
            _("received"),
            _("outstanding"),
            _("first after"),
            _("complete after"),
            _("batches"),
        ],
        [
            (
                s.reference,
                s.requested_on.isoformat(),
                s.requested,
                s.received,
                s.outstanding,
                _days(s.first_after_days),
                _days(s.complete_after_days),
                ", ".join(s.batches),
            )
            for s in statuses
        ],
        right=(2, 3, 4, 5, 6),
    )


def _expected(months: int) -> str:
    return ngettext(
        "expected to leave PRR in {months} month", "expected to leave PRR in {months} months", months
    ).format(months=months)


def _days(days: int | None) -> str:
    return "-" if days is None else ngettext("{days} day", "{days} days", days).format(days=days)
