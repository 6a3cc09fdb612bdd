"""Hostile and broken input: always a clear, typed error, never a traceback, never a partial write.

Set EKTP_FUZZ=long for long runs (thousands of cases each).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ektp_workflow import ResidentRecord, Workflow, read_residents_csv
from ektp_workflow.errors import InputFileError, RuleSetError
from ektp_workflow.rules.ruleset import parse_rule_set

from .conftest import snapshot
from .factories import make_nik
from .test_reliability import log

EXAMPLES = 2000 if os.environ.get("EKTP_FUZZ") == "long" else 60
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

GOOD = [make_nik() for _ in range(3)]
CELLS = st.one_of(
    st.sampled_from(GOOD + ["16.71.05", "167105", "true", "ya", "", "1671054509050000", "16.71.99"]),
    st.text(max_size=30),
    st.text(alphabet=",;\t\"'\n\r=+-@", max_size=10),
    st.just("x" * 140_000),  # beyond the csv module's field limit
)
HEADERS = st.sampled_from(
    [
        "nik,name,kecamatan",
        "nik,name,kecamatan,had_ektp",
        "\ufeffnik;name;kecamatan",
        "NIK, Name ,KECAMATAN",
        "nik,name",
        "nik,name,kecamatan,extra",
        "nik,nik,name,kecamatan",
        "",
        "nik\tname\tkecamatan",
    ]
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(HEADERS)
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=5), max_size=6))
    separator = ";" if ";" in header else ("\t" if "\t" in header else ",")
    text = header + "\n" + "\n".join(separator.join(_quote(c) for c in row) for row in rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


def _quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',;\t"\n\r') else cell


@FUZZ
@given(content=st.one_of(csv_files(), st.binary(max_size=300)))
def test_any_residents_file_is_imported_whole_or_refused_whole(
    workflow: Workflow, engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    path = tmp_path_factory.mktemp("hostile") / "residents.csv"
    path.write_bytes(content)
    before = snapshot(engine)
    try:
        result = workflow.register_numbered(read_residents_csv(path), actor="fuzz", source=str(path))
    except InputFileError as refused:
        assert refused.problems and str(refused)
        assert snapshot(engine) == before, "a refused file writes nothing"
        return
    with engine.connect() as conn:
        registered = conn.scalar(sa.text("SELECT count(*) FROM residents"))
    assert registered == len(before["residents"]) + result.added


@FUZZ
@given(content=st.one_of(csv_files().map(lambda b: b.replace(b"name,kecamatan", b"result")), st.binary(max_size=200)))
def test_any_central_results_file_is_applied_or_refused_whole(
    workflow: Workflow, engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    path = tmp_path_factory.mktemp("hostile") / "hasil.csv"
    path.write_bytes(content)
    before = snapshot(engine)
    try:
        workflow.import_central_results(path, actor="fuzz")
    except InputFileError:
        assert snapshot(engine) == before


SCALARS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
    st.text(max_size=20).map(json.dumps),
    st.just("2029-02-14"),
    st.just("[[1, [2]], {a = 1}]"),
)
RULES = st.sampled_from(
    [
        "first_time_first",
        "priority_tiers",
        "turning_17_before",
        "equal",
        "minimum_per_kecamatan",
        "proportional_to_queue",
        "nonexistent",
        "",
    ]
)
KEYS = st.sampled_from(["rule", "first_time_age", "date", "minimum", "first_time_weight", "colour", "x.y"])


@st.composite
def rule_sets(draw: st.DrawFn) -> str:
    lines = [f"name = {draw(SCALARS)}"] if draw(st.booleans()) else ['name = "fuzz"']
    for table in draw(
        st.lists(st.sampled_from(["[split]", "[[queue]]", "[queue]", "[split.deep]", "[[x]]"]), max_size=4)
    ):
        lines.append(table)
        lines.append(f'rule = "{draw(RULES)}"')
        lines += [f"{draw(KEYS)} = {draw(SCALARS)}" for _ in range(draw(st.integers(0, 3)))]
    return "\n".join(lines) + "\n"


@FUZZ
@given(text=st.one_of(rule_sets(), st.text(max_size=200)))
def test_any_rule_set_text_is_valid_or_refused_with_a_clear_error(text: str) -> None:
    try:
        rule_set = parse_rule_set(text, "fuzz.toml")
    except RuleSetError as refused:
        assert "fuzz.toml" in str(refused) and refused.problems
        return
    assert rule_set.split.rule and rule_set.hash


def test_deeply_nested_rule_set_is_refused(tmp_path: Path) -> None:
    text = 'name = "deep"\n[split]\nrule = "equal"\nfirst_time_weight = ' + "[" * 500 + "]" * 500 + "\n"
    with pytest.raises(RuleSetError):
        parse_rule_set(text, "deep.toml")


HOSTILE_TEXT = [
    "Robert'); DROP TABLE residents;--",
    "名前 ومحمد 🇮🇩 txt.exe end",
    "=cmd|' /C calc'!A0",
    "ß" * 199,
]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_names_and_reasons_with_sql_metacharacters_and_unicode_round_trip(workflow: Workflow, text: str) -> None:
    nik = make_nik()
    workflow.register([ResidentRecord(nik, text, "16.71.05")], actor=text)
    long_reason = (text + " ") * 400
    workflow.fire(nik, "record", actor=text, reason=long_reason)
    card, history = workflow.card(nik), workflow.history(nik)
    assert card.name == " ".join(text.split())
    assert (history[-1].reason, history[-1].actor) == (long_reason, text.strip())
    assert workflow.audit.verify().ok


@pytest.mark.parametrize("text", ["op\x1b[2J", "txt\u202eexe", "Budi\x00"], ids=["esc", "bidi", "nul"])
def test_control_characters_in_names_and_actors_are_refused_before_anything_is_written(
    workflow: Workflow, engine: sa.Engine, text: str
) -> None:
    """(A line break or carriage return in a name folds into a space, as any run of white space.)"""
    from ektp_workflow.errors import InputFileError, InvalidText

    from .conftest import snapshot

    before = snapshot(engine)
    with pytest.raises(InputFileError, match="line 1: invalid name"):
        workflow.register([ResidentRecord(make_nik(), text, "16.71.05")], actor="op")
    for actor in (text, "evil\rGOOD", "two\nlines"):
        with pytest.raises(InvalidText, match="invalid actor"):
            workflow.register([ResidentRecord(make_nik(), "Siti", "16.71.05")], actor=actor)
    assert snapshot(engine) == before


def test_a_reason_keeps_what_it_was_given_and_is_shown_escaped(workflow: Workflow, engine: sa.Engine) -> None:
    from click.testing import CliRunner

    from ektp_workflow.cli.main import cli

    nik = make_nik()
    workflow.register([ResidentRecord(nik, "Siti", "16.71.05")], actor="op")
    reason = "fake\rline \x1b[2J \u202etxt"
    workflow.fire(nik, "record", actor="op", reason=reason)
    assert workflow.history(nik)[-1].reason == reason
    url = engine.url.render_as_string(hide_password=False)
    shown = CliRunner().invoke(cli, ["--db", url, "card", "history", nik]).output
    assert "fake\\rline \\x1b[2J \\u202etxt" in shown and "\r" not in shown and "\x1b" not in shown
    with pytest.raises(Exception, match="a NUL byte"):
        workflow.fire(nik, "submit", actor="op", reason="nul\x00")


def test_fuzz_figures_are_reported(engine: sa.Engine) -> None:
    log(
        {
            "test": "hostile input (hypothesis)",
            "database": engine.dialect.name,
            "fuzz_cases": 3 * EXAMPLES,
            "hostile_inputs": len(HOSTILE_TEXT) + 1,
            "lost": 0,
        }
    )


def _cli(engine: sa.Engine, *args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from ektp_workflow.cli.main import cli

    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--db", url, "--actor", "op", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "replay", "--as-of", "0001-01-01"], "a replay goes back to 1900 at the earliest"),
        (["audit", "replay", "--until-seq", str(10**20)], "is not in the range 0<=x<=9223372036854775807"),
        (["audit", "export", "--from-seq", str(10**20)], "is not in the range 0<=x<=9223372036854775807"),
        (["blanks", "receive", "3000000000", "--reference", "BIG"], "is not in the range 1<=x<=100000000"),
        (["rules", "apply", "FILE", "--reason", "x"], "queue[0].date: must be from 1900-01-01 to 2100-12-31"),
        (["bulk", "fire", "record", "--file", "NULS"], "line 2: reason: contains a NUL byte"),
        (["residents", "import", "NULNAME"], "line 2: name: contains a NUL byte"),
        (["rules", "apply", "NULRULE", "--reason", "x"], "name: it contains a NUL byte"),
    ],
    ids=["as-of", "until-seq", "from-seq", "count", "rule-date", "bulk-nul", "residents-nul", "rule-nul"],
)
def test_out_of_range_and_nul_input_is_a_clean_error_that_changes_nothing(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path, args: list[str], message: str
) -> None:
    nik = make_nik()
    workflow.register([ResidentRecord(nik, "Siti", "16.71.05")], actor="op")
    files = {
        "FILE": 'name = "x"\n[split]\nrule = "equal"\n[[queue]]\nrule = "turning_17_before"\ndate = 0001-01-01\n',
        "NULS": f"nik,reason\n{nik},bad\x00reason\n",
        "NULNAME": f"nik,name,kecamatan\n{make_nik()},Bad\x00Name,16.71.05\n",
        "NULRULE": 'name = "bad\\u0000name"\n[split]\nrule = "equal"\n[[queue]]\nrule = "first_time_first"\n',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    words = [str(tmp_path / word) if word in files else word for word in args]
    before = snapshot(engine)
    code, output = _cli(engine, *words)
    assert code not in (0, -1) and "Traceback" not in output, output
    assert message in output
    assert snapshot(engine) == before


def test_a_missing_chain_head_is_named_not_a_crash(workflow: Workflow, engine: sa.Engine) -> None:
    nik = make_nik()
    workflow.register([ResidentRecord(nik, "Siti", "16.71.05")], actor="op")
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM event_chain")
    assert not workflow.audit.verify().ok
    for args in (["audit", "verify"], ["card", "fire", nik, "die"], ["audit", "checkpoint"]):
        code, output = _cli(engine, *args)
        assert code == 1 and "the chain head (the one row of table event_chain) is missing" in output, output


def test_an_export_that_fails_half_way_leaves_the_old_file(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from ektp_workflow._audit.auditor import Auditor

    workflow.register([ResidentRecord(make_nik(), "Siti", "16.71.05")], actor="op")
    target = tmp_path / "events.jsonl"
    target.write_text("the export of yesterday\n", encoding="utf-8")

    def full_disk(self: object, out: object, *args: object, **kwargs: object) -> int:
        out.write('{"seq": 1}\n')  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Auditor, "export", full_disk)
    code, output = _cli(engine, "audit", "export", "-o", str(target))
    assert code == 1 and "No space left on device" in output and "Traceback" not in output
    assert target.read_text(encoding="utf-8") == "the export of yesterday\n"
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    code, output = _cli(engine, "audit", "export", "-o", str(tmp_path / "missing" / "e.jsonl"))
    assert code == 1 and "No such file or directory" in output
