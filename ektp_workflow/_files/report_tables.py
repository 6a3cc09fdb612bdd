"""The HTML report's pieces: sections, figures in boxes, and the tables behind each
chart, folded under it."""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..i18n import _
from ..records import AGE_BUCKETS, AgingRow, BacklogRow, CoverageRow, RequestStatus
from .report_charts import AGE_LABELS, TREND_LABELS
from .report_data import MonthRow
from .report_format import number


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], flagged: Sequence[bool] = ()) -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headers)
    body = []
    for i, row in enumerate(rows):
        css = ' class="flag"' if flagged and flagged[i] else ""
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def folded(content: str) -> str:
    """A table folded under its chart: shown on a click."""
    summary = html.escape(_("Table"))
    return f"<details><summary>{summary}</summary>{content}</details>"


def section(key: str, title: str, body: str, caption: str = "", hidden_title: bool = False) -> str:
    """A section of the page, ``<section id="key">``, under its heading; ``body`` is HTML."""
    heading = '<h2 class="visually-hidden">' if hidden_title else "<h2>"
    note = f'<p class="caption">{html.escape(caption)}</p>' if caption else ""
    return f'<section id="{key}">{heading}{html.escape(title)}</h2>{note}{body}</section>'


def tile(label: str, figure: str, detail: str, alarm: bool = False) -> str:
    """One figure in a box: what it is, the number, and how it is made up."""
    css = "tile alarm" if alarm else "tile"
    return (
        f'<div class="{css}"><div class="label">{html.escape(label)}</div>'
        f'<div class="figure">{html.escape(figure)}</div><div class="detail">{html.escape(detail)}</div></div>'
    )


def _cell(value: object) -> str:
    if isinstance(value, float):
        return number(value, 1)
    if isinstance(value, int):
        return number(value)
    return "" if value is None else str(value)


def _name(name: str) -> str:
    return _("total") if name == "total" else name


def coverage_table(rows: list[CoverageRow]) -> str:
    headers = [
        _("kecamatan"),
        _("name"),
        _("residents"),
        _("wajib KTP"),
        _("recorded"),
        _("recorded %"),
        _("in PRR"),
        _("waiting for a blank"),
        _("printed"),
        _("collected"),
        _("exceptional"),
    ]
    return folded(
        table(
            headers,
            [
                (
                    r.kecamatan,
                    _name(r.name),
                    r.residents,
                    r.wajib_ktp,
                    r.recorded,
                    r.recorded_pct,
                    r.in_prr,
                    r.waiting_for_blank,
                    r.printed,
                    r.collected,
                    r.exceptional,
                )
                for r in rows
            ],
        )
    )


def backlog_table(rows: list[BacklogRow]) -> str:
    headers = [
        _("kecamatan"),
        _("name"),
        _("first-time waiting"),
        _("replacements waiting"),
        _("blanks in stock"),
        _("reserved"),
        _("printed per day"),
        _("days the blanks cover"),
    ]
    return folded(
        table(
            headers,
            [
                (
                    r.kecamatan,
                    _name(r.name),
                    r.first_time_waiting,
                    r.replacement_waiting,
                    r.blanks_in_stock,
                    r.reserved,
                    r.printed_per_day,
                    r.days_covered,
                )
                for r in rows
            ],
        )
    )


def aging_table(rows: list[AgingRow]) -> str:
    headers = [_("kecamatan"), _("name"), _("state"), _("cards"), _("median days"), _("max days")]
    headers += [_(label) for label in AGE_LABELS]
    return folded(
        table(
            headers,
            [(r.kecamatan, r.name, r.state, r.cards, r.median_days, r.max_days, *r.buckets) for r in rows],
            [r.buckets[len(AGE_BUCKETS) - 1] > 0 for r in rows],
        )
    )


def trends_table(months: list[MonthRow]) -> str:
    headers = [_("month"), *(_(label) for label in TREND_LABELS)]
    return folded(table(headers, [(m.month, *m.counts()) for m in months]))


def requests_table(requests: Sequence[RequestStatus]) -> str:
    headers = [_("request"), _("requested on"), _("requested"), _("received"), _("outstanding")]
    return table(
        headers, [(r.reference, r.requested_on.isoformat(), r.requested, r.received, r.outstanding) for r in requests]
    )
