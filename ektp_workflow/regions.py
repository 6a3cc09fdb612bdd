"""Official region codes (province, kabupaten/kota, kecamatan) shipped with the package."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .errors import InvalidKecamatan, InvalidRegion
from .i18n import _

_DOTTED = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")
_PLAIN = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class Region:
    """One region: ``code`` dotted (``16.71.05``), ``level`` and official ``name``."""

    code: str
    level: str
    name: str


@functools.cache
def _regions() -> dict[str, Region]:
    # Loaded on first use, and the modules for it too: the CLI imports this module to start.
    import csv
    import io
    from importlib import resources

    table = resources.files("ektp_workflow") / "data" / "kode_wilayah.csv"
    handle = io.StringIO(table.read_text(encoding="utf-8"), newline="")
    return {row["kode"]: Region(row["kode"], row["level"], row["nama"]) for row in csv.DictReader(handle)}


def region(code: str) -> Region | None:
    """The region with this dotted code, or None."""
    return _regions().get(code)


def name_of(code: str) -> str:
    """The official name of a region code, or "" if it is not one."""
    found = _regions().get(code)
    return found.name if found else ""


@functools.lru_cache(maxsize=1024)
def kecamatan_of(code: str) -> Region:
    """Normalise a kecamatan code (``16.71.05`` or ``167105``) and check it exists.

    :raises InvalidKecamatan: the code is malformed or not an official kecamatan.
    """
    text = code.strip()
    if _PLAIN.match(text):
        text = f"{text[0:2]}.{text[2:4]}.{text[4:6]}"
    elif not _DOTTED.match(text):
        raise InvalidKecamatan(code, _("expected six digits, as 16.71.05 or 167105"))
    found = _regions().get(text)
    if found is None or found.level != "kecamatan":
        raise InvalidKecamatan(code, _("not a kecamatan in the official list (Kepmendagri 2025)"))
    return found


def kabupaten_kota_of(code: str) -> str:
    """Normalise a kabupaten/kota code (``16.07`` or ``1607``) and check it exists.

    :raises InvalidRegion: the code is malformed or not an official kabupaten/kota.
    """
    text = code.strip()
    if re.fullmatch(r"\d{4}", text):
        text = f"{text[:2]}.{text[2:]}"
    found = _regions().get(text) if re.fullmatch(r"\d{2}\.\d{2}", text) else None
    if found is None or found.level != "kabupaten_kota":
        raise InvalidRegion(code, _("expected an official code, as 16.07 or 1607"))
    return found.code


def kecamatan_starting(prefix: str) -> list[Region]:
    """Every kecamatan whose dotted code starts with ``prefix`` (``16.71``), in code order."""
    return sorted(
        (r for r in _regions().values() if r.level == "kecamatan" and r.code.startswith(prefix)),
        key=lambda r: r.code,
    )


def kecamatan_in(kabupaten_kota: str) -> list[Region]:
    """The kecamatan of one kabupaten/kota (``16.71``), in code order."""
    prefix = kabupaten_kota + "."
    return sorted(
        (r for r in _regions().values() if r.level == "kecamatan" and r.code.startswith(prefix)),
        key=lambda r: r.code,
    )
