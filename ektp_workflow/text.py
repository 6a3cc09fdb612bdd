"""Text the history keeps: checked for what every database can store and every reader
can see before anything is written.

A NUL byte cannot be stored by PostgreSQL; other control characters (a carriage
return, a terminal escape) and direction overrides can hide or fake a line in what an
auditor reads. Names, actors and references may hold none of them (references no
invisible character either); reasons may hold anything but NUL, and every reader
shows them escaped (``shown``).
"""

from __future__ import annotations

import unicodedata

from .errors import InvalidText
from .i18n import N_, _

#: The longest reference (a letter's or delivery note's number) kept.
REFERENCE_LENGTH = 200
#: The longest name, actor or other one-line text kept.
LINE_LENGTH = 500
#: The longest reason or other free text kept.
FREE_LENGTH = 100_000
#: Characters that embed, override or isolate a direction: they reorder what a reader sees.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _bad(text: str, categories: tuple[str, ...]) -> str | None:
    if "\x00" in text:
        return _("a NUL byte")
    if text.isprintable():
        return None
    for char in text:
        if unicodedata.category(char) in categories or char in BIDI_CONTROLS:
            return _("the control character U+{code:04X}").format(code=ord(char))
    return None


def shown(value: str) -> str:
    """``value`` as a terminal may print it: control characters and direction overrides
    escaped (``\\r``, ``\\x1b``, ``\\u202e``), so that none can hide or fake a line."""
    if value.isprintable():
        return value
    return "".join(_escaped(char) for char in value)


def _escaped(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") or char in BIDI_CONTROLS:
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    return char


def line(value: str, what: str, max_length: int = LINE_LENGTH) -> str:
    """One line of text (a name, an actor): stripped, without control characters.

    :raises InvalidText: it holds a control or format character, or is too long.
    """
    text = value.strip()
    bad = _bad(text, ("Cc", "Zl", "Zp"))
    if bad is not None:
        raise InvalidText(what, value, _contains(bad))
    if len(text) > max_length:
        raise InvalidText(what, value, _too_long(len(text), max_length))
    return text


def reference(value: str | None, what: str = N_("reference")) -> str:
    """A document's reference: one line, not empty, at most ``REFERENCE_LENGTH`` characters.

    :raises InvalidText: it is empty, too long, or holds a control character.
    """
    text = line(value or "", what, REFERENCE_LENGTH)
    bad = _bad(text, ("Cf",))  # invisible characters make look-alike references
    if bad is not None:
        raise InvalidText(what, value or "", _contains(bad))
    if not text:
        reason = _("a reference is required: the letter, circular or receipt it rests on")
        raise InvalidText(what, value or "", reason)
    return text


def free(value: str | None, what: str) -> str | None:
    """Free text (a reason): anything but a NUL byte, which no PostgreSQL text can hold
    (readers see control characters escaped: ``shown``).

    :raises InvalidText: it holds a NUL byte, or is too long.
    """
    if value is None:
        return None
    bad = _("a NUL byte") if "\x00" in value else None
    if bad is not None:
        raise InvalidText(what, value, _contains(bad))
    if len(value) > FREE_LENGTH:
        raise InvalidText(what, value, _too_long(len(value), FREE_LENGTH))
    return value


def _contains(bad: str) -> str:
    return _("it contains {found}").format(found=bad)


def _too_long(length: int, maximum: int) -> str:
    return _("it is {length:,} characters long; at most {maximum:,}").format(length=length, maximum=maximum)


def search_key(value: str) -> str:
    """``value`` as names are searched: accents and invisible format characters (a
    zero-width space, a soft hyphen) taken off, case folded, the dotless i an i, runs of
    spaces one space (``"  Siti  Nurhalizā"`` and ``"siti nurhaliza"`` have one key)."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c) and unicodedata.category(c) != "Cf")
    return " ".join(plain.casefold().replace("\u0131", "i").split())
