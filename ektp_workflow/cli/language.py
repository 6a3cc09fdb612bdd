"""The CLI in the operator's language: the help of every command and option, and
click's own words (``Usage:``, ``Options``, its errors), from the same catalogue as the
library's messages.

Help texts are written in English in the commands; ``localize`` sets each one to its
translation on the command tree before the command line is parsed (so ``--help`` and
usage errors are in the language chosen), keeping the English to switch back.
"""

from __future__ import annotations

import contextlib
import gettext
import inspect
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import click

from .. import i18n

#: Where a command's help texts are kept in English once translated.
_ENGLISH = "_ektp_english"
#: The language the tree's help texts are in, kept on its root.
_LANGUAGE = "_ektp_language"
#: The names of every command's help option.
HELP_OPTION_NAMES = ("-h", "--help")


def help_texts(command: click.Command, path: str = "") -> Iterator[tuple[str, str, str]]:
    """Every help text of ``command`` and the commands under it, as (command path,
    module, English text), the text as click shows it (``inspect.cleandoc``)."""
    name = path or (command.name or "")
    module = getattr(command.callback, "__module__", "") or ""
    for _holder, _attr, english in _texts(command):
        yield name, module, english
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from help_texts(sub, f"{name} {sub.name}")


def _texts(command: click.Command) -> Iterator[tuple[Any, str, str]]:
    holders: list[tuple[Any, Sequence[str]]] = [(command, ("help", "short_help", "epilog"))]
    holders += [(param, ("help",)) for param in command.params]
    # click makes a command's --help option once, its text in the language of that moment
    shown = command.get_help_option(click.Context(command, help_option_names=list(HELP_OPTION_NAMES)))
    if shown is not None:
        holders.append((shown, ("help",)))
    for holder, attrs in holders:
        english: dict[str, str | None] = holder.__dict__.setdefault(_ENGLISH, {})
        for attr in attrs:
            if attr not in english:
                given = getattr(holder, attr, None)
                english[attr] = inspect.cleandoc(given) if given else None
            text = english[attr]
            if text:
                yield holder, attr, text


def localize(root: click.Command, language: str) -> None:
    """Use ``language`` for the library's messages, click's and every help text."""
    i18n.use(language)
    _localize_tree(root)  # first: click's --help options are made in English, then translated
    gettext.bindtextdomain(i18n.DOMAIN, i18n.locale_dir())
    gettext.textdomain(i18n.DOMAIN)
    os.environ["LANGUAGE"] = language  # how click's gettext calls find the catalogue


def _localize_tree(root: click.Command) -> None:
    """Every help text of the tree in the language in use; nothing to do if it is in it
    already (the ``ektp`` group localizes before and after reading the config file)."""
    if root.__dict__.get(_LANGUAGE) != i18n.language():
        _translate(root)
        root.__dict__[_LANGUAGE] = i18n.language()


def _translate(command: click.Command) -> None:
    for holder, attr, english in _texts(command):
        setattr(holder, attr, i18n._(english))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _translate(sub)


def requested(args: Sequence[str], default_map: Mapping[str, Any] | None) -> str:
    """The language a command line asks for, before click parses it: ``--lang``, else
    ``EKTP_LANG``, else the config file's, else the locale's (a value that is not a
    language is left for click to refuse)."""
    for n, arg in enumerate(args):
        if arg == "--":
            break
        value = args[n + 1] if arg == "--lang" and n + 1 < len(args) else arg.partition("=")[2]
        if (arg == "--lang" or arg.startswith("--lang=")) and value in i18n.LANGUAGES:
            return value
    for chosen in (os.environ.get(i18n.VARIABLE), (default_map or {}).get("lang")):
        if chosen in i18n.LANGUAGES:
            return str(chosen)
    return i18n.from_locale()


@contextlib.contextmanager
def kept_language(root: click.Command) -> Iterator[None]:
    """Give the process back the language it had (the library's, click's, the help on the
    tree, ``LANGUAGE``) when a command run in another is done: a program that runs the
    CLI in its own process is not left speaking another language."""
    language, variable, domain = i18n.language(), os.environ.get("LANGUAGE"), gettext.textdomain()
    try:
        yield
    finally:
        i18n.use(language)
        _localize_tree(root)
        gettext.textdomain(domain)
        if variable is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = variable
