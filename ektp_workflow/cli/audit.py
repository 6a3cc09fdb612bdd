"""``ektp audit``: verify the history, replay it, explain allocations, export it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

import click

from ..i18n import _, ngettext
from ..regions import name_of
from .context import Settings, pass_settings
from .output import emit_json, emit_table, iso, local, output_file, when
from .progress import progress

if TYPE_CHECKING:
    from .. import Explanation
    from ..records import ResidentVersion

_TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]


#: The largest sequence number a database can hold (a signed 64-bit integer).
SEQ_MAX = 2**63 - 1


@click.group("audit")
def command() -> None:
    """Check that nothing was altered, replay the history, explain who got a blank.

    All audit commands only read.

    \b
    Example:
      ektp audit checkpoint >> checkpoints.txt
      ektp audit verify --against 81234:9f2c...
      ektp audit explain 1671054509050001
    """


@command.command("checkpoint")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def checkpoint_command(settings: Settings, as_json: bool) -> None:
    """Print the head of the chained history as SEQ:HASH, to keep outside the system.

    \b
    Example:
      ektp audit checkpoint >> /media/usb/ektp-checkpoints.txt
    """
    seq, hash_ = settings.workflow().audit.checkpoint()
    if as_json:
        emit_json({"seq": seq, "hash": hash_, "taken_at": iso(dt.datetime.now(dt.UTC))})
    else:
        click.echo(f"{seq}:{hash_}")


def _checkpoint(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _colon, hash_ = value.partition(":")
    if not seq.isdigit() or len(hash_) != 64 or any(c not in "0123456789abcdef" for c in hash_):
        raise click.BadParameter(
            _("{value!r}: expected SEQ:HASH as printed by `ektp audit checkpoint`").format(value=value)
        )
    return int(seq), hash_


@command.command("verify")
@click.option("--against", callback=_checkpoint, metavar="SEQ:HASH", help="A checkpoint kept outside the system.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Verify in this many processes at once, each a range of the chain (as many as the machine has cores).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def verify_command(settings: Settings, against: tuple[int, str] | None, jobs: int, as_json: bool) -> None:
    """Re-hash the whole history; exit 1 naming the first bad sequence number.

    The history is the events and, chained between them, the blank ledger's entries,
    the rule-set versions and activations and the allocation runs (with their
    recorded queue and stock). Finds any edited, deleted, inserted or reordered row,
    a truncated tail (against the chain head, and against a kept checkpoint) and a
    rewritten history.

    \b
    Example:
      ektp audit verify
      ektp audit verify --against 81234:9f2c4e...
      ektp audit verify --jobs 4
    """
    audit = settings.workflow().audit
    with progress(_("verifying events"), settings.quiet, total=audit.checkpoint()[0]) as advance:
        report = audit.verify(against, advance, jobs=jobs)
    if as_json:
        emit_json(
            {
                "ok": report.ok,
                "checked": report.checked,
                "entries": report.entries,
                "last": list(report.last),
                "chain_head": list(report.chain_head),
                "problems": [dataclasses.asdict(p) for p in report.problems],
            }
        )
    elif report.ok:
        extra = _(", matches checkpoint {seq}").format(seq=against[0]) if against else ""
        ok = _("ok: {events} and {entries} (residents' data, stock, rules, allocations), chain head {seq}:{hash}")
        click.echo(
            ok.format(**_counted(report.checked, report.entries), seq=report.last[0], hash=report.last[1]) + extra
        )
    else:
        count = len(report.problems)
        bad = ngettext(
            "NOT OK: {count} problem in {events} and {entries}; first: {first}",
            "NOT OK: {count} problems in {events} and {entries}; first: {first}",
            count,
        )
        click.echo(
            bad.format(count=count, **_counted(report.checked, report.entries), first=report.problems[0]), err=True
        )
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
    if not report.ok:
        raise click.exceptions.Exit(1)


@command.command("replay")
@click.option(
    "--as-of",
    type=click.DateTime(_TIME_FORMATS),
    help="Only events recorded by this time (without a zone, the zone in use).",
)
@click.option("--occurred", is_flag=True, help="With --as-of: by when events occurred, not when they were recorded.")
@click.option("--until-seq", type=click.IntRange(0, SEQ_MAX), help="Only events up to this sequence number.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def replay_command(
    settings: Settings, as_of: dt.datetime | None, occurred: bool, until_seq: int | None, as_json: bool
) -> None:
    """Fold the events through the lifecycle and print cards per kecamatan and state.

    Without --as-of or --until-seq it also compares the fold with the stored cards,
    the blanks they hold and the blank ledger, listing every mismatch (exit 1).

    \b
    Example:
      ektp audit replay
      ektp audit replay --as-of 2026-01-01 --json
      ektp audit replay --until-seq 50000
    """
    audit = settings.workflow().audit
    until = local(as_of) if as_of else None
    to_head = until is None and until_seq is None
    with progress(_("replaying events"), settings.quiet, total=until_seq or audit.checkpoint()[0]) as advance:
        by = "occurred" if occurred else "recorded"
        folded, counts = audit.replay(until_seq=until_seq, as_of=until, by=by, progress=advance, compare=to_head)
    mismatches = folded.mismatches
    if as_json:
        emit_json(
            {
                "last_seq": folded.last_seq,
                "events": folded.events,
                "counts": counts,
                "problems": folded.problems,
                "mismatches": mismatches,
            }
        )
    else:
        _print_counts(counts, folded.events, folded.last_seq)
        for line in folded.problems + mismatches:
            click.echo(f"  {line}", err=True)
        if to_head and not (folded.problems or mismatches):
            click.echo(_("stored cards, held blanks and the blank ledger match the replay"))
    if folded.problems or mismatches:
        raise click.exceptions.Exit(1)


def _print_counts(counts: dict[str, dict[str, int]], events: int, last_seq: int) -> None:
    states = sorted({s for c in counts.values() for s in c})
    rows = [[k, name_of(k), *(c.get(s, 0) for s in states), sum(c.values())] for k, c in sorted(counts.items())]
    replayed = ngettext(
        "replayed {events:,} event up to seq {seq}", "replayed {events:,} events up to seq {seq}", events
    )
    click.echo(replayed.format(events=events, seq=last_seq) + "\n")
    emit_table([_("kecamatan"), _("name"), *states, _("total")], rows, right=tuple(range(2, len(states) + 3)))


@command.command("history")
@click.argument("nik")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def history_command(settings: Settings, nik: str, as_json: bool) -> None:
    """Every event of a card: actor, reason, times, rule-set version, run, hash.

    \b
    Example:
      ektp audit history 1671054509050001
    """
    audit = settings.workflow().audit
    events = audit.history(nik)
    if as_json:
        emit_json([e.as_dict() for e in events])
        return
    emit_table(
        [
            _("seq"),
            _("occurred"),
            _("recorded"),
            _("trigger"),
            _("from"),
            _("to"),
            _("actor"),
            _("reason"),
            _("rules"),
            _("run"),
        ],
        [
            (
                e.seq,
                when(e.occurred_at),
                when(e.recorded_at),
                e.trigger,
                e.from_state or "-",
                e.to_state,
                e.actor,
                e.reason or "",
                e.rule_set_version or "",
                e.batch_id or "",
            )
            for e in events
        ],
        right=(0,),
    )
    _print_versions(audit.resident_history(nik))


def _print_versions(versions: list[ResidentVersion]) -> None:
    """The resident's data versions, each with what it changed."""
    click.echo("\n" + _("resident data (`ektp residents history NIK` shows each version whole):"))
    emit_table(
        [_("seq"), _("occurred"), _("change"), _("actor"), _("reason"), _("evidence"), _("what")],
        [
            (v.seq, when(v.occurred_at), v.change, v.actor, v.reason or "", v.evidence or "", what)
            for v, what in zip(versions, differences(versions), strict=True)
        ],
        right=(0,),
    )


