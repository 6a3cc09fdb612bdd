"""The HTML report's charts, drawn by matplotlib as inline SVG (text as paths, so the
page needs no font and no network). Every axis of counts starts at zero; legends sit
outside the axes, where they cover no bar."""

from __future__ import annotations

import html
import io
import math
import textwrap
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..i18n import N_, _, ngettext
from ..records import AGE_BUCKETS, AgingRow, BacklogRow, CoverageRow
from .report_data import TRENDS, MonthRow
from .report_format import number, percent

#: Okabe-Ito: told apart with any colour vision, and in grey.
_BLUE, _ORANGE, _GREEN, _PURPLE, _SKY, _RED = "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"
#: Age buckets from light to dark: the longer the wait, the darker.
_AGES = ("#fdd49e", "#fc8d59", "#d7301f", "#7f0000")
#: The labels of AGE_BUCKETS, in its order.
AGE_LABELS = (N_("under 1 month"), N_("1-3 months"), N_("3-6 months"), N_("over 6 months"))
#: How the report names a waiting state; a state not here is shown by its name.
STAGES = {
    "recorded": N_("recorded, not yet sent to PRR"),
    "prr": N_("PRR: identity check at the centre"),
    "deduplicated": N_("waiting for a blank"),
    "allocated": N_("blank reserved, not yet printed"),
    "printed": N_("printed, not yet collected"),
    "duplicate": N_("duplicate: held by the centre"),
    "enroll_failed": N_("enrolment failed: to be recorded again"),
}
#: The labels of TRENDS, in its order.
TREND_LABELS = (
    N_("recorded"),
    N_("sent to PRR"),
    N_("decided by the centre"),
    N_("printed"),
    N_("collected"),
)
_ROW_INCHES = 0.27


def empty(message: str) -> str:
    return f'<p class="note">{html.escape(message)}</p>'


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _places(rows: Sequence[CoverageRow | BacklogRow | AgingRow]) -> list[str]:
    return [f"{r.name} ({r.kecamatan[-2:]})" for r in rows]


def _counts(axis: Axis, bins: int | None = None) -> None:
    """Whole numbers on ``axis``, written as the reader writes them."""
    axis.set_major_locator(MaxNLocator(integer=True, nbins=bins or "auto"))
    axis.set_major_formatter(FuncFormatter(lambda value, _position: number(value)))


def coverage_chart(rows: list[CoverageRow]) -> str:
    places = [r for r in rows if r.kecamatan]
    if not places:
        return empty(_("No residents yet."))
    figure = Figure(figsize=(8, _ROW_INCHES * len(places) + 1.0), layout="constrained")
    axes = figure.subplots()
    values = [r.recorded_pct for r in places]
    axes.barh(_places(places), values, color=_GREEN)
    for y, value in enumerate(values):
        inside = value > 12
        axes.text(
            value - 0.8 if inside else value + 0.8,
            y,
            percent(value),
            ha="right" if inside else "left",
            va="center",
            fontsize=8.5,
            color="white" if inside else "#222222",
        )
    axes.axvline(99.8, color="#555555", linestyle="--", linewidth=1)
    axes.annotate(
        _("Palembang 2017: 99.8%"), (99.8, 1), xycoords=("data", "axes fraction"), xytext=(0, 3),
        textcoords="offset points", ha="right", va="bottom", fontsize=8.5, color="#555555",
    )  # fmt: skip
    axes.set_xlim(0, 100)
    axes.set_xlabel(_("wajib KTP recorded (%)"))
    axes.invert_yaxis()
    return _svg(figure)


