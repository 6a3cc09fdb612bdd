"""``ektp residents``: bring residents into the register."""

from __future__ import annotations

import click

from .context import Settings, pass_settings
from .output import emit_json
from .progress import progress


@click.group("residents")
def command() -> None:
    """Register residents; each gets a card in the initial state.

    \b
    Example:
      ektp --actor op-1 residents import residents.csv
    """


@command.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the whole file and report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_settings
def import_command(settings: Settings, file: str, dry_run: bool, as_json: bool) -> None:
    """Import residents from a CSV file: all rows or none.

    The header is nik,name,kecamatan with optional had_ektp (true when the
    resident held an e-KTP before), disaster_victim, suket (holds a temporary
    certificate) and birth_date (YYYY-MM-DD, must match the NIK).
    kecamatan is the current one, 16.71.05 or 167105. Comma, semicolon or tab
    separated, UTF-8 (a BOM is fine). A file with any bad row is refused whole,
    listing its bad lines (the first 1,000 and how many in all); re-importing
    the same file changes nothing.

    \b
    Example:
      ektp --actor op-1 residents import palembang.csv --dry-run
      ektp --actor op-1 residents import palembang.csv
    """
    from .. import read_residents_csv

    actor = settings.require_actor()
    with progress(f"reading {file}", settings.quiet) as advance:
        result = settings.workflow().register_numbered(
            read_residents_csv(file), actor=actor, source=file, dry_run=dry_run, progress=advance
        )
    if as_json:
        emit_json({"file": file, "added": result.added, "unchanged": result.unchanged, "dry_run": dry_run})
        return
    verb = "would add" if dry_run else "added"
    click.echo(f"{file}: {verb} {result.added} residents, {result.unchanged} already registered")