def differences(versions: list[ResidentVersion]) -> list[str]:
    """What each version changed from the one before ("as registered" for the first)."""
    found, before = [], None
    for version in versions:
        if before is None:
            found.append(_("as registered") if version.change == "registered" else _("as found"))
        else:
            changed = [f"{k}: {before[k]} -> {v}" for k, v in version.data.items() if before[k] != v]
            found.append("; ".join(changed) or _("no change"))
        before = version.data
    return found


def _counted(events: int, entries: int) -> dict[str, str]:
    """The two counts, as ``{events}`` and ``{entries}`` of a message that says both."""
    return {
        "events": ngettext("{count:,} event", "{count:,} events", events).format(count=events),
        "entries": ngettext("{count:,} entry", "{count:,} entries", entries).format(count=entries),
    }


@command.command("explain")
@click.argument("nik")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def explain_command(settings: Settings, nik: str, as_json: bool) -> None:
    """Why the card of NIK got a blank, or is still waiting.

    Every recorded allocation run it waited in is re-run on its recorded inputs
    (queue, stock, rule-set version), giving its position, the blanks there were,
    each rule's key for it, and whether that matches what the events say happened.

    \b
    Example:
      ektp audit explain 1671054509050001
    """
    explanation = settings.workflow().audit.explain(nik)
    if as_json:
        emit_json(dataclasses.asdict(explanation))
    else:
        _print_explanation(explanation)
    if not all(run.agrees for run in explanation.runs):
        raise click.exceptions.Exit(1)


