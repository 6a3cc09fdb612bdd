"""``ektp residents``: bring residents into the register."""

from __future__ import annotations

import datetime as dt

import click

from ..i18n import _, ngettext
from ..records import Correction
from ..text import shown
from . import complete
from .context import Settings, pass_settings
from .output import emit_json, when
from .progress import progress, rows_in


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
@click.option(
    "--update",
    is_flag=True,
    help="Correct residents registered with other data (reason 'line N of FILE') instead of refusing the file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_settings
def import_command(settings: Settings, file: str, dry_run: bool, update: bool, as_json: bool) -> None:
    """Import residents from a CSV file: all rows or none.

    The header is nik,name,kecamatan with optional had_ektp (true when the
    resident held an e-KTP before), disaster_victim, suket (holds a temporary
    certificate) and birth_date (YYYY-MM-DD, must match the NIK).
    kecamatan is the current one, 16.71.05 or 167105. Comma, semicolon or tab
    separated, UTF-8 (a BOM is fine). A file with any bad row is refused whole,
    listing its bad lines (the first 1,000 and how many in all); re-importing
    the same file changes nothing. A resident already registered with other data
    is a bad line, unless --update: then each difference is a correction (in name,
    kecamatan and the optional columns the file has; a birth date where the row
    gives one), listed in a dry run.

    \b
    Example:
      ektp --actor op-1 residents import palembang.csv --dry-run
      ektp --actor op-1 residents import palembang.csv
    """
    from .. import read_residents_csv

    actor = settings.require_actor(dry_run)
    with progress(_("reading {file}").format(file=file), settings.quiet, total=lambda: rows_in(file)) as advance:
        result = settings.workflow().register_numbered(
            read_residents_csv(file), actor=actor, source=file, dry_run=dry_run, progress=advance, update=update
        )
    if as_json:
        emit_json(
            {
                "file": file,
                "added": result.added,
                "unchanged": result.unchanged,
                "corrected": [c.as_dict() for c in result.corrections],
                "dry_run": dry_run,
            }
        )
        return
    for done in result.corrections:
        changes = "; ".join(f"{k}: {shown(str(a))} -> {shown(str(b))}" for k, (a, b) in done.changes.items())
        click.echo(f"{done.nik} ({done.reason}): {changes}")
    click.echo(_imported(file, result.added, result.unchanged, len(result.corrections) if update else None, dry_run))


def _imported(file: str, added: int, unchanged: int, corrected: int | None, dry_run: bool) -> str:
    """``FILE: added N residents, M already registered[, K corrected]``."""
    if dry_run:
        done = ngettext(
            "{file}: would add {added} resident, {unchanged} already registered",
            "{file}: would add {added} residents, {unchanged} already registered",
            added,
        )
    else:
        done = ngettext(
            "{file}: added {added} resident, {unchanged} already registered",
            "{file}: added {added} residents, {unchanged} already registered",
            added,
        )
    line = done.format(file=file, added=added, unchanged=unchanged)
    if corrected is not None:
        also = _(", {corrected} would be corrected") if dry_run else _(", {corrected} corrected")
        line += also.format(corrected=corrected)
    return line


@command.command("correct")
@click.argument("nik")
@click.option("--name", help="The corrected name.")
@click.option(
    "--birth-date",
    type=click.DateTime(["%Y-%m-%d"]),
    help="YYYY-MM-DD; its day, month and year's last two digits are the NIK's (it settles the century).",
)
@click.option(
    "--kecamatan",
    metavar="CODE",
    shell_complete=complete.kecamatan,
    help="The current kecamatan, within the same kabupaten/kota.",
)
@click.option("--had-ektp/--no-had-ektp", default=None, help="Held an e-KTP before (the card is a replacement).")
@click.option(
    "--disaster-victim/--no-disaster-victim", default=None, help="Lost their card or documents in a disaster."
)
@click.option("--reason", required=True, help="What was wrong, and who said so (required).")
@click.option("--evidence", metavar="REF", help="The document it rests on: a KK, a court order, a birth certificate.")
@click.option("--dry-run", is_flag=True, help="Check and show the correction; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the correction as JSON.")
@pass_settings
def correct_command(
    settings: Settings,
    nik: str,
    name: str | None,
    birth_date: dt.datetime | None,
    kecamatan: str | None,
    had_ektp: bool | None,
    disaster_victim: bool | None,
    reason: str,
    evidence: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Correct a resident's data, with the reason and the evidence: one entry in the
    tamper-evident history holding every field after it (the entry before holds them
    before; the command prints both).

    A new kecamatan moves the card's place in the queue there, and a blank reserved at
    the old kecamatan goes back to its stock. The sex and the birth day and month are
    the NIK's and cannot be corrected here (a wrong NIK needs a new NIK); a birth date
    settles the century of the NIK's year.

    \b
    Example:
      ektp --actor kec-05/op-1 residents correct 1671054509050001 --name "Siti Aminah S." \\
          --reason "salah ketik nama" --evidence "KK 1671050101090001"
      ektp --actor kec-05/op-1 residents correct 1671054509050001 --kecamatan 16.71.08 \\
          --reason "pindah dalam kota" --evidence "KK 1671080202100002"
    """
    actor = settings.require_actor(dry_run)
    done = settings.workflow().correct(
        nik,
        actor=actor,
        reason=reason,
        evidence=evidence,
        name=name,
        birth_date=birth_date.date() if birth_date is not None else None,
        kecamatan=kecamatan,
        had_ektp=had_ektp,
        disaster_victim=disaster_victim,
        dry_run=dry_run,
    )
    if as_json:
        emit_json({**done.as_dict(), "dry_run": dry_run})
    else:
        _show(done, dry_run)


def _show(done: Correction, dry_run: bool) -> None:
    for field, (before, after) in done.changes.items():
        click.echo(f"{field}: {shown(str(before))} -> {shown(str(after))}")
    if done.released is not None and dry_run:
        click.echo(_("would release the blank reserved at the old kecamatan"))
    elif done.released is not None:
        click.echo(_("released the blank reserved at the old kecamatan (event {seq})").format(seq=done.released.seq))
    if dry_run:
        click.echo(_("dry run: nothing written"))
    else:
        click.echo(_("corrected {nik} (entry {seq})").format(nik=done.nik, seq=done.seq))


@command.command("history")
@click.argument("nik")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def history_command(settings: Settings, nik: str, as_json: bool) -> None:
    """Every version of a resident's data, oldest first: as registered, each correction
    with its reason and evidence, and each change the lifecycle made (a collected card
    makes the resident an e-KTP holder).

    \b
    Example:
      ektp residents history 1671054509050001
    """
    from .audit import differences

    versions = settings.workflow().audit.resident_history(nik)
    if as_json:
        emit_json([v.as_dict() for v in versions])
        return
    for version, what in zip(versions, differences(versions), strict=True):
        entry = _("entry {seq}, {at}: {change} by {actor}: {what}")
        at, actor = when(version.occurred_at), shown(version.actor)
        click.echo(entry.format(seq=version.seq, at=at, change=version.change, actor=actor, what=shown(what)))
        for text, label in ((version.reason, _("reason")), (version.evidence, _("evidence"))):
            if text:
                click.echo(f"  {label}: {shown(text)}")
        click.echo("  " + ", ".join(f"{k}={shown(str(v))}" for k, v in version.data.items()))
