"""Every message in Bahasa Indonesia too: the catalogue covers what the code says, the
compiled catalogue is the one the .po makes, and the CLI speaks the language chosen."""

from __future__ import annotations

import gettext
import importlib.util
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ektp_workflow import i18n
from ektp_workflow.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("catalog", ROOT / "tools" / "catalog.py")
assert spec and spec.loader
catalog = importlib.util.module_from_spec(spec)
sys.modules["catalog"] = catalog
spec.loader.exec_module(catalog)


@pytest.fixture(scope="module")
def template():
    return catalog.template()


def test_every_message_has_a_translation(template):
    problems = catalog.problems(catalog.read("id"), template)
    assert not problems, "run python tools/catalog.py update and translate:\n" + "\n".join(problems[:50])


def test_the_compiled_catalogue_is_the_one_the_po_makes():
    path = catalog.po_path("id").with_suffix(".mo")
    with path.open("rb") as stream:
        shipped = gettext.GNUTranslations(stream)
    made = gettext.GNUTranslations(__import__("io").BytesIO(catalog.mo_bytes(catalog.read("id"))))
    assert shipped._catalog == made._catalog, "run python tools/catalog.py compile"


def test_the_checker_finds_a_missing_translation_and_a_wrong_placeholder(template):
    from babel.messages.catalog import Catalog

    broken = Catalog(locale="id")
    broken.add("card {nik} is at version {actual}", "kartu {nik} pada versi {versi}")
    wanted = Catalog()
    wanted.add("card {nik} is at version {actual}", locations=[("x.py", 1)])
    wanted.add("no such card", locations=[("x.py", 2)])
    problems = catalog.problems(broken, wanted)
    assert any("placeholders" in p for p in problems) and any(
        "no translation for 'no such card'" in p for p in problems
    )


def run(*args, env=None):
    result = CliRunner().invoke(cli, list(args), env=env or {})
    return result


def test_help_in_indonesian_with_lang_the_variable_or_the_locale():
    for args, env in (
        (["--lang", "id", "--help"], {}),
        (["--help"], {"EKTP_LANG": "id"}),
        (["--help"], {"EKTP_LANG": None, "LANGUAGE": None, "LC_ALL": None, "LANG": "id_ID.UTF-8"}),
    ):
        result = run(*args, env=env)
        assert result.exit_code == 0, result.output
        assert "Penggunaan:" in result.output and "Opsi" in result.output, (args, env, result.output)
    english = run("--help", env={"EKTP_LANG": "en"})
    assert "Usage:" in english.output and "Show this message and exit." in english.output


def test_a_flag_beats_the_variable_and_an_unknown_language_is_refused():
    assert "Usage:" in run("--lang", "en", "--help", env={"EKTP_LANG": "id"}).output
    result = run("--lang", "fr", "config", "show")
    assert result.exit_code == 2 and "'fr'" in result.output


def test_the_library_speaks_english_until_told():
    try:
        i18n.use("id")
        assert i18n.language() == "id"
        assert i18n._("Show this message and exit.") != "Show this message and exit."
    finally:
        i18n.use("en")
    assert i18n._("Show this message and exit.") == "Show this message and exit."
    with pytest.raises(ValueError, match="expected one of: en, id"):
        i18n.use("fr")


def test_the_locale_chooses_indonesian_only_when_it_names_it():
    assert i18n.from_locale({"LANG": "id_ID.UTF-8"}) == "id"
    assert i18n.from_locale({"LANGUAGE": "id:en", "LANG": "en_US.UTF-8"}) == "id"
    assert i18n.from_locale({"LC_ALL": "C.UTF-8", "LANG": "id_ID"}) == "en"
    assert i18n.from_locale({}) == "en"


def test_indonesian_messages_write_numbers_the_indonesian_way():
    try:
        i18n.use("id")
        text = i18n._("{label}: {done:,} done in {seconds:,.1f} s").format(label="x", done=18000, seconds=1234.5)
        assert text == "x: 18.000 selesai dalam 1.234,5 detik"
        refused = i18n.ngettext(
            "{source}: refused, nothing written; {count:,} bad line:",
            "{source}: refused, nothing written; {count:,} bad lines:",
            1200,
        ).format(source="a.csv", count=1200)
        assert "1.200" in refused and refused != "a.csv: refused, nothing written; 1,200 bad lines:"
    finally:
        i18n.use("en")
    assert i18n._("{label}: {done:,} done in {seconds:,.1f} s").format(label="x", done=18000, seconds=1234.5) == (
        "x: 18,000 done in 1,234.5 s"
    )


def test_an_operator_works_in_indonesian_and_programs_read_the_same(workflow, db_url):
    from tests.conftest import run_cli
    from tests.factories import make_resident

    resident = make_resident()
    workflow.register([resident], actor="t")
    shown = run_cli(db_url, "op", "--lang", "id", "card", "show", resident.nik)
    assert shown.exit_code == 0, shown.output
    assert "status:" in shown.output and "arti:" in shown.output
    assert "Belum direkam: datanglah ke kantor kecamatan" in shown.output
    refused = run_cli(db_url, "op", "--lang", "id", "card", "fire", resident.nik, "collect")
    assert refused.exit_code == 3
    assert "Kesalahan: 'collect' tidak diizinkan dari status 'unrecorded'" in refused.output
    missing = run_cli(db_url, "op", "--lang", "id", "card", "show", "1671050101900099")
    assert missing.exit_code == 4 and "tidak ada KTP-el yang terdaftar untuk NIK 1671050101900099" in missing.output
    as_json = {
        lang: run_cli(db_url, "op", "--lang", lang, "card", "show", resident.nik, "--json") for lang in ("id", "en")
    }
    assert as_json["id"].output == as_json["en"].output
    # a program reads --json: its messages are English whatever the operator's language
    failed = {
        lang: run_cli(db_url, "op", "--lang", lang, "card", "fire", resident.nik, "collect", "--json")
        for lang in ("id", "en")
    }
    assert failed["id"].stderr == failed["en"].stderr
    error = json.loads(failed["id"].stderr)
    assert error["kind"] == "TransitionNotAllowed" and error["exit_code"] == 3 and "is not allowed" in error["error"]
