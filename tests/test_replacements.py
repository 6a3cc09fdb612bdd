"""Replacements with a reason (``Workflow.replace``, ``ektp card replace``): the category
and what it rests on, chained with the event; rules that tell the categories apart, in
SQL as in Python; the report that counts them; every refusal clean."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from ektp_workflow import FireRequest, Workflow
from ektp_workflow._services.allocation import plan_in_database
from ektp_workflow._store.queue import applicants as read_applicants
from ektp_workflow._store.queue import stock as read_stock
from ektp_workflow._store.schema import cards, waiting_cards
from ektp_workflow.clock import WIB
from ektp_workflow.errors import GuardFailed, TransitionNotAllowed, WorkflowError
from ektp_workflow.rules.planner import plan_allocation
from ektp_workflow.rules.registry import available_rules
from ektp_workflow.rules.ruleset import parse_rule_set

from .conftest import consistent, run_cli
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .test_allocation import queue, stock
from .test_history_chain import tamper

ACTOR = "kec-05/op-1"
REPLACEMENT_RULES = """
name = "SE 2026: damaged before lost"
[split]
rule = "equal"
[[queue]]
rule = "replacement_reason"
damaged = 1
data_change = 2
lost = 3
unknown = 4
[[queue]]
rule = "longest_waiting_first"
"""


def run(db_url: str, *args: str) -> Result:
    return run_cli(db_url, ACTOR, *args)


def collected(workflow: Workflow, kecamatan: str, count: int, reference: str = "B-1") -> list[str]:
    """Residents whose first e-KTP was printed and handed over."""
    niks = queue(workflow, kecamatan, count, 0)
    stock(workflow, {kecamatan: count}, reference)
    workflow.allocate(actor=ACTOR, kecamatan=kecamatan)
    workflow.fire_many([FireRequest(n, t) for n in niks for t in ("print_card", "collect")], actor=ACTOR)
    return niks


def category_of(engine: sa.Engine, nik: str) -> tuple[str | None, str | None]:
    """The card's category, and its queue row's."""
    from ektp_workflow._store.schema import residents

    with engine.connect() as conn:
        row = conn.execute(
            sa.select(cards.c.replacement, waiting_cards.c.replacement)
            .select_from(cards.join(residents, residents.c.id == cards.c.id))
            .outerjoin(waiting_cards, waiting_cards.c.card_id == cards.c.id)
            .where(residents.c.nik == nik)
        ).one()
    return row[0], row[1]


def test_a_lost_card_is_replaced_on_its_police_report_in_one_event_and_entry(
    db_url: str, workflow: Workflow, engine: sa.Engine
) -> None:
    nik = collected(workflow, ITS, 1)[0]
    head = workflow.audit.checkpoint()
    result = run(db_url, "card", "replace", nik, "--category", "lost", "--reference", "LP/123/XI/2026/Polrestabes")
    assert result.exit_code == 0, result.output
    seq = workflow.history(nik)[-1].seq
    assert result.output == (
        f"{nik}: a replacement, lost (police report LP/123/XI/2026/Polrestabes); waiting for a blank (event {seq})\n"
    )
    card = workflow.card(nik)
    assert (card.state, card.had_ektp) == ("deduplicated", True)
    assert workflow.audit.checkpoint()[0] == head[0] + 2  # the event, then the replacement entry
    assert category_of(engine, nik) == ("lost", "lost")
    assert [c.nik for c in workflow.list_cards(replacement=True, order="queue").cards] == [nik]
    consistent(workflow)


def test_damaged_needs_the_old_card_and_data_change_its_correction(workflow: Workflow, engine: sa.Engine) -> None:
    damaged, changed, other = collected(workflow, ITS, 3)
    with pytest.raises(WorkflowError, match="needs the old card surrendered"):
        workflow.replace(damaged, "damaged", actor=ACTOR)
    done = workflow.replace(damaged, "damaged", surrendered=True, reference="TT-0042", actor=ACTOR)
    assert (done.category, done.surrendered, done.reference, done.correction_seq) == ("damaged", True, "TT-0042", None)
    with pytest.raises(WorkflowError, match=f"no correction of the data of {changed} is recorded: correct it first"):
        workflow.replace(changed, "data_change", actor=ACTOR)
    fixed = workflow.correct(changed, name="Nama Baru", actor=ACTOR, reason="ganti nama", evidence="PN 12/2026")
    mine = workflow.correct(other, name="Lain", actor=ACTOR, reason="salah ketik")
    with pytest.raises(WorkflowError, match=f"seq {mine.seq} is not a correction of the data of {changed}"):
        workflow.replace(changed, "data_change", correction=mine.seq, actor=ACTOR)
    done = workflow.replace(changed, "data_change", actor=ACTOR, reason="nama berubah")
    assert done.correction_seq == fixed.seq  # the resident's latest correction
    assert category_of(engine, changed) == ("data_change", "data_change")
    consistent(workflow)


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--category", "lost"], 1, "needs the reference of the police report"),
        (["--category", "stolen"], 2, "'stolen' is not one of 'lost', 'damaged', 'data_change'"),
        (
            ["--category", "lost", "--reference", "LP/1", "--correction", "5"],
            1,
            "a correction is the cause of a data_change replacement",
        ),
        (["--category", "lost", "--reference", " "], 1, "reference"),
        ([], 2, "Missing option '--category'"),
    ],
)
def test_refusals_name_what_is_missing_and_write_nothing(
    db_url: str, workflow: Workflow, args: list[str], code: int, words: str
) -> None:
    nik = collected(workflow, ITS, 1)[0]
    head = workflow.audit.checkpoint()
    result = run(db_url, "card", "replace", nik, *args)
    assert result.exit_code == code and words in result.output, result.output
    assert workflow.audit.checkpoint() == head


def test_a_card_not_collected_or_a_bare_replace_trigger_is_refused(db_url: str, workflow: Workflow) -> None:
    waiting = queue(workflow, ITS, 1, 0)[0]
    with pytest.raises(TransitionNotAllowed, match="'replace' is not allowed from state 'deduplicated'"):
        workflow.replace(waiting, "lost", reference="LP/1", actor=ACTOR)
    nik = collected(workflow, SAKO, 1)[0]
    head = workflow.audit.checkpoint()
    with pytest.raises(GuardFailed, match="use `ektp card replace`"):
        workflow.fire(nik, "replace", actor=ACTOR)
    result = run(db_url, "card", "fire", nik, "replace")
    assert result.exit_code == 3 and "needs its category" in result.output
    bulk = workflow.bulk_fire("replace", actor=ACTOR, where_state="collected")
    assert bulk.applied.get("replace", 0) == 0 and bulk.skipped == 1
    assert workflow.audit.checkpoint() == head and workflow.card(nik).state == "collected"


def test_a_dry_run_checks_everything_and_writes_nothing(db_url: str, workflow: Workflow) -> None:
    nik = collected(workflow, ITS, 1)[0]
    head = workflow.audit.checkpoint()
    result = run(db_url, "card", "replace", nik, "--category", "damaged", "--old-card-surrendered", "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        result.output
        == f"{nik}: a replacement, damaged (old card surrendered); waiting for a blank (dry run: nothing written)\n"
    )
    as_json = json.loads(
        run(
            db_url, "card", "replace", nik, "--category", "damaged", "--old-card-surrendered", "--dry-run", "--json"
        ).output
    )
    assert as_json["category"] == "damaged" and as_json["event"]["seq"] == 0 and as_json["dry_run"] is True
    assert workflow.audit.checkpoint() == head and workflow.card(nik).state == "collected"


def test_a_queue_rule_orders_replacements_by_category_in_sql_as_in_python(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path
) -> None:
    rng = random.Random(18)
    niks = collected(workflow, ITS, 24)
    categories = {}
    for nik in niks:
        category = rng.choice(["lost", "damaged", "data_change", None])
        if category == "lost":
            workflow.replace(nik, "lost", reference=f"LP/{nik[-4:]}", actor=ACTOR)
        elif category == "damaged":
            workflow.replace(nik, "damaged", surrendered=True, actor=ACTOR)
        elif category == "data_change":
            workflow.correct(nik, name=f"Nama {nik[-4:]}", actor=ACTOR, reason="ganti nama")
            workflow.replace(nik, "data_change", actor=ACTOR)
        categories[nik] = category
    imported = queue(workflow, ITS, 2, 3)  # first-time applicants, and replacements of unknown reason
    stock(workflow, {ITS: 12}, "B-2")
    rule_set = parse_rule_set(REPLACEMENT_RULES)
    rules = [q.instantiate(available_rules()) for q in rule_set.queue]
    day = dt.date(2026, 12, 2)
    with engine.connect() as conn:
        in_database = plan_in_database(conn, None, rules, day, 0, rule_set.hash)
        in_python = plan_allocation(read_applicants(conn), read_stock(conn), rules, day, 0, rule_set.hash)
    assert in_database is not None and in_database == in_python
    chosen = [a.nik for a in in_python.chosen()]
    tier = {"damaged": 1, "data_change": 2, "lost": 3, None: 4}
    ranks = [0 if n in imported[:2] else tier[categories.get(n)] for n in chosen]
    assert ranks == sorted(ranks) and ranks[:2] == [0, 0]  # first-time first, then damaged, data_change, ...
    path = tmp_path / "rules.toml"
    path.write_text(REPLACEMENT_RULES, encoding="utf-8")
    workflow.rules.apply(path, actor=ACTOR, reason="SE 2026")
    plan = workflow.allocate(actor=ACTOR)
    assert [a.nik for a in plan.chosen()] == chosen
    for nik in chosen[:3]:  # an auditor re-runs the run from what it kept, categories included
        run_ = workflow.audit.explain(nik).runs[-1]
        assert run_.replanned and run_.allocated
    consistent(workflow)


def test_the_report_counts_replacements_waiting_and_made_by_category(db_url: str, workflow: Workflow) -> None:
    lost, damaged, again = collected(workflow, ITS, 3)
    workflow.replace(lost, "lost", reference="LP/1", actor=ACTOR)
    workflow.replace(damaged, "damaged", surrendered=True, actor=ACTOR)
    queue(workflow, ITS, 0, 1)  # a replacement of unknown reason
    rows = workflow.reports.replacements()
    assert [(r.kecamatan, r.waiting, r.made) for r in rows] == [
        (ITS, {"lost": 1, "damaged": 1, "data_change": 0, "unknown": 1}, {"lost": 1, "damaged": 1, "data_change": 0})
    ]
    table = run(db_url, "report", "replacements").output
    assert "waiting lost" in table and table.splitlines()[2].split()[-7:] == ["1", "1", "0", "1", "1", "1", "0"]
    as_json = json.loads(run(db_url, "report", "replacements", "--json").output)
    assert as_json[0]["made"] == {"lost": 1, "damaged": 1, "data_change": 0}
    tomorrow = dt.datetime.now(WIB).date() + dt.timedelta(days=1)
    later = workflow.reports.replacements(since=tomorrow)
    assert later[0].made == {"lost": 0, "damaged": 0, "data_change": 0} and later[0].waiting["lost"] == 1


def test_audit_catches_an_edited_replacement_and_a_changed_category(workflow: Workflow, engine: sa.Engine) -> None:
    nik = collected(workflow, ITS, 1)[0]
    workflow.replace(nik, "lost", reference="LP/9", actor=ACTOR)
    consistent(workflow)
    with engine.begin() as conn:  # the app role's own SQL on the card: moved up a tier
        conn.execute(cards.update().where(cards.c.replacement == "lost").values(replacement="damaged"))
    assert any("replacement damaged but its last replacement" in p for p in workflow.audit.compare())
    tamper(engine, "UPDATE replacements SET category = 'damaged'")
    report = workflow.audit.verify()
    assert not report.ok and any("replacement" in str(p) for p in report.problems)


def test_a_database_with_replacements_does_not_go_back_to_0011(workflow: Workflow, engine: sa.Engine) -> None:
    from alembic import command
    from ektp_workflow import upgrade
    from ektp_workflow._store.migrations import alembic_config

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0011")
    upgrade(engine)
    nik = collected(workflow, ITS, 1)[0]
    workflow.replace(nik, "lost", reference="LP/9", actor=ACTOR)
    with pytest.raises(RuntimeError, match="1 replacements are chained"), engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0011")
    consistent(workflow)


def test_the_application_role_granted_before_the_upgrade_can_replace_after_it(db_url: str) -> None:
    import uuid

    from ektp_workflow import create_engine, upgrade
    from ektp_workflow.cli.main import cli

    engine = create_engine(db_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("roles are a PostgreSQL matter")
    from alembic import command
    from ektp_workflow._store.migrations import alembic_config

    upgrade(engine)
    role = f"app_{uuid.uuid4().hex[:8]}"
    assert CliRunner().invoke(cli, ["--db", db_url, "db", "grant-app", role]).exit_code == 0
    with engine.begin() as conn:  # as if the role had been made before revision 0012 ...
        command.downgrade(alembic_config(conn), "0011")
    upgrade(engine)  # ... and the release upgraded the schema, as its owner
    as_app = sa.create_engine(sa.make_url(db_url).set(username=role))
    try:
        nik = collected(Workflow(as_app), ITS, 1)[0]
        done = Workflow(as_app).replace(nik, "lost", reference="LP/1", actor="app")
        assert done.event.to_state == "deduplicated"
        consistent(Workflow(as_app))
    finally:
        as_app.dispose()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        engine.dispose()


def test_a_category_set_by_hand_for_one_allocation_run_is_caught_by_replay(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path
) -> None:
    """The app role's own SQL gives a card a better tier for one run, then puts it back."""
    queue(workflow, ITS, 0, 2)  # two replacements of unknown reason
    jumper = queue(workflow, ITS, 0, 1)[0]  # joined last
    rules = tmp_path / "rules.toml"
    rules.write_text(REPLACEMENT_RULES, encoding="utf-8")
    workflow.rules.apply(rules, actor=ACTOR, reason="SE 2026")
    stock(workflow, {ITS: 1})
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE cards SET replacement = 'damaged' WHERE id = (SELECT id FROM residents WHERE nik = '{jumper}')"
        )
    assert [a.nik for a in workflow.allocate(actor=ACTOR).chosen()] == [jumper]
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE cards SET replacement = NULL")
    problems = workflow.audit.compare()
    assert any("with replacement damaged, but the history says None then" in p for p in problems), problems


