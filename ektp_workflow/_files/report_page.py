"""One self-contained HTML page: coverage, backlog and aging charts, and the state diagram.

Charts are drawn by matplotlib as inline SVG (text as paths), the diagram by Graphviz
where its ``dot`` program is installed; the page needs no network to open.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

from ..errors import DiagramError
from ..records import AGE_BUCKETS, AgingRow, BacklogRow, CoverageRow
from ..states import Lifecycle, diagram

_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")


@dataclass(frozen=True)
class ReportData:
    """What the page shows."""

    title: str
    generated_at: dt.datetime
    coverage: list[CoverageRow]
    backlog: list[BacklogRow]
    aging: list[AgingRow]
    lifecycle: Lifecycle


def render(data: ReportData) -> str:
    """The whole page as one HTML string."""
    sections = [
        _section(
            "Recording coverage",
            _coverage_chart(data.coverage),
            _coverage_table(data.coverage),
            "Share of wajib KTP residents (17 and over, living here) recorded at least once.",
        ),
        _section(
            "Backlog: who waits for a blank",
            _backlog_chart(data.backlog),
            _backlog_table(data.backlog),
            "Applicants whose identity is confirmed and who wait for a blank, and the blanks there are.",
        ),
        _section(
            "Aging: how long cards wait",
            _aging_chart(data.aging),
            _aging_table(data.aging),
            "Cards in a waiting state by time in that state; over six months is flagged.",
        ),
        _section(
            "The card lifecycle",
            _lifecycle_svg(data.lifecycle),
            "",
            f"Lifecycle {html.escape(data.lifecycle.name)}, hash {data.lifecycle.hash[:12]}.",
        ),
    ]
    stamp = data.generated_at.strftime("%d %B %Y %H:%M %Z")
    return _PAGE.format(title=html.escape(data.title), stamp=html.escape(stamp), body="\n".join(sections))


def _section(title: str, figure: str, table: str, caption: str) -> str:
    return (
        f'<section><h2>{html.escape(title)}</h2><p class="caption">{html.escape(caption)}</p>'
        f'<div class="chart">{figure}</div>{table}</section>'
    )


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _kecamatan(rows: Sequence[CoverageRow | BacklogRow]) -> list[str]:
    return [f"{r.name} ({r.kecamatan[-2:]})" for r in rows]


def _coverage_chart(rows: list[CoverageRow]) -> str:
    places = [r for r in rows if r.kecamatan]
    if not places:
        return _empty("No residents yet.")
    figure = Figure(figsize=(8, 0.32 * len(places) + 1.2))
    axes = figure.subplots()
    axes.barh(_kecamatan(places), [r.recorded_pct for r in places], color=_COLOURS[0])
    axes.axvline(99.8, color="#555", linestyle="--", linewidth=1, label="Palembang 2017: 99.8%")
    axes.set_xlim(min(90.0, min(r.recorded_pct for r in places) - 2), 100.5)
    axes.set_xlabel("wajib KTP recorded (%)")
    axes.invert_yaxis()
    axes.legend(loc="lower left", fontsize="small")
    return _svg(figure)


def _backlog_chart(rows: list[BacklogRow]) -> str:
    places = [r for r in rows if r.kecamatan]
    if not places:
        return _empty("Nobody waits for a blank.")
    figure = Figure(figsize=(8, 0.32 * len(places) + 1.2))
    axes = figure.subplots()
    labels = _kecamatan(places)
    first = [r.first_time_waiting for r in places]
    axes.barh(labels, first, color=_COLOURS[1], label="first-time applicants waiting")
    axes.barh(
        labels, [r.replacement_waiting for r in places], left=first, color=_COLOURS[2], label="replacements waiting"
    )
    axes.scatter(
        [r.blanks_in_stock + r.reserved for r in places],
        labels,
        color="black",
        marker="|",
        s=200,
        label="blanks at the kecamatan",
        zorder=3,
    )
    axes.set_xlabel("cards")
    axes.invert_yaxis()
    axes.legend(loc="lower right", fontsize="small")
    return _svg(figure)


def _aging_chart(rows: list[AgingRow]) -> str:
    if not rows:
        return _empty("No card is waiting.")
    by_place: dict[str, list[int]] = {}
    for row in rows:
        totals = by_place.setdefault(f"{row.name} ({row.kecamatan[-2:]})", [0] * len(AGE_BUCKETS))
        for i, count in enumerate(row.buckets):
            totals[i] += count
    labels = list(by_place)
    figure = Figure(figsize=(8, 0.32 * len(labels) + 1.2))
    axes = figure.subplots()
    left = [0] * len(labels)
    for i, (bucket, _) in enumerate(AGE_BUCKETS):
        values = [by_place[label][i] for label in labels]
        axes.barh(labels, values, left=left, color=_COLOURS[(i + 3) % len(_COLOURS)], label=bucket)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_xlabel("cards waiting, by time in their current state")
    axes.invert_yaxis()
    axes.legend(loc="lower right", fontsize="small")
    return _svg(figure)


def _lifecycle_svg(lifecycle: Lifecycle) -> str:
    try:
        svg = diagram(lifecycle, "svg")
    except DiagramError:
        return (
            '<p class="note">Graphviz is not installed here, so the diagram is given as Mermaid '
            "source (paste it into any Mermaid viewer); install Graphviz to draw it in this page.</p>"
            f"<pre>{html.escape(diagram(lifecycle, 'mermaid'))}</pre>"
        )
    return svg[svg.index("<svg") :]


def _empty(message: str) -> str:
    return f'<p class="note">{html.escape(message)}</p>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], flagged: Sequence[bool] = ()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        css = ' class="flag"' if flagged and flagged[i] else ""
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<details><summary>Table</summary><table><tr>{head}</tr>{''.join(body)}</table></details>"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _coverage_table(rows: list[CoverageRow]) -> str:
    return _table(
        [
            "kecamatan",
            "name",
            "residents",
            "wajib KTP",
            "recorded",
            "recorded %",
            "in PRR",
            "waiting for a blank",
            "printed",
            "collected",
            "exceptional",
        ],
        [
            (
                r.kecamatan,
                r.name,
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


def _backlog_table(rows: list[BacklogRow]) -> str:
    return _table(
        [
            "kecamatan",
            "name",
            "first-time waiting",
            "replacements waiting",
            "blanks in stock",
            "reserved",
            "printed per day",
            "days the blanks cover",
        ],
        [
            (
                r.kecamatan,
                r.name,
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


def _aging_table(rows: list[AgingRow]) -> str:
    return _table(
        ["kecamatan", "name", "state", "cards", "median days", "max days", "over 6 months"],
        [(r.kecamatan, r.name, r.state, r.cards, r.median_days, r.max_days, r.over_six_months) for r in rows],
        [r.over_six_months > 0 for r in rows],
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; color: #222; padding: 0 1rem; }}
h1 {{ margin-bottom: 0; }} .stamp {{ color: #666; margin-top: .2rem; }}
section {{ margin: 2.5rem 0; }} .caption, .note {{ color: #555; }}
.chart svg {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; font-size: .85rem; margin-top: .5rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .2rem .5rem; text-align: right; }}
th:nth-child(-n+2), td:nth-child(-n+2) {{ text-align: left; }}
tr.flag td {{ background: #fff1e6; }}
pre {{ background: #f6f6f6; padding: 1rem; overflow-x: auto; }}
</style></head>
<body><h1>{title}</h1><p class="stamp">generated {stamp}</p>
{body}
</body></html>
"""
