"""Allocation on a real database: rules decide, plans are reproducible, stock is conserved."""

from __future__ import annotations

import datetime as dt
import random
import textwrap
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ektp_workflow import FireRequest, ResidentRecord, Workflow, create_engine, upgrade
from ektp_workflow._services.allocation import plan_in_database, queue_position
from ektp_workflow._store.queue import applicants as read_applicants
from ektp_workflow._store.queue import stock as read_stock
from ektp_workflow._store.schema import cards, residents, waiting_cards
from ektp_workflow.errors import RuleSetError, StockError, TransitionNotAllowed
from ektp_workflow.rules.base import Applicant, QueueColumns
from ektp_workflow.rules.builtin import FirstTimeFirst, PriorityTiers
from ektp_workflow.rules.planner import order_queue, plan_allocation
from ektp_workflow.rules.registry import available_rules
from ektp_workflow.rules.ruleset import parse_rule_set

from .conftest import snapshot
from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .factories import make_resident

ACTOR = "dinas/kabid"
TODAY = dt.date(2026, 11, 28)


def queue(
    workflow: Workflow, kecamatan: str, first_time: int, replacement: int, born: dt.date = dt.date(1990, 1, 1)
) -> list[str]:
    """Residents whose cards wait in deduplicated: first-time ones, then replacements."""
    residents = [make_resident(kecamatan, born=born) for _ in range(first_time)]
    residents += [make_resident(kecamatan, born=born, had_ektp=True) for _ in range(replacement)]
    workflow.register(residents, actor=ACTOR)
    steps = [FireRequest(r.nik, t) for t in ("record", "submit", "confirm_single") for r in residents]
    workflow.fire_many(steps, actor=ACTOR)
    return [r.nik for r in residents]


def stock(workflow: Workflow, counts: dict[str, int], reference: str = "B-1") -> None:
    workflow.blanks.receive(reference, sum(counts.values()), actor=ACTOR)
    workflow.blanks.distribute(reference, counts=counts, actor=ACTOR)


def states(workflow: Workflow, niks: list[str]) -> list[str]:
    return [workflow.card(n).state for n in niks]


def test_default_rules_give_blanks_to_first_time_applicants_first(workflow: Workflow) -> None:
    replacements_first = queue(workflow, ITS, 0, 3)  # registered, and waiting, earlier
    first_time = queue(workflow, ITS, 2, 0)
    stock(workflow, {ITS: 3})
    plan = workflow.allocate(actor=ACTOR)
    assert states(workflow, first_time) == ["allocated"] * 2
    assert states(workflow, replacements_first).count("allocated") == 1
    assert (plan.kecamatan[0].served(True), plan.kecamatan[0].served(False)) == (2, 1)


def test_allocation_events_record_the_rule_set_version_and_the_run(workflow: Workflow) -> None:
    (nik,) = queue(workflow, ITS, 1, 0)
    stock(workflow, {ITS: 1})
    plan = workflow.allocate(actor=ACTOR)
    event = workflow.history(nik)[-1]
    assert (event.trigger, event.rule_set_version, event.batch_id) == ("allocate", 1, plan.run_id)
    assert event.actor == ACTOR and plan.run_id and plan.run_id.startswith("allocation-")


def test_dry_run_plans_the_same_and_writes_nothing(workflow: Workflow, engine: sa.Engine) -> None:
    queue(workflow, ITS, 3, 2)
    queue(workflow, SAKO, 1, 4)
    stock(workflow, {ITS: 2, SAKO: 3})
    before = snapshot(engine)
    dry = workflow.allocate(actor=ACTOR, dry_run=True)
    assert snapshot(engine) == before
    assert workflow.plan_allocation() == dry
    real = workflow.allocate(actor=ACTOR)
    assert [a.nik for a in real.chosen()] == [a.nik for a in dry.chosen()]


