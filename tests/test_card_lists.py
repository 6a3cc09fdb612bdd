"""Finding and listing cards (``Workflow.list_cards``, ``ektp cards list``): filters that
combine, a name search that ignores case, accents and spaces, keyset paging in three
orders, and the queue in the order the rules give blanks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from ektp_workflow import FireRequest, Workflow
from ektp_workflow.cli.main import cli
from ektp_workflow.errors import WorkflowError

from .factories import PALEMBANG_ILIR_TIMUR_SATU as ITS
from .factories import PALEMBANG_SAKO as SAKO
from .factories import make_resident
from .test_allocation import queue
from .test_history_chain import tamper

ACTOR = "kec-05/op-1"


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, "--actor", ACTOR, *args])


def niks(page_cards: list) -> list[str]:  # type: ignore[type-arg]
    return [card.nik for card in page_cards]


def every_page(workflow: Workflow, limit: int, after: str | None = None, **options: object) -> list[str]:
    found = []
    while True:
        page = workflow.list_cards(after=after, limit=limit, **options)  # type: ignore[arg-type]
        found += niks(page.cards)
        if page.next is None:
            return found
        after = page.next


@pytest.fixture
def office(workflow: Workflow) -> dict[str, list[str]]:
    """Two kecamatan: waiting first-time and replacement applicants, some only recorded,
    and residents with names to search for."""
    people = {
        "its waiting": queue(workflow, ITS, 2, 1),
        "sako waiting": queue(workflow, SAKO, 1, 1),
    }
    named = [
        make_resident(ITS, name="Siti Nurhalizā"),
        make_resident(SAKO, name="SITI   Aminah"),
        make_resident(ITS, name="Andi a_b"),
        make_resident(ITS, name="Andi axb"),
    ]
    workflow.register(named, actor=ACTOR)
    workflow.fire_many([FireRequest(named[0].nik, "record")], actor=ACTOR)
    people["named"] = [r.nik for r in named]
    return people


def test_filters_combine(workflow: Workflow, office: dict[str, list[str]]) -> None:
    its_first, _, its_replacement = office["its waiting"]
    siti, siti_sako, andi_1, andi_2 = office["named"]
    assert every_page(workflow, 100, states=["deduplicated"], kecamatan=ITS) == sorted(office["its waiting"])
    undotted = ITS.replace(".", "")
    assert every_page(workflow, 100, states=["deduplicated"], kecamatan=undotted) == sorted(office["its waiting"])
    assert every_page(workflow, 100, kecamatan=ITS, replacement=True) == [its_replacement]
    assert set(every_page(workflow, 100, states=["recorded", "unrecorded"])) == {siti, siti_sako, andi_1, andi_2}
    assert every_page(workflow, 100, states=["recorded"]) == [siti]
    assert every_page(workflow, 100, states=["deduplicated"], kecamatan=SAKO, replacement=False) == [
        office["sako waiting"][0]
    ]
    every = every_page(workflow, 100)
    assert len(every) == 9 and every == sorted(every)
    prefix = its_first[:10]
    assert every_page(workflow, 100, nik_prefix=prefix) == sorted(n for n in every if n.startswith(prefix))
    assert every_page(workflow, 100, nik_prefix=its_first) == [its_first]


def test_a_name_is_found_by_any_part_whatever_its_case_accents_or_spaces(
    workflow: Workflow, office: dict[str, list[str]]
) -> None:
    siti, siti_sako, andi_1, andi_2 = office["named"]
    assert every_page(workflow, 10, name="siti") == sorted([siti, siti_sako])
    assert every_page(workflow, 10, name="  NURHALIZA ") == [siti]
    assert every_page(workflow, 10, name="nurhalizā") == [siti]
    assert every_page(workflow, 10, name="siti aminah") == [siti_sako]
    assert every_page(workflow, 10, name="i a") == sorted([siti_sako, andi_1, andi_2])
    # % and _ are letters, not patterns
    assert every_page(workflow, 10, name="a_b") == [andi_1]
    assert every_page(workflow, 10, name="%") == []
    assert every_page(workflow, 10, name="siti", kecamatan=SAKO) == [siti_sako]


def test_pages_in_each_order_hold_every_card_once(workflow: Workflow, office: dict[str, list[str]]) -> None:
    for order in ("nik", "waiting"):
        whole = niks(workflow.list_cards(order=order, limit=1000).cards)
        assert len(whole) == 9
        for limit in (1, 2, 4):
            assert every_page(workflow, limit, order=order) == whole, (order, limit)
    waiting = niks(workflow.list_cards(order="queue", limit=1000).cards)
    assert sorted(waiting) == sorted(office["its waiting"] + office["sako waiting"])
    assert every_page(workflow, 2, order="queue") == waiting


def test_the_waiting_order_is_longest_in_the_state_first(workflow: Workflow) -> None:
    now = dt.datetime.now(dt.UTC)
    residents = [make_resident(ITS) for _ in range(3)]
    workflow.register(residents, actor=ACTOR, at=now - dt.timedelta(days=90))
    for resident, days in zip(residents, (10, 40, 70), strict=True):
        workflow.fire(resident.nik, "record", actor=ACTOR, at=now - dt.timedelta(days=days))
    oldest_first = [residents[2].nik, residents[1].nik, residents[0].nik]
    assert niks(workflow.list_cards(order="waiting").cards) == oldest_first
    assert niks(workflow.list_cards(order="waiting", waiting_longer_than=30).cards) == oldest_first[:2]
    assert niks(workflow.list_cards(waiting_longer_than=60).cards) == [residents[2].nik]


def test_a_card_that_moves_between_pages_makes_no_other_card_repeat_or_go_missing(
    workflow: Workflow, office: dict[str, list[str]]
) -> None:
    first = workflow.list_cards(order="waiting", limit=3)
    moved = first.cards[0].nik
    before = niks(workflow.list_cards(order="waiting", limit=1000).cards)
    workflow.fire(moved, "die", actor=ACTOR, reason="laporan kematian")
    rest = every_page(workflow, 2, order="waiting", after=first.next)
    # the rest is what followed the first page before, in order, and the moved card now last
    assert rest == [*before[3:], moved]


def test_the_queue_is_listed_in_the_order_blanks_would_go(workflow: Workflow) -> None:
    replacements = queue(workflow, ITS, 0, 2)  # waiting longer
    first_time = queue(workflow, ITS, 2, 0)
    sako = queue(workflow, SAKO, 1, 0)
    listed = niks(workflow.list_cards(order="queue", limit=100).cards)
    assert listed == [*first_time, *replacements, *sako]  # the default rules: first-time applicants first
    assert niks(workflow.list_cards(order="queue", kecamatan=SAKO).cards) == sako
    assert niks(workflow.list_cards(order="queue", replacement=True).cards) == replacements
    workflow.blanks.receive("B-1", 2, actor=ACTOR)
    workflow.blanks.distribute("B-1", counts={ITS: 2}, actor=ACTOR)
    plan = workflow.plan_allocation()
    assert [a.nik for a in plan.chosen()] == listed[:2]


def test_the_queue_sorted_in_python_where_rules_have_no_sql_is_the_same(
    workflow: Workflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue(workflow, ITS, 0, 2)
    queue(workflow, ITS, 2, 0)
    queue(workflow, SAKO, 1, 1)
    in_sql = every_page(workflow, 2, order="queue")
    monkeypatch.setattr("ektp_workflow.rules.planner.sql_keys_of", lambda rules: None)
    assert every_page(workflow, 2, order="queue") == in_sql
    assert every_page(workflow, 1, order="queue", replacement=False) == [
        n for n in in_sql if not workflow.card(n).had_ektp
    ]


def test_a_queue_cursor_whose_card_left_the_queue_is_refused(workflow: Workflow) -> None:
    queue(workflow, ITS, 3, 0)
    page = workflow.list_cards(order="queue", limit=1)
    assert page.next is not None
    workflow.fire(page.cards[0].nik, "die", actor=ACTOR)
    with pytest.raises(WorkflowError, match="is not in the queue any more"):
        workflow.list_cards(order="queue", after=page.next)


def test_a_queue_cursor_whose_card_moved_in_the_queue_is_refused_not_guessed(workflow: Workflow) -> None:
    """The card a page ended on changed kecamatan: where the next page starts is unknown."""
    queue(workflow, ITS, 3, 0)
    queue(workflow, SAKO, 3, 0)
    page = workflow.list_cards(order="queue", limit=2)
    assert page.next is not None and workflow.list_cards(order="queue", after=page.next).cards
    workflow.correct(page.cards[-1].nik, kecamatan=SAKO, actor=ACTOR, reason="alamat")
    with pytest.raises(WorkflowError, match="may stand elsewhere in the queue now"):
        workflow.list_cards(order="queue", after=page.next)
    with pytest.raises(WorkflowError, match="is not one of a list in queue order"):
        workflow.list_cards(order="queue", after=page.cards[-1].nik)
    with pytest.raises(WorkflowError, match="does not end in a NIK"):
        workflow.list_cards(order="nik", after=page.next)
    fresh = workflow.list_cards(order="queue", limit=1, kecamatan=SAKO)
    with pytest.raises(WorkflowError, match="is of the queue of kecamatan"):
        workflow.list_cards(order="queue", kecamatan=ITS, after=fresh.next)


def test_invisible_characters_and_the_dotless_i_do_not_hide_a_name(workflow: Workflow) -> None:
    hidden = [make_resident(ITS, name="Siti\u200bNur"), make_resident(ITS, name="Dewi\u00adSoft")]
    turkish = make_resident(ITS, name="Yılmaz")
    workflow.register([*hidden, turkish], actor=ACTOR)
    assert every_page(workflow, 10, name="sitinur") == [hidden[0].nik]
    assert every_page(workflow, 10, name="dewisoft") == [hidden[1].nik]
    assert every_page(workflow, 10, name="YILMAZ") == [turkish.nik]
    assert workflow.audit.compare() == []


def test_csv_cells_that_would_start_a_formula_are_text(workflow: Workflow, db_url: str) -> None:
    resident = make_resident(ITS, name='=HYPERLINK("http://x","a")')
    workflow.register([resident], actor=ACTOR)
    rows = list(csv.DictReader(io.StringIO(run(db_url, "cards", "list", "--nik", resident.nik, "--csv").stdout)))
    assert rows[0]["name"] == '\'=HYPERLINK("http://x","a")'


def test_the_cli_lists_a_page_with_its_cursor_as_a_table_json_and_csv(
    workflow: Workflow, db_url: str, office: dict[str, list[str]]
) -> None:
    result = run(db_url, "cards", "list", "--state", "deduplicated", "--limit", "2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["nik", "name", "kecamatan", "state", "applicant", "since"]
    expected = sorted(office["its waiting"] + office["sako waiting"])
    assert [line.split()[0] for line in lines[2:4]] == expected[:2]
    assert lines[-1] == f"next: --after {expected[1]}"
    rest = run(db_url, "cards", "list", "--state", "deduplicated", "--after", expected[1])
    assert [line.split()[0] for line in rest.output.splitlines()[2:-1]] == expected[2:]
    assert rest.output.splitlines()[-1] == "3 cards, the last page"

    as_json = json.loads(run(db_url, "cards", "list", "--name", "siti", "--json").output)
    assert as_json["next"] is None
    assert {(c["name"], c["state"]) for c in as_json["cards"]} == {
        ("Siti Nurhalizā", "recorded"),
        ("SITI Aminah", "unrecorded"),
    }
    assert [c["nik"] for c in as_json["cards"]] == sorted(c["nik"] for c in as_json["cards"])

    as_csv = run(db_url, "cards", "list", "--first-time", "--kecamatan", ITS, "--csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert {row["nik"] for row in rows} == set(office["its waiting"][:2]) | {
        office["named"][0],
        office["named"][2],
        office["named"][3],
    }
    assert {row["applicant"] for row in rows} == {"first-time"}
    assert run(db_url, "cards", "list", "--name", "nobody").output == "no cards match\n"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--state", "recordd"], "unknown state 'recordd'; expected one of: unrecorded"),
        (["--nik", "12a"], "NIK prefix '12a': expected 1 to 16 digits"),
        (["--kecamatan", "99.99.99"], "invalid kecamatan '99.99.99'"),
        (["--name", "   "], "the name to search for is empty"),
        (["--order", "waiting", "--after", "yesterday"], "cursor 'yesterday' is not one of a list by waiting time"),
        (["--after", "123"], "cursor '123' does not end in a NIK"),
        (["--limit", "0"], "0 is not in the range 1<=x<=10000"),
        (["--json", "--csv"], "choose one of --json and --csv"),
        (["--first-time", "--replacement"], "choose one of --first-time and --replacement"),
        (["--order", "queue", "--after", "1671050101900001"], "is not one of a list in queue order"),
    ],
)
def test_bad_options_are_named_and_the_exit_code_is_not_zero(
    workflow: Workflow, db_url: str, args: list[str], words: str
) -> None:
    result = run(db_url, "cards", "list", *args)
    assert result.exit_code != 0
    assert words in result.output


def test_replay_finds_a_name_key_changed_to_hide_a_resident_from_search(
    workflow: Workflow, engine: sa.Engine, office: dict[str, list[str]]
) -> None:
    siti = office["named"][0]
    assert workflow.audit.compare() == []
    tamper(engine, f"UPDATE residents SET name_key = 'x' WHERE nik = '{siti}'")
    assert every_page(workflow, 10, name="nurhaliza") == []
    problems = workflow.audit.compare()
    assert any("name_key 'x' is not the search key of the name" in p for p in problems), problems
