"""``ektp demo``: the main job, on a synthetic Kota Palembang."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from ..i18n import _, ngettext
from .allocate import print_plan
from .context import Settings, pass_settings
from .output import emit_table
from .progress import stage
from .report import print_coverage

if TYPE_CHECKING:
    from .. import Workflow
    from ..demo import DemoSummary

DEMO_FILE = "ektp-demo.db"
REPORT_FILE = "ektp-demo-report.html"


@click.command("demo")
@click.option(
    "--residents",
    default=18_000,
    show_default=True,
    type=click.IntRange(1, 2_000_000),
    help="Residents to generate (18,000 is Palembang at 1:100).",
)
@click.option("--seed", default=2017, show_default=True, help="Random seed: the same seed, the same city.")
@click.option(
    "--blanks",
    type=click.IntRange(min=1),
    help="Blanks in the shipment (default: Palembang's 20,000 of 2017, scaled to --residents).",
)
@pass_settings
def command(settings: Settings, residents: int, seed: int, blanks: int | None) -> None:
    """Build a synthetic Kota Palembang and move its cards through the lifecycle.

    Without --db it writes a fresh SQLite file ektp-demo.db in the working
    directory (replacing an earlier demo); with --db the database must be empty.
    Registers residents with valid NIKs across Palembang's 18 kecamatan, plays
    recording, PRR and de-duplication with duplicates, enrolment failures,
    deaths and moves; then a shipment of blanks like Palembang's of 2017 is
    distributed to the kecamatan, allocated under the default rules (first-time
    applicants first), printed with some spoilage and collected. Prints the cards
    by state per kecamatan and who got the blanks.

    \b
    Example:
      ektp demo
      ektp demo --residents 2000 --seed 7
      ektp --db postgresql+psycopg://localhost/ektp_demo demo
    """
    from .. import Workflow, demo
    from ..admin import create_engine, upgrade

    url = _demo_url(settings)
    engine = create_engine(url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        with Workflow(engine) as workflow:
            _require_empty(workflow, url)

            def say(message: str) -> None:
                stage(message, settings.quiet)

            summary = demo.run(workflow, residents, seed, settings.actor or "ektp-demo", blanks, say)
            counts = workflow.counts()
            lifecycle = workflow.lifecycle
            coverage = workflow.reports.coverage()
            say(_("drawing the HTML report"))
            page = workflow.reports.html(_("Kota Palembang (synthetic demo)"), zone=settings.zone)
            Path(REPORT_FILE).write_text(page, encoding="utf-8")
    finally:
        engine.dispose()
    elapsed = time.perf_counter() - started
    _report(summary, counts, list(lifecycle.states), elapsed, url)
    click.echo("\n" + _("coverage (ektp report coverage):") + "\n")
    print_coverage(coverage)
    click.echo("\n" + _("HTML report with charts: {path}").format(path=Path(REPORT_FILE).resolve()))


def _demo_url(settings: Settings) -> str:
    parent = click.get_current_context().find_root()
    if parent.get_parameter_source("db_url") != ParameterSource.DEFAULT:
        return settings.db_url
    for suffix in ("", "-wal", "-shm"):
        Path(DEMO_FILE + suffix).unlink(missing_ok=True)
    return f"sqlite:///{DEMO_FILE}"


def _require_empty(workflow: Workflow, url: str) -> None:
    present = sum(n for states in workflow.counts().values() for n in states.values())
    if present:
        raise click.UsageError(
            ngettext(
                "the demo needs an empty database, and {url} already has {present} resident; "
                "run it without --db to use a fresh ektp-demo.db",
                "the demo needs an empty database, and {url} already has {present} residents; "
                "run it without --db to use a fresh ektp-demo.db",
                present,
            ).format(url=url, present=present)
        )


def _report(
    summary: DemoSummary, counts: dict[str, dict[str, int]], states: list[str], elapsed: float, url: str
) -> None:
    names = {k.code: k.name for k in summary.kecamatan}
    rows, totals = [], dict.fromkeys(states, 0)
    for code in sorted(counts):
        row = [counts[code].get(s, 0) for s in states]
        totals = {s: totals[s] + n for s, n in zip(states, row, strict=True)}
        rows.append([code, names.get(code, ""), *row, sum(row)])
    rows.append(["", "Kota Palembang", *totals.values(), sum(totals.values())])
    from ..demo import PALEMBANG_POPULATION

    click.echo(
        _(
            "Kota Palembang (synthetic, 1:{scale}): {residents:,} residents in {kecamatan} kecamatan, "
            "{events:,} events in {seconds:.1f} s"
        ).format(
            scale=round(PALEMBANG_POPULATION / summary.residents),
            residents=summary.residents,
            kecamatan=len(summary.kecamatan),
            events=summary.events,
            seconds=elapsed,
        )
        + "\n"
    )
    emit_table([_("kecamatan"), _("name"), *states, _("total")], rows, right=tuple(range(2, len(states) + 3)))
    recorded = sum(totals.values()) - totals["unrecorded"]
    share = recorded / max(1, sum(totals.values()))
    click.echo("\n" + _("recorded at least once: {share:.1%} of residents").format(share=share))
    _report_blanks(summary)
    click.echo("\n" + _("database: {url}; look around with").format(url=url))
    for command in ("blanks status", "blanks spoilage", "allocate --dry-run", "rules show", "card history <NIK>"):
        click.echo(f"  ektp --db {url} {command}")


def _report_blanks(summary: DemoSummary) -> None:
    if summary.plan is None:
        return
    click.echo(
        "\n"
        + _(
            "blanks: {blanks:,} received and distributed by the active rules; "
            "{allocated:,} allocated, {printed:,} printed, "
            "{spoiled:,} spoiled in printing, {collected:,} collected"
        ).format(
            blanks=summary.blanks,
            allocated=len(summary.plan.chosen()),
            printed=summary.printed,
            spoiled=summary.spoiled,
            collected=summary.collected,
        )
        + "\n"
    )
    print_plan(summary.plan)
    verdict = _("yes") if summary.first_time_served_first() else _("NO")
    click.echo(
        "\n"
        + _("first-time applicants served before replacements in every kecamatan: {verdict}").format(verdict=verdict)
    )