def test_one_kecamatan_only(workflow: Workflow) -> None:
    here = queue(workflow, ITS, 1, 0)
    there = queue(workflow, SAKO, 1, 0)
    stock(workflow, {ITS: 1, SAKO: 1})
    workflow.allocate(actor=ACTOR, kecamatan="167108")
    assert states(workflow, here + there) == ["deduplicated", "allocated"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shape=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 6)), min_size=2, max_size=2),
)
def test_no_replacement_gets_a_blank_while_a_first_time_applicant_there_waits(
    workflow: Workflow, shape: list[tuple[int, int, int]]
) -> None:
    waiting = {}
    for kecamatan, (first, replacement, _) in zip((ITS, SAKO), shape):
        waiting[kecamatan] = queue(workflow, kecamatan, first, replacement)
    counts = {k: blanks for k, (_, _, blanks) in zip((ITS, SAKO), shape) if blanks}
    if counts:
        stock(workflow, counts, reference=f"B-{len(workflow.blanks.batches())}")
    workflow.allocate(actor=ACTOR)
    for kecamatan, niks in waiting.items():
        cards = [workflow.card(n) for n in niks]
        replacement_served = any(c.had_ektp and c.state == "allocated" for c in cards)
        first_time_waiting = any(not c.had_ektp and c.state == "deduplicated" for c in cards)
        assert not (replacement_served and first_time_waiting)
    for cards in ([workflow.card(n) for n in niks] for niks in waiting.values()):
        for card in cards:
            workflow.fire(card.nik, "die", actor=ACTOR)  # empty the queue for the next example
    assert workflow.blanks.problems() == []


def test_distribution_follows_the_split_rule_and_dry_run_writes_nothing(workflow: Workflow, engine: sa.Engine) -> None:
    queue(workflow, ITS, 30, 10)
    queue(workflow, SAKO, 5, 5)
    workflow.blanks.receive("KEMENDAGRI-1", 25, actor=ACTOR)
    before = snapshot(engine)
    dry = workflow.blanks.distribute("KEMENDAGRI-1", actor=ACTOR, dry_run=True)
    assert snapshot(engine) == before
    assert dry.shares == {ITS: 20, SAKO: 5}
    assert workflow.blanks.distribute("KEMENDAGRI-1", actor=ACTOR).shares == dry.shares
    assert {s.kecamatan: s.unallocated for s in workflow.blanks.stock()} == {None: 0, ITS: 20, SAKO: 5}
    assert workflow.blanks.problems() == []


def test_blanks_no_queue_needs_stay_at_the_city(workflow: Workflow) -> None:
    queue(workflow, ITS, 2, 0)
    workflow.blanks.receive("B", 10, actor=ACTOR)
    plan = workflow.blanks.distribute("B", actor=ACTOR)
    assert plan.shares == {ITS: 2}
    assert workflow.blanks.batches()[0].undistributed == 8


def test_spoiling_more_than_is_there_is_refused_with_the_numbers(workflow: Workflow, engine: sa.Engine) -> None:
    stock(workflow, {ITS: 3})
    workflow.blanks.spoil(ITS, 1, actor=ACTOR, reason="ribbon jam")
    before = snapshot(engine)
    with pytest.raises(StockError, match="cannot spoil 5 blanks at kecamatan 16.71.05: 2 unreserved there"):
        workflow.blanks.spoil(ITS, 5, actor=ACTOR, reason="jam")
    assert snapshot(engine) == before
    assert workflow.blanks.problems() == []


OPERATIONS = st.lists(
    st.sampled_from(["receive", "distribute", "allocate", "print", "release", "spoil", "die", "queue"]),
    max_size=14,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, data=st.data())
def test_conservation_holds_after_every_command(workflow: Workflow, operations: list[str], data: st.DataObject) -> None:
    for operation in operations:
        try:
            _run(workflow, operation, data)
        except (StockError, RuleSetError):
            pass  # refused, and refusals change nothing: conservation still holds
        assert workflow.blanks.problems() == []
    allocated = workflow.cards(state="allocated", limit=10_000)
    reserved = sum(s.reserved for s in workflow.blanks.stock())
    assert len(allocated) == reserved, "every reserved blank serves exactly one allocated card"


def _run(workflow: Workflow, operation: str, data: st.DataObject) -> None:
    kecamatan = data.draw(st.sampled_from([ITS, SAKO]))
    count = data.draw(st.integers(1, 4))
    if operation == "receive":
        workflow.blanks.receive(f"R-{uuid.uuid4().hex}", count, actor=ACTOR)
    elif operation == "distribute" and workflow.blanks.batches():
        workflow.blanks.distribute(workflow.blanks.batches()[-1].reference, actor=ACTOR)
    elif operation == "allocate":
        workflow.allocate(actor=ACTOR)
    elif operation == "spoil":
        workflow.blanks.spoil(kecamatan, count, actor=ACTOR, reason="test")
    elif operation == "queue":
        queue(workflow, kecamatan, count, data.draw(st.integers(0, 2)))
    else:
        trigger = {"print": "print_card", "release": "release", "die": "die"}[operation]
        for card in workflow.cards(state="allocated", limit=count):
            workflow.fire(card.nik, trigger, actor=ACTOR)


