"""``ektp rules``: the allocation rules, changed by operators without a release."""

from __future__ import annotations

import click

from .context import Settings, pass_settings
from .output import emit_json, emit_table


@click.group("rules")
def command() -> None:
    """List rules; show, validate, diff, apply and roll back rule sets.

    A rule set is a TOML file: a [split] rule sharing blanks between kecamatan and
    an ordered list of [[queue]] rules ordering applicants within a kecamatan.

    \b
    Example:
      ektp rules list
      ektp rules diff circular-2020.toml
      ektp --actor dinas/kadis rules apply circular-2020.toml --reason "SE Dirjen 2020"
    """


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(as_json: bool) -> None:
    """The rules installed (built-ins and plugins), with their parameters.

    \b
    Example:
      ektp rules list --json
    """
    from ..rules.registry import available_rules, broken_rules

    rules = available_rules()
    if as_json:
        emit_json(
            [
                {
                    "name": name,
                    "kind": rule.kind,
                    "summary": rule.summary,
                    "parameters": {
                        p: {
                            "type": s.type.__name__,
                            "help": s.help,
                            "default": s.default,
                            "minimum": s.minimum,
                            "maximum": s.maximum,
                        }
                        for p, s in rule.parameters.items()
                    },
                }
                for name, rule in rules.items()
            ]
        )
        return
    for kind in ("split", "queue"):
        click.echo(f"{kind} rules:")
        for name, rule in rules.items():
            if rule.kind == kind:
                click.echo(f"  {name}: {rule.summary}")
                for pname, spec in rule.parameters.items():
                    click.echo(f"      {pname} ({spec.describe()}): {spec.help}")
        click.echo("")
    for name, problem in broken_rules().items():
        click.echo(f"not usable: {name}: {problem}", err=True)


@command.command("show")
@click.argument("version", type=int, required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def show_command(settings: Settings, version: int | None, as_json: bool) -> None:
    """Show the active rule set, or VERSION, as stored.

    \b
    Example:
      ektp rules show
      ektp rules show 2
    """
    book = settings.workflow().rules
    active = book.active()
    stored = active if version is None else book.get(version)
    if as_json:
        emit_json(
            {
                "version": stored.version,
                "active": stored.version == active.version,
                "name": stored.rule_set.name,
                "hash": stored.rule_set.hash,
                "created_at": stored.created_at.isoformat(),
                "created_by": stored.created_by,
                "rules": stored.rule_set.canonical(),
                "text": stored.rule_set.text,
            }
        )
        return
    status = "active" if stored.version == active.version else f"not active (active: {active.version})"
    click.echo(
        f"rule set version {stored.version}, {status}: {stored.rule_set.name}\n"
        f"hash {stored.rule_set.hash}, stored {stored.created_at.isoformat(timespec='seconds')} "
        f"by {stored.created_by}\n{stored.rule_set.describe()}\n"
    )
    click.echo(stored.rule_set.text.rstrip())


@command.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def validate_command(file: str) -> None:
    """Check a rule-set file against the installed rules; exit 1 naming every problem.

    \b
    Example:
      ektp rules validate circular-2020.toml
    """
    from ..rules.ruleset import load_rule_set

    rule_set = load_rule_set(file)
    click.echo(f"{file}: valid: {rule_set.name}\n{rule_set.describe()}\nhash {rule_set.hash}")


@command.command("diff")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def diff_command(settings: Settings, file: str, as_json: bool) -> None:
    """What FILE changes against the active rule set, and who would gain or lose a blank.

    The blanks still at the city are shared by each rule set's split rule, then the
    next allocation is planned under both on the current queue; per kecamatan it lists
    how the shares differ and the applicants who would gain or lose a blank.

    \b
    Example:
      ektp rules diff circular-2020.toml
    """
    diff = settings.workflow().rules.diff(file)
    if as_json:
        emit_json(
            {
                "active_version": diff.active.version,
                "proposed_hash": diff.proposed.hash,
                "changes": diff.changes,
                "allocation": [
                    {"kecamatan": c.kecamatan, "blanks": c.blanks, "gain": list(c.gain), "lose": list(c.lose)}
                    for c in diff.allocation
                ],
                "distribution": [
                    {"kecamatan": c.kecamatan, "active": c.active, "proposed": c.proposed} for c in diff.distribution
                ],
            }
        )
        return
    click.echo(f"against active version {diff.active.version} ({diff.active.rule_set.name}):")
    for change in diff.changes or ["no change to the rules"]:
        click.echo(f"  {change}")
    if diff.distribution:
        click.echo("\nthe blanks still at the city would be shared differently:")
        emit_table(
            ["kecamatan", "now", "proposed"],
            [(c.kecamatan, c.active, c.proposed) for c in diff.distribution],
            right=(1, 2),
        )
    if not diff.allocation:
        click.echo("\nthe next allocation would be the same")
        return
    click.echo("\nthe next allocation would differ:")
    emit_table(
        ["kecamatan", "blanks", "gain", "lose", "for example, gains"],
        [(c.kecamatan, c.blanks, len(c.gain), len(c.lose), ", ".join(c.gain[:3])) for c in diff.allocation],
        right=(1, 2, 3),
    )


@command.command("apply")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--reason", required=True, help="Why: the circular's number and date.")
@pass_settings
def apply_command(settings: Settings, file: str, reason: str) -> None:
    """Store FILE as a new immutable version and make it active (an audited change).

    \b
    Example:
      ektp --actor dinas/kadis rules apply circular-2020.toml --reason "SE Dirjen 2020"
    """
    book = settings.workflow().rules
    version = book.apply(file, actor=settings.require_actor(), reason=reason)
    click.echo(f"rule set version {version} is now active: {book.get(version).rule_set.describe()}")


@command.command("history")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def history_command(settings: Settings, as_json: bool) -> None:
    """Every change of the active rule set: when, who, why.

    \b
    Example:
      ektp rules history
    """
    history = settings.workflow().rules.history()
    if as_json:
        emit_json([{**vars(a), "occurred_at": a.occurred_at.isoformat()} for a in history])
        return
    emit_table(
        ["#", "when", "action", "version", "name", "actor", "reason"],
        [
            (a.seq, a.occurred_at.isoformat(timespec="seconds"), a.action, a.version, a.name, a.actor, a.reason)
            for a in history
        ],
        right=(0, 3),
    )


@command.command("rollback")
@click.argument("version", type=int)
@click.option("--reason", required=True, help="Why the earlier rules come back.")
@pass_settings
def rollback_command(settings: Settings, version: int, reason: str) -> None:
    """Make an earlier VERSION active again (an audited change).

    \b
    Example:
      ektp --actor dinas/kadis rules rollback 1 --reason "circular withdrawn"
    """
    settings.workflow().rules.rollback(version, actor=settings.require_actor(), reason=reason)
    click.echo(f"rule set version {version} is active again")
