"""Numbers as the HTML report's reader writes them: ``20,000.5`` in English,
``20.000,5`` in Indonesian (the language in use)."""

from __future__ import annotations

from ..i18n import language

_INDONESIAN = str.maketrans(",.", ".,")


def number(value: float, decimals: int = 0) -> str:
    """``value`` with thousands separated and ``decimals`` digits after the point."""
    text = f"{value:,.{decimals}f}"
    return text.translate(_INDONESIAN) if language() == "id" else text


def percent(value: float) -> str:
    """``97.9%`` (``97,9%``)."""
    return number(value, 1) + "%"