def write_rules(tmp_path: Path, body: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


LONGEST_WAITING_ONLY = """
    name = "longest waiting first, whoever they are"
    [split]
    rule = "equal"
    [[queue]]
    rule = "longest_waiting_first"
"""


def test_apply_history_and_rollback_are_audited(workflow: Workflow, tmp_path: Path) -> None:
    version = workflow.rules.apply(write_rules(tmp_path, LONGEST_WAITING_ONLY), actor="dinas/kadis", reason="SE 2019")
    assert version == 2 and workflow.rules.active().version == 2
    workflow.rules.rollback(1, actor="dinas/kadis", reason="SE withdrawn")
    assert workflow.rules.active().version == 1
    history = [(a.version, a.action, a.actor, a.reason) for a in workflow.rules.history()]
    assert history == [
        (1, "apply", "ektp_workflow", "default rule set of a new database"),
        (2, "apply", "dinas/kadis", "SE 2019"),
        (1, "rollback", "dinas/kadis", "SE withdrawn"),
    ]


def test_stored_versions_are_immutable_and_identical_rules_reuse_their_version(
    workflow: Workflow, tmp_path: Path
) -> None:
    path = write_rules(tmp_path, LONGEST_WAITING_ONLY)
    workflow.rules.apply(path, actor=ACTOR, reason="first")
    text = workflow.rules.get(2).rule_set.text
    workflow.rules.rollback(1, actor=ACTOR, reason="back")
    reformatted = write_rules(tmp_path, "# reformatted\n" + LONGEST_WAITING_ONLY, "again.toml")
    assert workflow.rules.apply(reformatted, actor=ACTOR, reason="again") == 2
    assert workflow.rules.get(2).rule_set.text == text


def test_a_rule_change_without_reason_or_to_the_active_set_is_refused(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path
) -> None:
    path = write_rules(tmp_path, LONGEST_WAITING_ONLY)
    before = snapshot(engine)
    with pytest.raises(RuleSetError, match="a reason is required"):
        workflow.rules.apply(path, actor=ACTOR, reason=" ")
    with pytest.raises(RuleSetError, match="already active"):
        workflow.rules.rollback(1, actor=ACTOR, reason="no-op")
    with pytest.raises(RuleSetError, match="no such rule-set version"):
        workflow.rules.rollback(7, actor=ACTOR, reason="typo")
    assert snapshot(engine) == before


def test_diff_names_who_would_gain_and_lose_a_blank(workflow: Workflow, tmp_path: Path) -> None:
    old_replacement = queue(workflow, ITS, 0, 1)
    new_first_time = queue(workflow, ITS, 1, 0)
    stock(workflow, {ITS: 1})
    diff = workflow.rules.diff(write_rules(tmp_path, LONGEST_WAITING_ONLY))
    assert diff.changes == [
        "name: 'first-time applicants first' -> 'longest waiting first, whoever they are'",
        "split: proportional_to_queue(first_time_weight=1.0) -> equal",
        "queue: first_time_first, longest_waiting_first -> longest_waiting_first",
    ]
    (change,) = diff.allocation
    assert (change.gain, change.lose) == (tuple(old_replacement), tuple(new_first_time))


THIRD_PARTY = '''
import datetime as dt

class ElderlyFirst:
    """Residents aged 60 or more first: a rule from outside the project."""

    name = "elderly_first"
    kind = "queue"
    summary = "residents aged `age` or more first"
    parameters = {}

    def __init__(self):
        pass

    def key(self, applicant, today):
        return 0 if (today - applicant.birth_date).days >= 60 * 365.25 else 1
'''


@pytest.fixture
def third_party_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Install a distribution, outside this project, that publishes a rule by entry point."""
    site = tmp_path / "site"
    info = site / "dukcapil_extra_rules-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "dukcapil_extra_rules.py").write_text(THIRD_PARTY, encoding="utf-8")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dukcapil-extra-rules\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ektp_workflow.rules]\nelderly_first = dukcapil_extra_rules:ElderlyFirst\n")
    monkeypatch.syspath_prepend(str(site))
    return "elderly_first"


def test_a_third_party_rule_is_used_by_name(workflow: Workflow, tmp_path: Path, third_party_rule: str) -> None:
    young = queue(workflow, ITS, 1, 0, born=dt.date(2000, 1, 1))
    elderly = queue(workflow, ITS, 1, 0, born=dt.date(1950, 1, 1))
    stock(workflow, {ITS: 1})
    rules = write_rules(
        tmp_path,
        f"""
        name = "elders first"
        [split]
        rule = "equal"
        [[queue]]
        rule = "{third_party_rule}"
    """,
    )
    workflow.rules.apply(rules, actor=ACTOR, reason="Perda lansia")
    workflow.allocate(actor=ACTOR)
    assert states(workflow, young + elderly) == ["deduplicated", "allocated"]


QUEUE_RULES = [
    '[[queue]]\nrule = "first_time_first"',
    '[[queue]]\nrule = "priority_tiers"\nfirst_time_age = 20',
    '[[queue]]\nrule = "longest_waiting_first"',
    '[[queue]]\nrule = "turning_17_before"\ndate = 2024-02-29',
    '[[queue]]\nrule = "priority_tiers"\n[[queue]]\nrule = "turning_17_before"\ndate = 2024-02-29',
    '[[queue]]\nrule = "turning_17_before"\ndate = 2024-02-29\n[[queue]]\nrule = "first_time_first"',
]


@pytest.mark.parametrize("queue_rules", QUEUE_RULES)
@pytest.mark.parametrize("day", [dt.date(2028, 2, 29), dt.date(2027, 3, 1)])
def test_the_database_orders_the_queue_exactly_as_the_rules_do_in_python(
    workflow: Workflow, engine: sa.Engine, queue_rules: str, day: dt.date
) -> None:
    """Built-in rules say their keys in SQL; the plan must not change because of it."""
    rng = random.Random(queue_rules + str(day))
    # birth dates on both sides of every cut-off the rules use, leap days included
    births = [
        dt.date(2007, 2, 27),
        dt.date(2007, 2, 28),
        dt.date(2007, 3, 1),
        dt.date(2004, 2, 29),
        dt.date(2008, 2, 29),
        dt.date(2006, 3, 1),
        dt.date(1990, 5, 17),
    ]
    residents = []
    for _ in range(90):
        kecamatan = rng.choice([ITS, SAKO])
        born = rng.choice(births)
        resident = make_resident(kecamatan, born=born, had_ektp=rng.random() < 0.4)
        residents.append(
            ResidentRecord(
                resident.nik,
                resident.name,
                kecamatan,
                resident.had_ektp,
                born,
                disaster_victim=rng.random() < 0.2,
                suket=rng.random() < 0.3,
            )
        )
    start = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    workflow.register(residents, actor=ACTOR, at=start)
    workflow.fire_many([FireRequest(r.nik, t, at=start) for t in ("record", "submit") for r in residents], actor=ACTOR)
    for group in range(3):  # three waiting times, shared by many: ties left to the NIK
        waiting_since = start + dt.timedelta(days=group + 1)
        workflow.fire_many(
            [FireRequest(r.nik, "confirm_single", at=waiting_since) for r in residents[group::3]], actor=ACTOR
        )
    stock(workflow, {ITS: 17, SAKO: 60})  # ITS runs out, SAKO serves everyone
    rule_set = parse_rule_set(f'name = "test"\n[split]\nrule = "equal"\n{queue_rules}')
    rules = [q.instantiate(available_rules()) for q in rule_set.queue]
    with engine.connect() as conn:
        in_database = plan_in_database(conn, None, rules, day, 0, rule_set.hash)
        in_python = plan_allocation(read_applicants(conn), read_stock(conn), rules, day, 0, rule_set.hash)
    assert in_database is not None
    assert in_database == in_python
    assert workflow.plan_allocation(rule_set=rule_set, day=day) == in_python
    assert sum(k.waiting for k in in_python.kecamatan) > 0  # some had to wait
    with engine.connect() as conn:  # and each card's place, counted in the database, is its place in Python
        for kecamatan in (ITS, SAKO):
            ordered = order_queue(read_applicants(conn, kecamatan), rules, day)
            assert [queue_position(conn, a.card_id, kecamatan, rules, day) for a in ordered] == list(
                range(1, len(ordered) + 1)
            )


def test_a_rule_that_overrides_key_alone_is_not_ordered_by_its_parents_sql(
    workflow: Workflow, engine: sa.Engine
) -> None:
    class ElderTiers(PriorityTiers):
        def key(self, applicant: Applicant, today: dt.date) -> int:
            return 0 if applicant.birth_date.year < 1960 else super().key(applicant, today)

    class ElderTiersInSql(ElderTiers):
        def sql_key(self, columns: QueueColumns, today: dt.date) -> Any:
            return sa.case((columns.birth_date < dt.date(1960, 1, 1), 0), else_=super().sql_key(columns, today))

    with engine.connect() as conn:
        assert plan_in_database(conn, None, [ElderTiers()], TODAY, 0, "h") is None
        assert plan_in_database(conn, None, [ElderTiersInSql()], TODAY, 0, "h") is not None
        assert plan_in_database(conn, None, [PriorityTiers(), FirstTimeFirst()], TODAY, 0, "h") is not None


# -- the queue table the database keeps ------------------------------------------------


def queue_table(engine: sa.Engine) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The rows of waiting_cards, and what they must be: every card in deduplicated with its
    resident and the time it joined the queue."""
    w = waiting_cards.c
    with engine.connect() as conn:
        kept = set(
            conn.execute(
                sa.select(
                    w.kecamatan, w.card_id, w.nik, w.birth_date, w.had_ektp, w.disaster_victim, w.suket, w.waiting_since
                )
            )
        )
        derived = set(
            conn.execute(
                sa.select(
                    residents.c.kecamatan,
                    cards.c.id,
                    residents.c.nik,
                    residents.c.birth_date,
                    residents.c.had_ektp,
                    residents.c.disaster_victim,
                    residents.c.suket,
                    cards.c.queued_at,
                )
                .select_from(cards.join(residents, cards.c.id == residents.c.id))
                .where(cards.c.state == "deduplicated")
            )
        )
    return kept, derived


def test_the_queue_table_follows_every_way_a_card_enters_or_leaves_the_queue(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path
) -> None:
    def check(step: str) -> None:
        kept, derived = queue_table(engine)
        assert kept == derived, step

    waiting = queue(workflow, ITS, 3, 2)  # single fires
    check("fire_many into the queue")
    assert len(queue_table(engine)[0]) == 5
    more = [make_resident(SAKO) for _ in range(4)]
    workflow.register(more, actor=ACTOR)
    for trigger, state in (("record", "unrecorded"), ("submit", "recorded")):
        workflow.bulk_fire(trigger, actor=ACTOR, where_state=state)
    results = tmp_path / "central.csv"
    results.write_text(
        "nik,result\n"
        + "".join(f"{r.nik},{res}\n" for r, res in zip(more, ["single", "single", "duplicate", "duplicate"]))
    )
    workflow.import_central_results(results, actor=ACTOR)
    check("central import")
    workflow.fire(more[2].nik, "resolve_duplicate", actor=ACTOR)
    check("resolve_duplicate")
    stock(workflow, {ITS: 2, SAKO: 1})
    allocated = [a.nik for a in workflow.allocate(actor=ACTOR).chosen()]
    check("allocate")
    assert len(queue_table(engine)[0]) == 8 - 3
    workflow.fire(allocated[0], "release", actor=ACTOR)
    check("release: back in the queue, waiting since now")
    workflow.fire(allocated[1], "print_card", actor=ACTOR)
    workflow.fire(allocated[1], "collect", actor=ACTOR)  # the resident now holds an e-KTP
    workflow.replace(allocated[1], "lost", reference="LP/1", actor=ACTOR)
    check("replace: a replacement applicant")
    workflow.fire(waiting[4], "die", actor=ACTOR)
    check("die while waiting")
    workflow.bulk_fire("move_out", actor=ACTOR, where_state="deduplicated", kecamatan=SAKO, limit=1)
    check("bulk move_out")
    with engine.begin() as conn:  # a correction made by an integrator's own SQL
        conn.execute(
            residents.update()
            .where(residents.c.nik == waiting[0])
            .values(kecamatan=SAKO, suket=True, disaster_victim=True, birth_date=dt.date(1991, 2, 3))
        )
        conn.execute(
            cards.update()
            .where(cards.c.state == "deduplicated", residents.c.nik == waiting[1], cards.c.id == residents.c.id)
            .values(queued_at=sa.func.current_timestamp())
        )
    check("resident and waiting time changed in place")
    assert workflow.plan_allocation(kecamatan=SAKO).kecamatan[0].queue == sum(
        1 for row in queue_table(engine)[0] if row[0] == SAKO
    )


def test_the_queue_table_rolls_back_with_the_transaction(workflow: Workflow, engine: sa.Engine) -> None:
    residents_ = [make_resident(ITS) for _ in range(3)]
    workflow.register(residents_, actor=ACTOR)
    workflow.fire_many([FireRequest(r.nik, t) for t in ("record", "submit") for r in residents_], actor=ACTOR)
    before = snapshot(engine)
    entering = [FireRequest(r.nik, "confirm_single") for r in residents_]
    with pytest.raises(TransitionNotAllowed):  # the last one fails: the first two entered, then roll back
        workflow.fire_many([*entering[:2], FireRequest(residents_[0].nik, "record")], actor=ACTOR)
    assert snapshot(engine) == before
    assert queue_table(engine) == (set(), set())


def test_the_migration_fills_the_queue_table_from_cards_already_waiting(db_url: str) -> None:
    """Cards a revision-0005 database holds in deduplicated (4 + 2) and elsewhere (1)."""
    engine = create_engine(db_url)
    upgrade(engine, "0005")
    at = "2026-11-01 08:00:00+00"
    with engine.begin() as conn:
        for i, (kecamatan, state, had) in enumerate(
            [(ITS, "deduplicated", False)] * 3
            + [(ITS, "deduplicated", True), (SAKO, "deduplicated", False)]
            + [(SAKO, "deduplicated", True), (SAKO, "prr", False)],
            1,
        ):
            r = make_resident(kecamatan, had_ektp=had)
            conn.execute(
                sa.text(
                    "INSERT INTO residents (id, nik, name, kecamatan, birth_date, sex, had_ektp, registered_at) "
                    "VALUES (:i, :nik, 'X', :k, :born, 'M', :had, :at)"
                ),
                {"i": i, "nik": r.nik, "k": kecamatan, "born": r.birth_date, "had": had, "at": at},
            )
            conn.execute(
                sa.text("INSERT INTO cards (id, state, version, updated_at) VALUES (:i, :s, 4, :at)"),
                {"i": i, "s": state, "at": at},
            )
    upgrade(engine)
    kept, derived = queue_table(engine)
    engine.dispose()
    assert kept == derived and len(kept) == 6


@pytest.mark.parametrize("first", ["card", "resident"])
def test_the_queue_table_follows_a_resident_changed_while_the_card_enters_the_queue(
    workflow: Workflow, engine: sa.Engine, first: str
) -> None:
    """An integrator's own SQL on residents, concurrent with a card entering the queue, in either order."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    resident = make_resident(ITS)
    workflow.register([resident], actor=ACTOR)
    workflow.fire_many([FireRequest(resident.nik, t) for t in ("record", "submit")], actor=ACTOR)

    def correct(conn: sa.Connection) -> None:
        conn.execute(residents.update().where(residents.c.nik == resident.nik).values(kecamatan=SAKO, suket=True))

    def enter(conn: sa.Connection) -> None:
        Workflow(conn).fire(resident.nik, "confirm_single", actor=ACTOR)

    hold, wait = (enter, correct) if first == "card" else (correct, enter)
    with engine.connect() as holding:
        with holding.begin():
            hold(holding)  # uncommitted while the other transaction starts
            other = threading.Thread(target=lambda: _in_transaction(engine, wait))
            other.start()
            other.join(timeout=0.5)
            assert other.is_alive(), "the second transaction waits for the first's row"
        other.join(timeout=30)
    kept, derived = queue_table(engine)
    assert kept == derived and {row[0] for row in kept} == {SAKO}


def _in_transaction(engine: sa.Engine, work: Any) -> None:
    with engine.begin() as conn:
        work(conn)


def test_a_sql_key_given_as_an_ordering_still_gives_each_place(workflow: Workflow, engine: sa.Engine) -> None:
    """``sql_key`` may return ``.desc()``: it orders the plan; places are then counted in Python."""

    class YoungestFirst:
        name, kind, summary, parameters = "youngest_first", "queue", "youngest first", {}

        def key(self, applicant: Applicant, today: dt.date) -> int:
            return -applicant.birth_date.toordinal()

        def sql_key(self, columns: QueueColumns, today: dt.date) -> Any:
            return columns.birth_date.desc()

    for born in (dt.date(1990, 1, 1), dt.date(2000, 1, 1), dt.date(1980, 1, 1)):
        queue(workflow, ITS, 1, 0, born=born)
    rules = [YoungestFirst()]
    with engine.connect() as conn:
        ordered = order_queue(read_applicants(conn, ITS), rules, TODAY)
        assert [a.birth_date.year for a in ordered] == [2000, 1990, 1980]
        assert [queue_position(conn, a.card_id, ITS, rules, TODAY) for a in ordered] == [1, 2, 3]
