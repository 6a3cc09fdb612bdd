"""Importing residents from CSV: all rows or none, every bad line named, re-import harmless."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from ektp_workflow import Workflow, read_residents_csv
from ektp_workflow._store import chunks
from ektp_workflow.errors import InputFileError, ProblemList, RowProblem

from .conftest import snapshot
from .factories import make_nik

ACTOR = "dukcapil/import"


def write(tmp_path: Path, text: str, name: str = "residents.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def import_file(workflow: Workflow, path: Path, dry_run: bool = False):  # type: ignore[no-untyped-def]
    return workflow.register_numbered(read_residents_csv(path), actor=ACTOR, source=str(path), dry_run=dry_run)


def good_file(tmp_path: Path) -> Path:
    rows = [
        f"{make_nik('16.71.05', dt.date(2005, 9, 5), 'F')},Siti Aminah,16.71.05,false",
        f"{make_nik('16.07.01', dt.date(1988, 1, 12))},Budi Santoso,167108,true",
        f'{make_nik("16.71.12", dt.date(1970, 3, 2), "F")},"Ratna, S.Pd",16.71.12,',
    ]
    return write(tmp_path, "nik,name,kecamatan,had_ektp\n" + "\n".join(rows) + "\n")


def test_a_good_file_registers_each_resident_with_an_unrecorded_card(workflow: Workflow, tmp_path: Path) -> None:
    result = import_file(workflow, good_file(tmp_path))
    assert (result.added, result.unchanged) == (3, 0)
    cards = workflow.cards()
    assert {c.state for c in cards} == {"unrecorded"}
    budi = next(c for c in cards if c.name == "Budi Santoso")
    assert (budi.kecamatan, budi.had_ektp) == ("16.71.08", True)
    assert budi.nik.startswith("160701"), "the NIK keeps the region of first registration"
    assert {c.name for c in cards} >= {"Ratna, S.Pd"}
    assert all([e.trigger for e in workflow.history(c.nik)] == ["register"] for c in cards)


def test_reimporting_the_same_file_changes_nothing(workflow: Workflow, engine: sa.Engine, tmp_path: Path) -> None:
    path = good_file(tmp_path)
    import_file(workflow, path)
    before = snapshot(engine)
    result = import_file(workflow, path)
    assert (result.added, result.unchanged) == (0, 3)
    assert snapshot(engine) == before


def test_a_file_with_bad_rows_is_refused_whole_listing_every_bad_line(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path
) -> None:
    good = make_nik()
    text = "\n".join(
        [
            "nik,name,kecamatan,had_ektp",
            f"{good},Good Row,16.71.05,false",
            "1671054509050000,Zero Serial,16.71.05,false",
            f"{make_nik()},No Such Kecamatan,16.71.99,false",
            f"{make_nik()},,16.71.05,false",
            f"{make_nik()},Odd Flag,16.71.05,maybe",
            f"{make_nik()},Too,Many,Cells,here",
            f"{good},Same NIK Again,16.71.05,false",
            "9999991705900001,Nowhere,16.71.05,false",
        ]
    )
    before = snapshot(engine)
    with pytest.raises(InputFileError) as refused:
        import_file(workflow, write(tmp_path, text))
    lines = {p.line: p.reason for p in refused.value.problems}
    assert sorted(lines) == [3, 4, 5, 6, 7, 8, 9]
    assert "serial" in lines[3]
    assert "16.71.99" in lines[4]
    assert "name" in lines[5]
    assert "maybe" in lines[6]
    assert "5 cells, the header has 4" in lines[7]
    assert "already appears on line 2" in lines[8]
    assert "region" in lines[9]
    assert "nothing written" in str(refused.value)
    assert snapshot(engine) == before


def test_a_nik_repeated_chunks_later_is_found_without_remembering_the_file(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines far apart (other chunks), and after an earlier bad line: all reported, nothing written."""
    monkeypatch.setattr(chunks, "CHUNK", 3)
    first, second = make_nik(), make_nik()
    rows = [f"{first},Siti Aminah,16.71.05,false", f"{second},Budi,16.71.05,false", "123,Bad NIK,16.71.05,false"]
    rows += [f"{make_nik()},Filler {i},16.71.05,false" for i in range(5)]
    rows += [
        f"{first},Siti Again,16.71.05,false",
        f"{make_nik()},Filler,16.71.05,false",
        f"{second},Budi,16.71.05,false",
    ]
    path = write(tmp_path, "nik,name,kecamatan,had_ektp\n" + "\n".join(rows) + "\n", "kelurahan.csv")
    before = snapshot(engine)
    with pytest.raises(InputFileError) as refused:
        import_file(workflow, path)
    lines = {p.line: p.reason for p in refused.value.problems}
    assert sorted(lines) == [4, 10, 12]
    assert lines[10] == f"NIK {first} already appears on line 2"
    assert lines[12] == f"NIK {second} already appears on line 3"
    assert snapshot(engine) == before