def _print_explanation(e: Explanation) -> None:
    card = _("{nik}: {state}, kecamatan {kecamatan} {name}")
    click.echo(card.format(nik=e.nik, state=e.state, kecamatan=e.kecamatan, name=name_of(e.kecamatan)))
    if not e.runs:
        click.echo(_("no allocation has run with this card in its queue"))
    for run in e.runs:
        check = _("matches the events") if run.agrees else _("DOES NOT match the events")
        applicant = _("first-time applicant") if run.first_time else _("replacement applicant")
        click.echo(
            "\n" + _("{run} on {day}, rule set {rule_set}").format(run=run.run_id, day=run.day, rule_set=run.rule_set)
        )
        click.echo(
            "  "
            + _("{applicant}; {reason}; re-run {check}").format(applicant=applicant, reason=run.reason(), check=check)
        )
        for rule, key in run.keys.items():
            click.echo(f"  {rule}: {key}")
    if e.position_now is not None:
        now = ngettext(
            "now: position {position} in the queue under rule set {rule_set}, {blanks} unreserved blank at the kecamatan",
            "now: position {position} in the queue under rule set {rule_set}, {blanks} unreserved blanks at the kecamatan",
            e.blanks_now or 0,
        )
        click.echo("\n" + now.format(position=e.position_now, rule_set=e.rule_set_now, blanks=e.blanks_now))


@command.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--from-seq", type=click.IntRange(0, SEQ_MAX), default=0, help="Only events after this sequence number.")
@click.option("--unmasked", is_flag=True, help="Show whole NIKs (default: birth date and serial masked).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="File (default stdout); written whole or not at all.",
)
@pass_settings
def export_command(settings: Settings, fmt: str, from_seq: int, unmasked: bool, output: str) -> None:
    """Export the event log as JSON lines or CSV, streaming, NIKs masked.

    CSV cells starting with = + - @ are prefixed with ' so spreadsheets do not run them.

    \b
    Example:
      ektp audit export --format csv -o events.csv
      ektp audit export --from-seq 81234 > new-events.jsonl
    """
    audit = settings.workflow().audit
    total = audit.checkpoint()[0] - from_seq
    with progress(_("exporting events"), settings.quiet, total=total) as advance, output_file(output) as stream:
        count = audit.export(stream, fmt, from_seq, unmasked, advance)
    if output != "-":
        exported = ngettext("exported {count:,} event to {output}", "exported {count:,} events to {output}", count)
        click.echo(exported.format(count=count, output=output), err=True)