def test_one_correction_justifies_one_new_card(workflow: Workflow) -> None:
    nik = collected(workflow, ITS, 1)[0]
    fixed = workflow.correct(nik, name="Nama Baru", actor=ACTOR, reason="ganti nama")
    workflow.replace(nik, "data_change", actor=ACTOR)
    stock(workflow, {ITS: 1}, "B-2")
    workflow.allocate(actor=ACTOR)
    workflow.fire_many([FireRequest(nik, t) for t in ("print_card", "collect")], actor=ACTOR)
    with pytest.raises(WorkflowError, match="no correction of the data of .* is recorded since the card was printed"):
        workflow.replace(nik, "data_change", actor=ACTOR)
    with pytest.raises(WorkflowError, match=f"correction seq {fixed.seq} was made before the card .* was printed"):
        workflow.replace(nik, "data_change", correction=fixed.seq, actor=ACTOR)
    with pytest.raises(TransitionNotAllowed):  # a card that is not collected is refused first
        workflow.replace(queue(workflow, ITS, 1, 0)[0], "data_change", actor=ACTOR)
    with pytest.raises(WorkflowError, match="surrendered: 'no' is not True or False"):
        workflow.replace(nik, "damaged", surrendered="no", actor=ACTOR)  # type: ignore[arg-type]
    with pytest.raises(WorkflowError, match="is not the seq of a correction"):
        workflow.replace(nik, "data_change", correction=2**70, actor=ACTOR)


def test_a_rule_set_using_replacement_reason_keeps_the_database_at_0012(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path
) -> None:
    from alembic import command
    from ektp_workflow._store.migrations import alembic_config

    rules = tmp_path / "rules.toml"
    rules.write_text(REPLACEMENT_RULES, encoding="utf-8")
    workflow.rules.apply(rules, actor=ACTOR, reason="SE 2026")
    with pytest.raises(RuntimeError, match="1 stored rule sets use the rule replacement_reason"):
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0011")
    consistent(workflow)
