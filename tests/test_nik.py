"""NIK parsing and validation against the official kecamatan codes."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ektp_workflow import parse_nik
from ektp_workflow.errors import InvalidKecamatan, InvalidNIK
from ektp_workflow.nik import age_on, latest_birth_date
from ektp_workflow.regions import kecamatan_in, kecamatan_of

from .factories import make_nik

DATA = Path(__file__).resolve().parents[1] / "ektp_workflow" / "data" / "kode_wilayah.csv"
TODAY = dt.date(2026, 11, 28)


def _kecamatan_codes() -> list[str]:
    with DATA.open(encoding="utf-8") as handle:
        return [row["kode"] for row in csv.DictReader(handle) if row["level"] == "kecamatan"]


KECAMATAN = _kecamatan_codes()


def test_a_womans_nik_gives_region_birth_date_sex_and_serial() -> None:
    nik = parse_nik("1671054509050001", TODAY)
    assert (nik.region_code, nik.birth_date, nik.sex, nik.serial) == ("16.71.05", dt.date(2005, 9, 5), "F", 1)
    assert nik.masked() == "167105**********"


def test_a_mans_nik_and_a_twentieth_century_year() -> None:
    nik = parse_nik("1671081705900123", TODAY)
    assert (nik.birth_date, nik.sex, nik.serial) == (dt.date(1990, 5, 17), "M", 123)


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("167105450905001", "length"),
        ("16710545090500011", "length"),
        ("16710545O9050001", "length"),
        ("１６７１０５４５０９０５０００１", "length"),
        ("9971054509050001", "region"),
        ("1671994509050001", "region"),
        ("1671053209050001", "birth date"),
        ("1671057209050001", "birth date"),
        ("1671053002050001", "birth date"),
        ("1671051513050001", "birth date"),
        ("1671054509050000", "serial"),
    ],
)
def test_each_wrong_part_is_named(text: str, part: str) -> None:
    with pytest.raises(InvalidNIK) as bad:
        parse_nik(text, TODAY)
    assert bad.value.part == part
    assert text in str(bad.value)


@given(
    code=st.sampled_from(KECAMATAN),
    born=st.dates(dt.date(1927, 1, 1), TODAY),
    sex=st.sampled_from("FM"),
    serial=st.integers(1, 9999),
)
def test_every_real_kecamatan_and_birth_date_makes_a_valid_nik(code: str, born: dt.date, sex: str, serial: int) -> None:
    nik = parse_nik(make_nik(code, born, sex, serial), TODAY)
    assert (nik.region_code, nik.birth_date, nik.sex, nik.serial) == (code, born, sex, serial)


@given(st.text(max_size=40))
def test_arbitrary_text_is_parsed_or_refused_with_invalid_nik(text: str) -> None:
    try:
        parse_nik(text, TODAY)
    except InvalidNIK:
        pass


def test_palembang_has_its_18_kecamatan() -> None:
    names = [k.name for k in kecamatan_in("16.71")]
    assert len(names) == 18
    assert names[0] == "Ilir Barat Dua" and names[-1] == "Ilir Timur Tiga"


@pytest.mark.parametrize("code", ["16.71.05", "167105", " 16.71.05 "])
def test_kecamatan_codes_are_accepted_dotted_or_plain(code: str) -> None:
    assert kecamatan_of(code).code == "16.71.05"


@pytest.mark.parametrize("code", ["16.71", "16.71.99", "1671", "16-71-05", ""])
def test_unknown_or_malformed_kecamatan_is_refused(code: str) -> None:
    with pytest.raises(InvalidKecamatan):
        kecamatan_of(code)


@given(
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)),
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)),
    st.integers(0, 120),
)
def test_the_age_cut_off_date_agrees_with_age_on(born: dt.date, day: dt.date, age: int) -> None:
    """What the SQL keys of age rules rely on, leap days included."""
    if day.year - age < 1:
        return
    assert (age_on(born, day) >= age) == (born <= latest_birth_date(age, day))


@pytest.mark.parametrize(
    ("day", "age", "latest"),
    [
        (dt.date(2028, 2, 29), 17, dt.date(2011, 2, 28)),
        (dt.date(2028, 2, 29), 20, dt.date(2008, 2, 29)),
        (dt.date(2026, 11, 28), 17, dt.date(2009, 11, 28)),
    ],
)
def test_latest_birth_date_on_leap_days(day: dt.date, age: int, latest: dt.date) -> None:
    assert latest_birth_date(age, day) == latest