def test_a_nik_repeated_chunks_later_in_a_good_file_names_the_line_that_registered_it(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No bad line before the repeat: the first line was written, and its registration names it."""
    monkeypatch.setattr(chunks, "CHUNK", 2)
    first = make_nik()
    rows = [
        f"{first},Siti Aminah,16.71.05",
        *(f"{make_nik()},Filler {i},16.71.05" for i in range(4)),
        f"{first},Siti Aminah,16.71.05",
    ]
    before = snapshot(engine)
    with pytest.raises(InputFileError) as refused:
        import_file(workflow, write(tmp_path, "nik,name,kecamatan\n" + "\n".join(rows) + "\n", "a (line 9 of x).csv"))
    assert [(p.line, p.reason) for p in refused.value.problems] == [(7, f"NIK {first} already appears on line 2")]
    assert snapshot(engine) == before


def test_a_registered_resident_listed_twice_is_refused_wherever_the_lines_fall(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nik = make_nik()
    import_file(workflow, write(tmp_path, f"nik,name,kecamatan\n{nik},Andi,16.71.05\n", "a.csv"))
    before = snapshot(engine)
    for chunk in (2, 100):  # the two lines in different chunks, then in one
        monkeypatch.setattr(chunks, "CHUNK", chunk)
        rows = [f"{nik},Andi,16.71.05", f"{make_nik()},Budi,16.71.05", f"{nik},Andi,16.71.05"]
        with pytest.raises(InputFileError) as refused:
            import_file(workflow, write(tmp_path, "nik,name,kecamatan\n" + "\n".join(rows) + "\n", "b.csv"))
        assert [(p.line, p.reason) for p in refused.value.problems] == [(4, f"NIK {nik} already appears on line 2")]
        assert snapshot(engine) == before


def test_each_registration_records_the_file_and_line_it_came_from(workflow: Workflow, tmp_path: Path) -> None:
    path = good_file(tmp_path)
    import_file(workflow, path)
    budi = next(c for c in workflow.cards() if c.name == "Budi Santoso")
    (event,) = workflow.history(budi.nik)
    assert event.reason == "line 3 of residents.csv"  # the file's name, not where it lay
    assert event.batch_id and event.batch_id.startswith("registration-")


def test_a_nik_registered_with_other_data_is_reported_not_overwritten(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path
) -> None:
    nik = make_nik()
    import_file(workflow, write(tmp_path, f"nik,name,kecamatan\n{nik},Andi,16.71.05\n", "a.csv"))
    before = snapshot(engine)
    with pytest.raises(InputFileError, match=r"line 2: .*different kecamatan \(stored 16.71.05, file 16.71.08\)"):
        import_file(workflow, write(tmp_path, f"nik,name,kecamatan\n{nik},Andi,16.71.08\n", "b.csv"))
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("nik,name", "missing column(s) kecamatan"),
        ("nik,name,kecamatan,alamat", "unknown column(s) 'alamat'"),
        ("nik,name,kecamatan,nik", "column(s) nik appear more than once"),
        ("", "missing column(s) nik, name, kecamatan"),
    ],
)
def test_a_wrong_header_is_named(workflow: Workflow, tmp_path: Path, header: str, message: str) -> None:
    with pytest.raises(InputFileError, match="line 1: header: " + message.replace("(", r"\(").replace(")", r"\)")):
        import_file(workflow, write(tmp_path, header + "\n"))


def test_semicolons_a_bom_and_crlf_are_read(workflow: Workflow, tmp_path: Path) -> None:
    text = f"\ufeffNIK;Name;Kecamatan\r\n{make_nik()};Dewi;167105\r\n"
    assert import_file(workflow, write(tmp_path, text)).added == 1


def test_a_file_that_is_not_utf8_is_refused(workflow: Workflow, engine: sa.Engine, tmp_path: Path) -> None:
    before = snapshot(engine)
    text = f"nik,name,kecamatan\n{make_nik()},Jos\xe9,16.71.05\n"
    with pytest.raises(InputFileError, match="not UTF-8"):
        import_file(workflow, write(tmp_path, text, encoding="latin-1"))
    assert snapshot(engine) == before


def test_embedded_newlines_keep_the_line_numbers_of_record_starts(workflow: Workflow, tmp_path: Path) -> None:
    text = f'nik,name,kecamatan\n{make_nik()},"Two\nLines",16.71.05\n0000,Bad,16.71.05\n'
    with pytest.raises(InputFileError, match="line 4: invalid NIK"):
        import_file(workflow, write(tmp_path, text))


def test_dry_run_reports_and_writes_nothing(workflow: Workflow, engine: sa.Engine, tmp_path: Path) -> None:
    before = snapshot(engine)
    assert import_file(workflow, good_file(tmp_path), dry_run=True).added == 3
    assert snapshot(engine) == before


def test_priority_flags_are_read(workflow: Workflow, engine: sa.Engine, tmp_path: Path) -> None:
    nik = make_nik()
    text = f"nik,name,kecamatan,disaster_victim,suket\n{nik},Wati,16.71.05,ya,tidak\n"
    import_file(workflow, write(tmp_path, text))
    with engine.connect() as conn:
        flags = conn.execute(sa.text("SELECT disaster_victim, suket FROM residents")).one()
    assert tuple(map(bool, flags)) == (True, False)


def test_birth_date_column_must_agree_with_the_nik(workflow: Workflow, tmp_path: Path) -> None:
    nik = make_nik(born=dt.date(1990, 5, 17))
    text = f"nik,name,kecamatan,birth_date\n{nik},Eka,16.71.05,1991-05-17\n"
    with pytest.raises(InputFileError, match="does not match the NIK"):
        import_file(workflow, write(tmp_path, text))


def test_a_missing_file_is_a_clear_error(workflow: Workflow, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot open"):
        import_file(workflow, tmp_path / "nope.csv")


def test_a_file_of_many_bad_lines_keeps_the_first_thousand_in_line_order_and_counts_all(
    workflow: Workflow, engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays bounded whatever the file: bad lines past the first thousand are only counted."""
    monkeypatch.setattr(chunks, "CHUNK", 700)
    repeated = make_nik()
    rows = [f"{repeated},Siti,16.71.05,false"]
    rows += [f"{make_nik()},,16.71.05,false" for _ in range(1500)]  # no name
    rows += [f"{repeated},Siti,16.71.05,false"]  # a repeat, found after the bad lines of its chunk
    rows += ["123,Bad NIK,16.71.05,false"] * 500
    before = snapshot(engine)
    with pytest.raises(InputFileError) as refused:
        import_file(workflow, write(tmp_path, "nik,name,kecamatan,had_ektp\n" + "\n".join(rows) + "\n"))
    assert refused.value.count == 2001
    assert [p.line for p in refused.value.problems] == list(range(3, 1003))
    assert "2,001 bad lines" in str(refused.value)
    assert snapshot(engine) == before


def test_the_bad_lines_kept_are_the_lowest_whatever_order_they_are_found_in() -> None:
    problems = ProblemList(keep=3)
    for line in (9, 8, 7, 1, 5, 7):
        problems.append(RowProblem(line, f"bad {line}"))
    refused = problems.error("f.csv")
    assert [p.line for p in refused.problems] == [1, 5, 7] and refused.count == 6
    assert refused.problems[2].reason == "bad 7"  # the first found of equal lines
