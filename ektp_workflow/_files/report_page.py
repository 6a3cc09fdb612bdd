"""One self-contained HTML page for the head of office: the headline figures, coverage,
backlog and aging per kecamatan, the blanks, monthly trends, the state diagram and the
checkpoint it was made from.

Charts are drawn by matplotlib as inline SVG, the diagram by Graphviz where its ``dot``
program is installed; the page needs no network to open and prints on A4. Every text
is in the language in use (``i18n``).
"""

from __future__ import annotations

import html

from ..errors import DiagramError
from ..i18n import _, language, ngettext, translated
from ..states import diagram
from . import report_charts as charts
from . import report_tables as tables
from .report_blanks import blanks_section
from .report_data import Headline, ReportData
from .report_format import number, percent
from .report_style import PAGE
from .report_tables import section, tile


def render(data: ReportData) -> str:
    """The whole page as one HTML string."""
    order = list(data.lifecycle.states)
    sections = [
        _headline(data.headline),
        _section(
            "coverage",
            _("Recording coverage"),
            _("Share of wajib KTP residents (17 and over, living here) recorded at least once."),
            charts.coverage_chart(data.coverage) + tables.coverage_table(data.coverage),
        ),
        _section(
            "backlog",
            _("Backlog: who waits for a blank"),
            _("Applicants whose identity is confirmed and who wait for a blank, and the blanks there are."),
            charts.backlog_chart(data.backlog) + tables.backlog_table(data.backlog),
        ),
        _section(
            "aging",
            _("Aging: how long cards wait, by stage"),
            _("Cards in each waiting state by time in that state; over six months is flagged."),
            charts.aging_chart(data.aging, order) + tables.aging_table(data.aging),
        ),
        blanks_section(data.blanks),
        _section(
            "trends",
            _("Monthly trends"),
            _(
                "Cards per month: recorded, sent to PRR, decided by the centre (single or duplicate), printed, collected."
            ),
            charts.trends_chart(data.trends) + tables.trends_table(data.trends),
        ),
        _diagram_section(data),
        _checkpoint_section(data),
    ]
    return PAGE.format(
        lang=html.escape(language()),
        title=html.escape(data.title),
        stamp=_stamp(data),
        body="\n".join(sections),
    )


def _section(key: str, title: str, caption: str, content: str) -> str:
    return section(key, title, f'<div class="chart">{content}</div>', caption)


def _when(data: ReportData) -> str:
    made = data.made_at.isoformat(" ", "seconds")
    return f'<time datetime="{html.escape(data.made_at.isoformat())}">{html.escape(made)}</time>'


def _stamp(data: ReportData) -> str:
    seq, hash_ = data.checkpoint
    text = html.escape(_("As of event {seq} of the history (checkpoint {checkpoint}), made {when}."))
    return text.format(
        seq=number(seq), checkpoint=f'<a href="#checkpoint"><code>{seq}:{hash_[:12]}…</code></a>', when=_when(data)
    )


def _headline(figures: Headline) -> str:
    waiting = _("first-time applicants {first}, replacements {replacement}").format(
        first=number(figures.first_time_waiting), replacement=number(figures.replacement_waiting)
    )
    tiles = [
        tile(
            _("City coverage"),
            percent(figures.coverage_pct),
            _("{recorded} of {wajib} wajib KTP recorded").format(
                recorded=number(figures.recorded), wajib=number(figures.wajib_ktp)
            ),
        ),
        tile(_("Cards waiting for a blank"), number(figures.waiting), waiting),
        tile(_("Blanks in stock"), number(figures.in_stock), _("not reserved: at the city and the kecamatan")),
        tile(
            _("Blanks needed"),
            number(figures.needed),
            _("cards waiting minus blanks in stock"),
            alarm=figures.needed > 0,
        ),
    ]
    return section("headline", _("At a glance"), f'<div class="tiles">{"".join(tiles)}</div>', hidden_title=True)


def _diagram_section(data: ReportData) -> str:
    lifecycle = data.lifecycle
    apart = [s.name for s in lifecycle.states.values() if s.exceptional or s.terminal]
    now = ", ".join(f"{name} {number(data.states.get(name, 0))}" for name in apart)
    caption = _("Each state with the cards in it now. Exceptional states are red, terminal ones have a double border.")
    kinds = (
        ("normal", _("state")),
        ("exceptional", _("exceptional state")),
        ("terminal", _("terminal state")),
        ("cluster", _("dashed box: an edge from its border fires from every state in it")),
    )
    legend = "".join(f'<li><span class="swatch {css}"></span>{html.escape(text)}</li>' for css, text in kinds)
    notes = html.escape(
        _('Lifecycle "{name}", hash {hash}. Exceptional and terminal now: {counts}.').format(
            name=translated(lifecycle.name), hash=lifecycle.hash[:12], counts=now or "-"
        )
    )
    body = (
        f'<ul class="legend">{legend}</ul><div class="chart diagram">{_lifecycle_svg(data)}</div>'
        f'<p class="caption">{notes}</p>'
    )
    return section("diagram", _("The card lifecycle"), body, caption)


def _lifecycle_svg(data: ReportData) -> str:
    try:
        svg = diagram(data.lifecycle, "svg", _cards_in_states(data))
    except DiagramError:
        note = _(
            "Graphviz is not installed here, so the diagram is given as Mermaid source (paste it into "
            "any Mermaid viewer); install Graphviz to draw it in this page."
        )
        return f'<p class="note">{html.escape(note)}</p><pre>{html.escape(diagram(data.lifecycle, "mermaid"))}</pre>'
    return svg[svg.index("<svg") :]


def _cards_in_states(data: ReportData) -> dict[str, str]:
    counts = {name: data.states.get(name, 0) for name in data.lifecycle.states}
    return {name: ngettext("{count} card", "{count} cards", n).format(count=number(n)) for name, n in counts.items()}


def _checkpoint_section(data: ReportData) -> str:
    seq, hash_ = data.checkpoint
    first = html.escape(
        _("Every figure on this page comes from one snapshot of the history, up to event {seq}, made {when}.")
    ).format(seq=number(seq), when=_when(data))
    check = html.escape(_("To check that this history has not changed since, run:"))
    body = (
        f'<p>{first}</p><p class="hash"><code>{seq}:{hash_}</code></p><p>{check}</p>'
        f"<pre>ektp audit verify --against {seq}:{hash_}</pre>"
    )
    return section("checkpoint", _("Checkpoint"), body)
