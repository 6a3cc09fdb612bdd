"""``ektp card``: one card, its transitions and its history."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click

from ..i18n import _, translated
from ..text import shown
from . import complete
from .context import Settings, pass_settings
from .output import emit_json, emit_table, local, when

if TYPE_CHECKING:
    from .. import Replacement, Reprint


class _Moment(click.ParamType):  # type: ignore[type-arg]
    """When something happened: a day, or a day and time, with or without a zone."""

    name = "TIME"
    _FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        for pattern in self._FORMATS:
            try:
                return dt.datetime.strptime(str(value).strip(), pattern)
            except ValueError:
                continue
        self.fail(
            _(
                "{value!r} is not a time: expected a day or a day and time such as 2026-11-28, "
                "2026-11-28T09:30 (in the zone in use) or 2026-11-28T09:30+0800"
            ).format(value=value),
            param,
            ctx,
        )


_AT = _Moment()


def _local_time(at: dt.datetime | None) -> dt.datetime | None:
    """A time given without a zone is in the zone in use (``--tz``, the region's, else WIB)."""
    return local(at) if at is not None else None


@click.group("card")
def command() -> None:
    """Show a card, fire a trigger on it, reprint or replace it, read its history.

    \b
    Example:
      ektp card show 1671054509050001
      ektp --actor op-1 card fire 1671054509050001 record
      ektp --actor op-1 card reprint 1671054509050001 --reason "ribbon jam"
    """


@command.command("show")
@click.argument("nik")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def show_command(settings: Settings, nik: str, as_json: bool) -> None:
    """Show the card of NIK: resident, state and what may happen next.

    \b
    Example:
      ektp card show 1671054509050001 --json
    """
    workflow = settings.workflow()
    card = workflow.card(nik)
    state = workflow.lifecycle.states[card.state]
    next_triggers = workflow.lifecycle.triggers_from(card.state)
    if as_json:
        emit_json({**card.as_dict(), "label": state.label, "siak": state.siak, "next": next_triggers})
        return
    sex = _("female") if card.sex == "F" else _("male")
    rows = [
        ("NIK", card.nik),
        (_("name"), card.name),
        (_("kecamatan"), card.kecamatan),
        (_("born"), f"{card.birth_date.isoformat()} ({sex})"),
        (_("applicant"), _("replacement (held an e-KTP before)") if card.had_ektp else _("first-time")),
        (_("state"), f"{card.state} (SIAK {state.siak})"),
        (_("meaning"), translated(state.label)),
        (_("version"), card.version),
        (_("since"), when(card.updated_at)),
        (_("next"), ", ".join(next_triggers) or _("nothing: terminal state")),
    ]
    width = max(len(key) for key, _value in rows) + 2
    for key, value in rows:
        click.echo(f"{key + ':':<{width}}{shown(str(value))}")


@command.command("fire")
@click.argument("nik")
@click.argument("trigger", shell_complete=complete.triggers)
@click.option("--reason", help="Why: recorded on the event.")
@click.option("--key", "idempotency_key", help="Idempotency key: the same key applies once.")
@click.option("--expected-version", type=int, help="Refuse if the card is no longer at this version.")
@click.option(
    "--at",
    type=_AT,
    help="When it happened, e.g. 2026-11-28T09:30+0700 (default now; without a zone, the zone in use).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the event as JSON.")
@pass_settings
def fire_command(
    settings: Settings,
    nik: str,
    trigger: str,
    reason: str | None,
    idempotency_key: str | None,
    expected_version: int | None,
    at: dt.datetime | None,
    as_json: bool,
) -> None:
    """Fire TRIGGER on the card of NIK (one transaction, one event).

    `ektp states list` shows the triggers and where they may fire.

    \b
    Example:
      ektp --actor kec-05/op-1 card fire 1671054509050001 record --reason "perekaman"
      ektp --actor siak-adapter card fire 1671054509050001 submit --key prr-2026-0001
    """
    actor = settings.require_actor()
    at = _local_time(at)
    event = settings.workflow().fire(
        nik,
        trigger,
        actor=actor,
        reason=reason,
        idempotency_key=idempotency_key,
        expected_version=expected_version,
        at=at,
    )
    if as_json:
        emit_json(event.as_dict())
        return
    fired = _("{nik}: {source} -> {dest} (event {seq}, version {version}, {trigger})")
    click.echo(
        fired.format(
            nik=event.nik,
            source=event.from_state,
            dest=event.to_state,
            seq=event.seq,
            version=event.version,
            trigger=event.trigger,
        )
    )


@command.command("reprint")
@click.argument("nik")
@click.option("--reason", required=True, help="What spoiled the blank, e.g. 'ribbon jam' (recorded).")
@click.option("--key", "idempotency_key", help="Idempotency key: the same key applies once.")
@click.option("--expected-version", type=int, help="Refuse if the card is no longer at this version.")
@click.option("--at", type=_AT, help="When it happened (default now; without a zone, the zone in use).")
@click.option("--dry-run", is_flag=True, help="Say what would happen; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def reprint_command(
    settings: Settings,
    nik: str,
    reason: str,
    idempotency_key: str | None,
    expected_version: int | None,
    at: dt.datetime | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """The blank was spoiled printing the card of NIK: record it and print again.

    The card must be allocated (its blank reserved) or printed. The blank is recorded
    spoiled against the card in the ledger (misprinted, or voided if its print was
    recorded), and the card gets the next unreserved blank at its kecamatan at once;
    with none in stock it waits for the next one in the place it had in the queue.
    One transaction, one event (reprint or requeue). Two desks reporting the same
    failure: give it a --key (or the --expected-version `card show` printed), so that
    it is recorded once and no good blank is spoiled.

    \b
    Example:
      ektp --actor kec-05/printer card reprint 1671054509050001 --reason "ribbon jam"
      ektp --actor kec-05/printer card reprint 1671054509050001 --reason "chip" --expected-version 6
    """
    done = settings.workflow().reprint(
        nik,
        actor=settings.require_actor(dry_run),
        reason=reason,
        at=_local_time(at),
        idempotency_key=idempotency_key,
        expected_version=expected_version,
        dry_run=dry_run,
    )
    if as_json:
        emit_json(
            {"nik": done.nik, "kecamatan": done.kecamatan, "spoiled": done.spoiled, "event": done.event.as_dict()}
        )
        return
    click.echo(_reprinted(done, dry_run))
    if not dry_run:
        event = _("event {seq}: {trigger}, {source} -> {dest}")
        click.echo(
            event.format(
                seq=done.event.seq, trigger=done.event.trigger, source=done.event.from_state, dest=done.event.to_state
            )
        )


def _reprinted(done: Reprint, dry_run: bool) -> str:
    """What ``card reprint`` did (or would do) with the spoiled blank and the next one."""
    if dry_run:
        spoiled = _("{nik}: its blank would be recorded {movement} (spoiled against the card)")
    else:
        spoiled = _("{nik}: its blank recorded {movement} (spoiled against the card)")
    if done.waiting and dry_run:
        then = _(
            "no unreserved blank at {kecamatan}: it would wait for the next in the place it had "
            "(ektp cards list --order queue --kecamatan {kecamatan})"
        )
    elif done.waiting:
        then = _(
            "no unreserved blank at {kecamatan}: it waits for the next in the place it had "
            "(ektp cards list --order queue --kecamatan {kecamatan})"
        )
    elif dry_run:
        then = _("the next blank at {kecamatan} would be reserved for it")
    else:
        then = _("the next blank at {kecamatan} is reserved for it")
    return spoiled.format(nik=done.nik, movement=done.spoiled) + "; " + then.format(kecamatan=done.kecamatan)


@command.command("replace")
@click.argument("nik")
@click.option(
    "--category", required=True, type=click.Choice(["lost", "damaged", "data_change"]), help="Why another card."
)
@click.option("--reference", metavar="REF", help="lost: the police report (required); damaged: the receipt, if any.")
@click.option("--old-card-surrendered", "surrendered", is_flag=True, help="The old card was handed in (damaged).")
@click.option(
    "--correction",
    type=click.IntRange(min=1),
    metavar="SEQ",
    help="data_change: the correction (default the latest).",
)
@click.option("--reason", help="Anything else to record.")
@click.option("--dry-run", is_flag=True, help="Check it; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def replace_command(
    settings: Settings,
    nik: str,
    category: str,
    reference: str | None,
    surrendered: bool,
    correction: int | None,
    reason: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """The resident of NIK (card collected) needs another card, and why.

    lost: with the police report's reference. damaged: once the old card is handed
    in. data_change: after the correction of the resident's data that makes the card
    wrong (ektp residents correct; its seq, default the latest). The card joins the
    queue as a replacement applicant; the category is recorded, chained, and rules
    and reports can tell the categories apart.

    \b
    Example:
      ektp --actor kec-05/op-1 card replace 1671054509050001 --category lost --reference LP/123/XI/2026
      ektp --actor kec-05/op-1 card replace 1671054509050001 --category damaged --old-card-surrendered
      ektp --actor kec-05/op-1 card replace 1671054509050001 --category data_change
    """
    done = settings.workflow().replace(
        nik,
        category,
        actor=settings.require_actor(dry_run),
        reference=reference,
        surrendered=surrendered,
        correction=correction,
        reason=reason,
        dry_run=dry_run,
    )
    if as_json:
        emit_json({**done.as_dict(), "dry_run": dry_run})
        return
    if dry_run:
        replaced = _("{nik}: a replacement, {category} ({rests}); waiting for a blank (dry run: nothing written)")
    else:
        replaced = _("{nik}: a replacement, {category} ({rests}); waiting for a blank (event {seq})")
    click.echo(replaced.format(nik=done.nik, category=done.category, rests=_rests(done), seq=done.event.seq))


def _rests(done: Replacement) -> str:
    """What a replacement rests on: the police report, the old card, the correction."""
    if done.category == "lost":
        return _("police report {reference}").format(reference=done.reference)
    if done.category == "damaged" and done.reference:
        return _("old card surrendered, receipt {reference}").format(reference=done.reference)
    if done.category == "damaged":
        return _("old card surrendered")
    return _("correction seq {seq}").format(seq=done.correction_seq)


@command.command("history")
@click.argument("nik")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def history_command(settings: Settings, nik: str, as_json: bool) -> None:
    """Every event of the card of NIK, oldest first.

    \b
    Example:
      ektp card history 1671054509050001
    """
    events = settings.workflow().history(nik)
    if as_json:
        emit_json([e.as_dict() for e in events])
        return
    emit_table(
        [_("seq"), _("v"), _("occurred"), _("trigger"), _("from"), _("to"), _("actor"), _("reason")],
        [
            (
                e.seq,
                e.version,
                when(e.occurred_at),
                e.trigger,
                e.from_state or "-",
                e.to_state,
                e.actor,
                e.reason or "",
            )
            for e in events
        ],
        right=(0, 1),
    )
