"""The HTML report's blanks: the ledger in totals, the stock and the requests to the centre."""

from __future__ import annotations

from ..i18n import _, ngettext
from .report_data import BlankFigures
from .report_format import number, percent
from .report_tables import requests_table, section, tile


def blanks_section(blanks: BlankFigures) -> str:
    used = blanks.consumed + blanks.spoiled
    spoilage = 100.0 * blanks.spoiled / used if used else 0.0
    received = (
        _("from the centre")
        if not blanks.borrowed
        else _("from the centre; {borrowed} more borrowed").format(borrowed=number(blanks.borrowed))
    )
    distributed = (
        _("to the kecamatan")
        if not blanks.lent
        else _("to the kecamatan; {lent} lent").format(lent=number(blanks.lent))
    )
    tiles = [
        tile(_("Received"), number(blanks.received), received),
        tile(_("Distributed"), number(blanks.distributed), distributed),
        tile(_("Consumed"), number(blanks.consumed), _("by printing cards")),
        tile(_("Spoiled"), number(blanks.spoiled), _("{rate} of the blanks used").format(rate=percent(spoilage))),
        tile(
            _("In stock"),
            number(blanks.in_stock),
            _("{city} at the city, {kecamatan} at the kecamatan; {reserved} more reserved").format(
                city=number(blanks.at_city), kecamatan=number(blanks.at_kecamatan), reserved=number(blanks.reserved)
            ),
        ),
        tile(_("Requested"), number(blanks.requested), _requested(blanks)),
    ]
    caption = _("The blank ledger since it began, the stock now, and the requests for blanks to the centre.")
    return section(
        "blanks", _("Blanks"), f'<div class="tiles small">{"".join(tiles)}</div>{_requests(blanks)}', caption
    )


def _requested(blanks: BlankFigures) -> str:
    count = len(blanks.requests)
    if not count:
        return _("no request recorded")
    return ngettext(
        "in {count} request; {outstanding} not received yet",
        "in {count} requests; {outstanding} not received yet",
        count,
    ).format(count=number(count), outstanding=number(blanks.outstanding))


def _requests(blanks: BlankFigures) -> str:
    if not blanks.requests:
        return ""
    return f'<div class="chart">{requests_table(blanks.requests)}</div>'
