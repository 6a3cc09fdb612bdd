"""A fair split before distribution: what each share would serve, and rule changes that
move blanks between kecamatan before they are allocated."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ektp_workflow import FireRequest, Workflow
from ektp_workflow.cli.main import cli

from .conftest import snapshot
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .factories import make_resident

ACTOR = "gudang"
WEIGHT_2 = """name = "first-time applicants count twice"
[split]
rule = "proportional_to_queue"
first_time_weight = 2.0
[[queue]]
rule = "first_time_first"
[[queue]]
rule = "longest_waiting_first"
"""
CONFIRMED = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)


def waiting(workflow: Workflow, kecamatan: str, first_time: int, replacement: int) -> list[str]:
    people = [make_resident(kecamatan) for _ in range(first_time)]
    people += [make_resident(kecamatan, had_ektp=True) for _ in range(replacement)]
    workflow.register(people, actor=ACTOR, at=CONFIRMED - dt.timedelta(days=10))
    steps = [FireRequest(p.nik, t, at=CONFIRMED) for t in ("record", "submit", "confirm_single") for p in people]
    workflow.fire_many(steps, actor=ACTOR)
    return [p.nik for p in people]


@pytest.fixture
def city(workflow: Workflow) -> Workflow:
    """Ten first-time applicants wait at Ilir Timur Satu, thirty replacements at Sako; 20
    blanks wait at the city."""
    waiting(workflow, ITS, 10, 0)
    waiting(workflow, SAKO, 0, 30)
    workflow.blanks.receive("KEMENDAGRI-1", 20, actor=ACTOR)
    return workflow


def test_a_dry_run_shows_whom_each_share_would_serve_and_writes_nothing(city: Workflow, engine: sa.Engine) -> None:
    before = snapshot(engine)
    plan = city.blanks.distribute("KEMENDAGRI-1", actor=ACTOR, dry_run=True)
    assert snapshot(engine) == before
    assert plan.shares == {ITS: 5, SAKO: 15}  # in proportion to the queues, 10 and 30
    outcome = {o.kecamatan: o for o in plan.outcomes}
    assert (outcome[ITS].share, outcome[ITS].first_time_served, outcome[ITS].replacement_served) == (5, 5, 0)
    assert (outcome[SAKO].first_time_served, outcome[SAKO].replacement_served) == (0, 15)
    waited = (dt.datetime.now(dt.UTC).date() - CONFIRMED.date()).days
    assert abs(outcome[ITS].last_served_waited_days - waited) <= 1  # type: ignore[operator]


def test_the_outcomes_count_blanks_already_at_a_kecamatan(city: Workflow) -> None:
    city.blanks.receive("KEMENDAGRI-0", 4, actor=ACTOR)
    city.blanks.distribute("KEMENDAGRI-0", counts={ITS: 4}, actor=ACTOR)
    plan = city.blanks.distribute("KEMENDAGRI-1", actor=ACTOR, dry_run=True)
    outcome = {o.kecamatan: o for o in plan.outcomes}
    assert outcome[ITS].in_stock == 4
    assert outcome[ITS].first_time_served == min(10, 4 + outcome[ITS].share)


def test_rules_diff_shares_the_blanks_still_at_the_city_by_each_split_rule(city: Workflow, tmp_path: Path) -> None:
    proposed = tmp_path / "weight-2.toml"
    proposed.write_text(WEIGHT_2, encoding="utf-8")
    diff = city.rules.diff(proposed)
    shares = {c.kecamatan: (c.active, c.proposed) for c in diff.distribution}
    assert shares == {ITS: (5, 8), SAKO: (15, 12)}  # weights 10 : 30, then 20 : 30
    changes = {c.kecamatan: c for c in diff.allocation}
    assert (len(changes[ITS].gain), len(changes[ITS].lose)) == (3, 0)
    assert (len(changes[SAKO].gain), len(changes[SAKO].lose)) == (0, 3)


def test_rules_diff_on_the_command_line_shows_the_shares(city: Workflow, engine: sa.Engine, tmp_path: Path) -> None:
    proposed = tmp_path / "weight-2.toml"
    proposed.write_text(WEIGHT_2, encoding="utf-8")
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--db", url, "rules", "diff", str(proposed)])
    assert result.exit_code == 0, result.output
    assert "shared differently" in result.stdout and "the next allocation would differ" in result.stdout
    data = json.loads(CliRunner().invoke(cli, ["--db", url, "rules", "diff", str(proposed), "--json"]).stdout)
    assert {d["kecamatan"]: d["proposed"] for d in data["distribution"]} == {ITS: 8, SAKO: 12}


def test_distribute_dry_run_on_the_command_line_shows_the_outcomes(city: Workflow, engine: sa.Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli, ["--db", url, "--actor", ACTOR, "blanks", "distribute", "KEMENDAGRI-1", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "serves first-time" in result.stdout and "last served waited" in result.stdout
    assert "would distribute 20 of 20 blanks" in result.stdout
