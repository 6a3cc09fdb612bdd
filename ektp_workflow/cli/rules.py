"""``ektp rules``: the allocation rules, changed by operators without a release."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..i18n import _, translated
from .context import Settings, pass_settings
from .output import emit_json, emit_table, when

if TYPE_CHECKING:
    from .. import RuleSetDiff


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
        click.echo(_("{kind} rules:").format(kind=kind))
        for name, rule in rules.items():
            if rule.kind == kind:
                click.echo(f"  {name}: {_text(rule.summary)}")
                for pname, spec in rule.parameters.items():
                    click.echo(f"      {pname} ({spec.describe()}): {_text(spec.help)}")
        click.echo("")
    for name, problem in broken_rules().items():
        click.echo(_("not usable: {name}: {problem}").format(name=name, problem=problem), err=True)


def _text(text: str) -> str:
    """A rule's own text (its summary, a parameter's help) in the language in use, when
    the catalogue has it (``_("")`` would be the catalogue's header)."""
    return _(text) if text else text


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
    if stored.version == active.version:
        status = _("active")
    else:
        status = _("not active (active: {version})").format(version=active.version)
    click.echo(
        _("rule set version {version}, {status}: {name}").format(
            version=stored.version, status=status, name=translated(stored.rule_set.name)
        )
    )
    stamp = _("hash {hash}, stored {at} by {actor}")
    click.echo(stamp.format(hash=stored.rule_set.hash, at=when(stored.created_at), actor=stored.created_by))
    click.echo(f"{stored.rule_set.describe()}\n")
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
    click.echo(_("{file}: valid: {name}").format(file=file, name=translated(rule_set.name)))
    click.echo(rule_set.describe())
    click.echo(_("hash {hash}").format(hash=rule_set.hash))


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
    _print_diff(diff)


def _print_diff(diff: RuleSetDiff) -> None:
    click.echo(
        _("against active version {version} ({name}):").format(
            version=diff.active.version, name=translated(diff.active.rule_set.name)
        )
    )
    for change in diff.changes or [_("no change to the rules")]:
        click.echo(f"  {change}")
    if diff.distribution:
        click.echo("\n" + _("the blanks still at the city would be shared differently:"))
        emit_table(
            [_("kecamatan"), _("now"), _("proposed")],
            [(c.kecamatan, c.active, c.proposed) for c in diff.distribution],
            right=(1, 2),
        )
    if not diff.allocation:
        click.echo("\n" + _("the next allocation would be the same"))
        return
    click.echo("\n" + _("the next allocation would differ:"))
    emit_table(
        [_("kecamatan"), _("blanks"), _("gain"), _("lose"), _("for example, gains")],
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
    described = book.get(version).rule_set.describe()
    click.echo(_("rule set version {version} is now active: {rules}").format(version=version, rules=described))


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
        ["#", _("when"), _("action"), _("version"), _("name"), _("actor"), _("reason")],
        [(a.seq, when(a.occurred_at), a.action, a.version, translated(a.name), a.actor, a.reason) for a in history],
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
    click.echo(_("rule set version {version} is active again").format(version=version))