def backlog_chart(rows: list[BacklogRow]) -> str:
    places = [r for r in rows if r.kecamatan]
    if not places:
        return empty(_("Nobody waits for a blank."))
    figure = Figure(figsize=(8, _ROW_INCHES * len(places) + 1.3), layout="constrained")
    axes = figure.subplots()
    labels = _places(places)
    first = [r.first_time_waiting for r in places]
    axes.barh(labels, first, color=_ORANGE, label=_("first-time applicants waiting"))
    axes.barh(labels, [r.replacement_waiting for r in places], left=first, color=_BLUE, label=_("replacements waiting"))
    blanks = [r.blanks_in_stock + r.reserved for r in places]
    axes.scatter(blanks, labels, color="black", marker="|", s=220, linewidths=2.5, zorder=3)
    axes.scatter([], [], color="black", marker="|", s=80, linewidths=2, label=_("blanks at the kecamatan"))
    axes.set_xlim(left=0)
    _counts(axes.xaxis)
    axes.set_xlabel(_("cards"))
    axes.invert_yaxis()
    figure.legend(loc="outside lower center", ncols=3, frameon=False)
    return _svg(figure)


def aging_chart(rows: list[AgingRow], order: Sequence[str]) -> str:
    """One panel per waiting state (in ``order``), each kecamatan's cards by time waited."""
    if not rows:
        return empty(_("No card is waiting."))
    rank = {state: i for i, state in enumerate(order)}
    stages = sorted({r.state for r in rows}, key=lambda s: (rank.get(s, len(rank)), s))
    places = sorted({(r.kecamatan, f"{r.name} ({r.kecamatan[-2:]})") for r in rows})
    columns = min(3, len(stages))
    lines = math.ceil(len(stages) / columns)
    figure = Figure(figsize=(8, lines * (_ROW_INCHES * len(places) + 1.1) + 0.4), layout="constrained")
    panels = figure.subplots(lines, columns, sharey=True, squeeze=False)
    for i, stage in enumerate(stages):
        _aging_panel(panels[i // columns][i % columns], stage, [r for r in rows if r.state == stage], places)
    for i in range(len(stages), lines * columns):
        panels[i // columns][i % columns].set_visible(False)
    panels[0][0].invert_yaxis()  # the panels share it: the first kecamatan on top in each
    figure.legend(
        [Patch(color=colour) for colour in _AGES],
        [_(label) for label in AGE_LABELS],
        loc="outside lower center",
        ncols=len(AGE_BUCKETS),
        frameon=False,
    )
    return _svg(figure)


def _aging_panel(axes: Axes, stage: str, rows: list[AgingRow], places: list[tuple[str, str]]) -> None:
    by_place = {r.kecamatan: r.buckets for r in rows}
    labels = [label for _code, label in places]
    left = [0] * len(places)
    for i, colour in enumerate(_AGES):
        values = [by_place.get(code, (0,) * len(AGE_BUCKETS))[i] for code, _label in places]
        axes.barh(labels, values, left=left, color=colour)
        left = [a + b for a, b in zip(left, values, strict=True)]
    cards = sum(r.cards for r in rows)
    count = ngettext("{state}: {count} card", "{state}: {count} cards", cards).format(state=stage, count=number(cards))
    title = textwrap.fill(_(STAGES[stage]), 26) + "\n" + count if stage in STAGES else count
    axes.set_title(title, fontsize=9, loc="left")
    axes.set_xlim(left=0)
    _counts(axes.xaxis, bins=4)
    axes.tick_params(labelsize=8.5)
    spec = axes.get_subplotspec()
    if spec is not None and not spec.is_first_col():
        axes.tick_params(left=False)


def trends_chart(months: list[MonthRow]) -> str:
    if not months:
        return empty(_("No card has moved yet."))
    figure = Figure(figsize=(8, 3.6), layout="constrained")
    axes = figure.subplots()
    x = list(range(len(months)))
    colours = (_GREEN, _ORANGE, _PURPLE, _BLUE, _RED)
    for i, (label, colour) in enumerate(zip(TREND_LABELS, colours, strict=True)):
        axes.plot(x, [m.counts()[i] for m in months], marker="o", markersize=3, color=colour, label=_(label))
    step = max(1, math.ceil(len(months) / 12))
    axes.set_xticks(x[::step], [m.month for m in months][::step], rotation=45, ha="right")
    axes.set_ylim(bottom=0)
    _counts(axes.yaxis)
    axes.set_ylabel(_("cards a month"))
    axes.grid(axis="y", color="#dddddd")
    figure.legend(loc="outside upper center", ncols=len(TRENDS), frameon=False)
    return _svg(figure)
