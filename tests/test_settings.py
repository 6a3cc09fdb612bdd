"""The settings an office gives once: ektp.toml in the working directory or the user's
config folder, overridden by the environment and by flags; ``ektp config show`` says
where each value came from. And the zone times are shown in."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ektp_workflow import clock
from ektp_workflow.cli import output
from ektp_workflow.cli.main import cli


@pytest.fixture
def office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no config, and a user config folder of its own."""
    monkeypatch.delenv("EKTP_CONFIG", raising=False)
    for name in ("EKTP_DATABASE_URL", "EKTP_ACTOR", "EKTP_REGION", "EKTP_TZ", "EKTP_LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def settings(env: dict[str, str] | None = None, *flags: str) -> dict[str, dict[str, str]]:
    result = CliRunner().invoke(cli, [*flags, "config", "show", "--json"], env=env or {})
    assert result.exit_code == 0, result.output
    return {row["key"]: row for row in json.loads(result.stdout)["settings"]}


def test_a_file_in_the_working_directory_gives_every_setting(office: Path) -> None:
    (office / "ektp.toml").write_text(
        'database = "sqlite:///kota.db"\nactor = "kec-05/op"\nregion = "7371"\nlanguage = "en"\ntime_zone = "WITA"\n'
    )
    shown = settings()
    assert shown["database"]["value"] == f"sqlite:///{office / 'kota.db'}"  # beside the file
    assert shown["actor"]["value"] == "kec-05/op" and shown["region"]["value"] == "73.71"
    assert shown["time_zone"]["value"] == "WITA"
    assert all(row["source"] == f"file {office / 'ektp.toml'}" for row in shown.values())


def test_the_environment_overrides_the_file_and_a_flag_the_environment(office: Path) -> None:
    (office / "ektp.toml").write_text('actor = "from-file"\n')
    assert settings({"EKTP_ACTOR": "from-env"})["actor"] == {
        "key": "actor",
        "value": "from-env",
        "source": "environment EKTP_ACTOR",
    }
    assert settings({"EKTP_ACTOR": "from-env"}, "--actor", "from-flag")["actor"]["source"] == "flag --actor"


def test_the_working_directory_wins_over_the_user_folder(office: Path, tmp_path: Path) -> None:
    user = tmp_path / "home-config" / "ektp"
    user.mkdir(parents=True)
    (user / "ektp.toml").write_text('actor = "user"\nregion = "16.71"\n')
    (office / "ektp.toml").write_text('actor = "office"\n')
    shown = settings()
    assert shown["actor"]["value"] == "office" and shown["region"]["value"] == "16.71"
    assert shown["region"]["source"] == f"file {user / 'ektp.toml'}"
    assert shown["time_zone"] == {"key": "time_zone", "value": "WIB", "source": "region 16.71"}


def test_the_database_of_the_file_is_the_one_used(office: Path) -> None:
    (office / "ektp.toml").write_text(f'database = "{office / "kota.db"}"\n')
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (office / "kota.db").is_file()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('databse = "x"\n', "unknown key 'databse'; expected one of: database, actor, region, language, time_zone"),
        ('actor = "a"\nactor = \n', "not valid TOML"),
        ("actor = 7\n", 'actor must be a text in quotes, as actor = "..."'),
        ('region = "99.99"\n', "ektp.toml: region: invalid kabupaten/kota '99.99'"),
        ('language = "fr"\n', "ektp.toml: language: 'fr' is not a language; expected one of: en, id"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_key(office: Path, text: str, expected: str) -> None:
    (office / "ektp.toml").write_text(text)
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 2
    assert expected in result.output
    if "TOML" in expected:
        assert "line 2" in result.output and str(office / "ektp.toml") in result.output


def test_ektp_config_names_the_one_file_read(office: Path, tmp_path: Path) -> None:
    named = tmp_path / "elsewhere.toml"
    named.write_text('actor = "named"\n')
    (office / "ektp.toml").write_text('actor = "ignored"\n')
    assert settings({"EKTP_CONFIG": str(named)})["actor"]["value"] == "named"
    missing = CliRunner().invoke(cli, ["config", "show"], env={"EKTP_CONFIG": str(tmp_path / "none.toml")})
    assert missing.exit_code == 2 and "EKTP_CONFIG=" in missing.output and "no such file" in missing.output


def test_the_zone_of_each_province() -> None:
    assert clock.zone_of("16.71") is clock.WIB  # Palembang
    assert clock.zone_of("3171") is clock.WIB  # Jakarta
    assert clock.zone_of("73.71.01") is clock.WITA  # Makassar
    assert clock.zone_of("51.71") is clock.WITA  # Denpasar
    assert clock.zone_of("91.71") is clock.WIT  # Jayapura
    assert clock.zone_of("81.71") is clock.WIT  # Ambon


@pytest.mark.parametrize(
    ("flags", "shown"),
    [
        ((), "2026-12-02 13:20:05+07:00"),
        (("--region", "73.71"), "2026-12-02 14:20:05+08:00"),
        (("--tz", "WIT"), "2026-12-02 15:20:05+09:00"),
        (("--tz", "Asia/Makassar"), "2026-12-02 14:20:05+08:00"),
        (("--utc",), "2026-12-02 06:20:05+00:00"),
        (("--region", "91.71", "--utc"), "2026-12-02 06:20:05+00:00"),
    ],
)
def test_times_are_shown_in_one_format_in_the_zone_chosen(office: Path, flags: tuple[str, ...], shown: str) -> None:
    at = dt.datetime(2026, 12, 2, 6, 20, 5, 123456, tzinfo=dt.UTC)
    result = CliRunner().invoke(cli, [*flags, "config", "show"])
    assert result.exit_code == 0, result.output
    try:
        assert output.when(at) == shown
    finally:
        output.use_zone(clock.WIB)


def test_an_unknown_zone_is_refused(office: Path) -> None:
    result = CliRunner().invoke(cli, ["--tz", "Mars/Olympus", "config", "show"])
    assert result.exit_code == 2
    assert "'Mars/Olympus' is not a time zone; expected WIB, WITA, WIT, UTC or a name as Asia/Makassar" in result.output


def test_config_show_hides_the_database_password(office: Path) -> None:
    shown = settings({"EKTP_DATABASE_URL": "postgresql+psycopg://ektp:s3cret@db.kota/ektp"})
    assert shown["database"]["value"] == "postgresql+psycopg://ektp:***@db.kota/ektp"


def test_a_time_given_without_a_zone_is_in_the_zone_in_use_and_shown_back_in_it(workflow, db_url: str) -> None:
    from tests.conftest import run_cli
    from tests.factories import make_resident

    resident = make_resident(born=dt.date(1990, 5, 17))
    workflow.register([resident], actor="t", at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    try:
        fired = run_cli(
            db_url, "op", "--tz", "WITA", "card", "fire", resident.nik, "record", "--at", "2026-11-28T09:30"
        )
        assert fired.exit_code == 0, fired.output
        event = workflow.history(resident.nik)[-1]
        assert event.occurred_at == dt.datetime(2026, 11, 28, 1, 30, tzinfo=dt.UTC)
        shown = run_cli(db_url, "op", "--region", "91.71", "card", "history", resident.nik)
        assert "2026-11-28 10:30:00+09:00" in shown.output
        utc = run_cli(db_url, "op", "--utc", "card", "history", resident.nik, "--json")
        assert '"occurred_at": "2026-11-28T01:30:00+00:00"' in utc.output
    finally:
        output.use_zone(clock.WIB)


def test_the_stock_bulletin_and_request_letter_are_stamped_in_their_region_s_zone() -> None:
    from ektp_workflow._files.stock_page import stamp
    from ektp_workflow.records import StockBulletin, StockRow

    made = dt.datetime(2026, 12, 2, 6, 20, tzinfo=dt.UTC)

    def bulletin(kecamatan: str) -> StockBulletin:
        return StockBulletin(made, (1, "0" * 64), [StockRow(kecamatan, "x", 1, 0, 0, 0, 0)], 0)

    assert stamp(bulletin("16.71.05")) == "2 Desember 2026 pukul 13.20 WIB"  # Palembang
    assert stamp(bulletin("73.71.01")) == "2 Desember 2026 pukul 14.20 WITA"  # Makassar
    assert stamp(bulletin("91.71.01")) == "2 Desember 2026 pukul 15.20 WIT"  # Jayapura
