"""The language messages are shown in: English, in which they are written, or Bahasa
Indonesia, through a gettext catalogue (``locale/id/LC_MESSAGES/ektp_workflow.mo``,
kept with Babel: see docs/translating.md).

The language belongs to the process. The library speaks English until ``use`` chooses
another; the ``ektp`` command chooses from ``--lang``, ``EKTP_LANG``, the config file
or the locale. A message is translated when it is made (``_("...").format(...)``), so
an error raised after ``use("id")`` carries Indonesian text. Its identifiers (a NIK, a
state, a trigger, the part of a NIK at fault, ``kind`` in JSON) never change with the
language; its reason text is in the language of its message.
"""

from __future__ import annotations

import gettext
import os
import string
from collections.abc import Mapping
from importlib import resources
from typing import Any

#: The gettext domain: the catalogue's file name.
DOMAIN = "ektp_workflow"
#: The languages there are messages in; English is the source.
LANGUAGES = ("en", "id")
#: The environment variable that chooses the CLI's language.
VARIABLE = "EKTP_LANG"

_active: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


class _Numbers(string.Formatter):
    """Numbers as Indonesian writes them: ``18.000`` and ``98,5`` where English writes
    ``18,000`` and ``98.5`` (only fields formatted with a separator, a precision or %)."""

    _SWAP = str.maketrans(",.", ".,")

    def format_field(self, value: Any, format_spec: str) -> str:
        text: str = super().format_field(value, format_spec)
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        return text.translate(self._SWAP) if numeric and any(c in format_spec for c in ",.%") else text


_INDONESIAN = _Numbers()


class _Indonesian(str):
    """A message in Indonesian: ``format`` writes its numbers the Indonesian way."""

    __slots__ = ()

    def format(self, /, *args: Any, **kwargs: Any) -> str:
        return _INDONESIAN.vformat(self, args, kwargs)


def _(message: str) -> str:
    """``message`` in the language in use."""
    text = _active.gettext(message)
    return _Indonesian(text) if _language == "id" else text


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural message for ``n``, in the language in use."""
    text = _active.ngettext(singular, plural, n)
    return _Indonesian(text) if _language == "id" else text


def translated(text: str) -> str:
    """A text that comes from data (the default lifecycle's state labels and transition
    help, which the catalogue holds) in the language in use; a text the catalogue does
    not know (a lifecycle of one's own) as written, and ``""`` as ``""``."""
    return _active.gettext(text) if text else text


def number(value: int) -> str:
    """``value`` with thousands separated as the language in use writes them:
    ``18,000`` in English, ``18.000`` in Indonesian."""
    text = f"{value:,}"
    return text.replace(",", ".") if _language == "id" else text


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it (a constant made at
    import, translated with ``_`` where it is shown)."""
    return message


def locale_dir() -> str:
    """The folder that holds the catalogues (``<lang>/LC_MESSAGES/<DOMAIN>.mo``)."""
    return str(resources.files("ektp_workflow") / "locale")


def use(language: str) -> None:
    """Show messages in ``language`` (one of ``LANGUAGES``) from now on, in this process.

    :raises ValueError: not one of ``LANGUAGES``, or its catalogue is not installed.
    """
    global _active, _language
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of: {', '.join(LANGUAGES)}")
    if language == "en":
        _active = gettext.NullTranslations()
    else:
        try:
            _active = gettext.translation(DOMAIN, locale_dir(), languages=[language])
        except OSError as err:
            raise ValueError(
                f"the catalogue for {language!r} is not installed ({err}); reinstall ektp_workflow"
            ) from err
    _language = language


def language() -> str:
    """The language in use."""
    return _language


def from_locale(environ: Mapping[str, str] = os.environ) -> str:
    """The language the locale asks for: Indonesian when the first of ``LANGUAGE``,
    ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is set names it (``id_ID.UTF-8``,
    ``id``), English otherwise."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            first = value.split(":")[0].split(".")[0].split("_")[0].lower()
            return "id" if first in ("id", "in") else "en"
    return "en"
