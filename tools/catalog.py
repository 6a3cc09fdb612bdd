"""Keep the translation catalogue: extract every message, update the Indonesian
catalogue, compile it, check it.

    python tools/catalog.py update    # extract, merge into the .po, compile the .mo
    python tools/catalog.py compile   # the .mo from the .po
    python tools/catalog.py check [PATH...]  # what has no translation (from PATH...), exit 1 if any
    python tools/catalog.py apply id FILE.json  # set translations {English: Indonesian}

Messages are the library's ``_()``, ``N_()`` and ``ngettext()`` calls (Babel's Python
extractor), every help text on the command tree (the CLI translates them there), and
click's own messages (``Usage:``, its errors), which the CLI shows in the same language.
See docs/translating.md.
"""

from __future__ import annotations

import io
import json
import string
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

import click
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ektp_workflow"
DOMAIN = "ektp_workflow"
LANGUAGES = ("id",)
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def po_path(language: str) -> Path:
    return PACKAGE / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def template() -> Catalog:
    """Every message there is to translate, each with where it comes from."""
    catalog = Catalog(project="ektp_workflow", domain=DOMAIN, charset="utf-8")
    for where, (lineno, message, comments) in _library():
        catalog.add(message, locations=[(where, lineno)], auto_comments=comments)
    for module, english in _help():
        catalog.add(english, locations=[(module, 0)], auto_comments=["help text (the CLI translates it on the tree)"])
    for where, text in _lifecycle():
        catalog.add(text, locations=[(where, 0)], auto_comments=["the default lifecycle's text, shown to people"])
    click_dir = Path(click.__file__).parent
    for filename, lineno, message, comments, _context in extract_from_dir(
        click_dir, method_map=[("**.py", "python")], keywords={"_": None, "ngettext": (1, 2)}
    ):
        catalog.add(message, locations=[(f"click/{filename}", lineno)], auto_comments=comments)
    return catalog


def _library() -> Iterator[tuple[str, tuple[int, str | tuple[str, ...], list[str]]]]:
    for filename, lineno, message, comments, _context in extract_from_dir(
        PACKAGE,
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=("TRANSLATORS:",),
        directory_filter=_package_dir,
    ):
        yield f"ektp_workflow/{filename}", (lineno, message, comments)


def _package_dir(path: str) -> bool:
    """Every folder of the package but caches: Babel's default skips ``_audit``, ``_store``..."""
    return Path(path).name != "__pycache__" and not Path(path).name.startswith(".")


def _lifecycle() -> Iterator[tuple[str, str]]:
    """The default lifecycle's name, state labels and transition help, and the default
    rule set's name (data the CLI shows through ``i18n.translated``)."""
    where = "ektp_workflow/states/lifecycle.toml"
    data = tomllib.loads((ROOT / where).read_text(encoding="utf-8"))
    for state in data["states"].values():
        if state.get("label"):
            yield where, state["label"]
    for transition in data["transitions"]:
        if transition.get("help"):
            yield where, transition["help"]
    yield where, data["name"]
    rules = "ektp_workflow/rules/default.toml"
    yield rules, tomllib.loads((ROOT / rules).read_text(encoding="utf-8"))["name"]


def _help() -> Iterator[tuple[str, str]]:
    sys.path.insert(0, str(ROOT))
    from ektp_workflow.cli.language import help_texts
    from ektp_workflow.cli.main import cli

    for _path, module, english in help_texts(cli, "ektp"):
        yield module.replace(".", "/") + ".py", english


def read(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=language, domain=DOMAIN, charset="utf-8")
    with path.open("rb") as stream:
        return read_po(stream, locale=language, domain=DOMAIN)


def mo_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def fields(text: str) -> set[str]:
    """The ``str.format`` fields of a message (``{nik}``, ``{count:,}`` as ``count``)."""
    try:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"<unbalanced braces>"}


def problems(catalog: Catalog, wanted: Catalog, sources: Iterable[str] = ()) -> list[str]:
    """What ``catalog`` lacks for ``wanted``: messages untranslated, fuzzy, or whose
    placeholders differ from the English (only messages from ``sources``, if given)."""
    prefixes = tuple(sources)
    found = []
    for message in wanted:
        if not message.id or (prefixes and not any(loc[0].startswith(prefixes) for loc in message.locations)):
            continue
        have: Message | None = catalog.get(message.id)
        where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
        if have is None or not _translated(have):
            found.append(f"{where}: no translation for {_first(message.id)!r}")
        elif have.fuzzy:
            found.append(f"{where}: fuzzy translation for {_first(message.id)!r}")
        else:
            found += [f"{where}: {p} in {_first(message.id)!r}" for p in _mismatch(message.id, have.string)]
    return found


def _translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return all(s for s in strings)


def _first(message_id: str | tuple[str, ...]) -> str:
    return message_id[0] if isinstance(message_id, tuple) else message_id


def _mismatch(english: str | tuple[str, ...], translated: str | tuple[str, ...]) -> list[str]:
    if isinstance(english, tuple):
        wanted = fields(english[0]) | fields(english[1])
        return [p for s in translated for p in _mismatch(english[1], s) if fields(s) - wanted]
    if fields(english) != fields(translated):
        return [f"placeholders {sorted(fields(translated))} instead of {sorted(fields(english))}"]
    if "%" in english and english.count("%(") != translated.count("%("):
        return ["%-placeholders differ"]
    return []


def apply(language: str, translations: dict[str, str | list[str]]) -> None:
    """Set the translations given ({English: translation}, a list for a plural) in the
    catalogue of ``language``, for messages it has; then compile it."""
    catalog = read(language)
    for message in catalog:
        key = _first(message.id) if message.id else None
        if key in translations:
            value = translations[key]
            message.string = tuple(value) if isinstance(message.id, tuple) else value
            message.flags.discard("fuzzy")
    with po_path(language).open("wb") as stream:
        write_po(stream, catalog, width=100, sort_output=False, omit_header=False, ignore_obsolete=True)
    compile_mo(language)


def update(language: str) -> None:
    catalog = read(language)
    catalog.update(template(), no_fuzzy_matching=True)
    with po_path(language).open("wb") as stream:
        write_po(stream, catalog, width=100, sort_output=False, omit_header=False, ignore_obsolete=True)
    compile_mo(language)


def compile_mo(language: str) -> None:
    po_path(language).with_suffix(".mo").write_bytes(mo_bytes(read(language)))


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        for language in LANGUAGES:
            update(language)
    elif command == "compile":
        for language in LANGUAGES:
            compile_mo(language)
    elif command == "apply":  # python tools/catalog.py apply id translations.json ...
        for path in argv[2:]:
            apply(argv[1], json.loads(Path(path).read_text(encoding="utf-8")))
    elif command == "check":
        wanted = template()
        found = [f"[{lang}] {p}" for lang in LANGUAGES for p in problems(read(lang), wanted, argv[1:])]
        print("\n".join(found) or "every message is translated")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
