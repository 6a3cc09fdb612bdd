"""The tables ``ektp blanks distribute`` and ``ektp blanks status`` print for people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..i18n import N_, _, ngettext
from ..regions import name_of
from .output import emit_table

if TYPE_CHECKING:
    from .. import Batch, Distribution, Loan, QuotaUse

#: Where a kecamatan's blanks stand: the keys of ``blanks status --json`` and, translated,
#: the columns of its tables.
STATUSES = (N_("unallocated"), N_("reserved"), N_("consumed"), N_("spoiled"))


def print_distribution(plan: Distribution, dry_run: bool) -> None:
    """The shares per kecamatan, whom each would serve, and what stays at the city."""
    demand = {d.kecamatan: d for d in plan.demand}
    headers = [
        _("kecamatan"),
        _("name"),
        _("first-time"),
        _("replacement"),
        _("in stock"),
        _("share"),
        _("serves first-time"),
        _("serves replacement"),
        _("last served waited"),
    ]
    rows = [
        (
            o.kecamatan,
            name_of(o.kecamatan),
            _waiting(demand, o.kecamatan, True),
            _waiting(demand, o.kecamatan, False),
            o.in_stock,
            o.share,
            o.first_time_served,
            o.replacement_served,
            _days(o.last_served_waited_days),
        )
        for o in plan.outcomes
    ]
    emit_table(headers, rows, right=tuple(range(2, 9)))
    given = sum(plan.shares.values())
    if dry_run:
        summary = ngettext(
            "{reference}: would distribute {given:,} of {available:,} blank by {rule} "
            "(rule set version {version}); {rest:,} stay at the city",
            "{reference}: would distribute {given:,} of {available:,} blanks by {rule} "
            "(rule set version {version}); {rest:,} stay at the city",
            plan.available,
        )
    else:
        summary = ngettext(
            "{reference}: distributed {given:,} of {available:,} blank by {rule} "
            "(rule set version {version}); {rest:,} stay at the city",
            "{reference}: distributed {given:,} of {available:,} blanks by {rule} "
            "(rule set version {version}); {rest:,} stay at the city",
            plan.available,
        )
    values = {"reference": plan.reference, "given": given, "available": plan.available, "rule": plan.split_rule}
    click.echo("\n" + summary.format(**values, version=plan.rule_set_version, rest=plan.available - given))


def _days(days: int | None) -> str:
    return "-" if days is None else ngettext("{days:,} day", "{days:,} days", days).format(days=days)


def _waiting(demand: dict[str, Any], kecamatan: str, first_time: bool) -> int:
    found = demand.get(kecamatan)
    return 0 if found is None else found.first_time if first_time else found.replacement


def print_stock(
    batches: list[Batch], per_batch: dict[str, dict[str, int]], per_kecamatan: dict[str, dict[str, int]]
) -> None:
    """Blanks per batch, then per kecamatan."""
    statuses = [_(s) for s in STATUSES]
    emit_table(
        [
            _("batch"),
            _("from"),
            _("received on"),
            _("received"),
            _("undistributed"),
            *statuses,
            _("lent"),
            _("request"),
        ],
        [
            (
                b.reference,
                b.lender or _("centre"),
                b.received_on.isoformat(),
                b.received,
                b.undistributed,
                *(per_batch[b.reference][s] for s in STATUSES),
                b.lent,
                b.request or "",
            )
            for b in batches
        ],
        right=tuple(range(3, 10)),
    )
    click.echo("")
    emit_table(
        [_("kecamatan"), _("name"), *statuses],
        [(k, name_of(k), *(v[s] for s in STATUSES)) for k, v in sorted(per_kecamatan.items())],
        right=(2, 3, 4, 5),
    )


def print_quotas(quotas: list[QuotaUse]) -> None:
    """Each month's quota beside the blanks used; ! where use went beyond it."""
    if not quotas:
        return
    click.echo("")
    emit_table(
        ["", _("month"), _("quota"), _("used"), _("over"), _("reference")],
        [
            ("!" if q.over else "", q.month, "-" if q.quota is None else q.quota, q.used, q.over, q.reference or "")
            for q in quotas
        ],
        right=(2, 3, 4),
    )


def print_loans(loans: list[Loan]) -> None:
    """The blanks lent to and borrowed from other kabupaten/kota."""
    if not loans:
        return
    click.echo("")
    emit_table(
        [_("loan"), _("kabupaten/kota"), _("name"), _("blanks"), _("reference"), _("on"), _("by")],
        [
            (
                _("lent to") if loan.direction == "lent" else _("borrowed from"),
                loan.counterpart,
                name_of(loan.counterpart),
                loan.quantity,
                loan.reference,
                loan.day.isoformat(),
                loan.actor,
            )
            for loan in loans
        ],
        right=(3,),
    )


def print_balance(problems: list[str]) -> None:
    """Whether the ledger balances, and if not, why."""
    click.echo("")
    if problems:
        click.echo(_("ledger does NOT balance:") + "\n" + "\n".join(f"  {p}" for p in problems), err=True)
    else:
        click.echo(_("ledger balances: received = undistributed + unallocated + reserved + consumed + spoiled + lent"))
