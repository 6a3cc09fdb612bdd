"""What an allocation rule is: a named class with a parameter schema.

Two kinds:

- a **queue rule** orders the applicants waiting for a blank in one kecamatan: it
  gives each applicant a sort key, lower first. A rule set lists several; their keys
  compare in order, and ties are finally broken by waiting time and NIK.
- a **split rule** divides blanks between kecamatan according to their demand.

A third-party rule is any class with these attributes, published under the
entry-point group ``ektp_workflow.rules``.

A queue rule may also say its key in SQL (``sql_key``, optional): when every queue
rule of a rule set can, the database orders each kecamatan's queue and only the
first in line (as many as there are blanks) are read, so planning a city's queue of
a million takes seconds and little memory. A rule without ``sql_key`` works too;
then the whole queue is read and sorted in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

from sqlalchemy import ColumnElement

from ..i18n import _

QUEUE = "queue"
SPLIT = "split"


@dataclass(frozen=True)
class Parameter:
    """One parameter of a rule: its type, default and bounds, for validation and help."""

    type: type
    help: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def required(self) -> bool:
        return self.default is None

    def describe(self) -> str:
        """Short text for ``ektp rules list``: type, bounds and default."""
        parts = [self.type.__name__]
        if self.minimum is not None:
            parts.append(f">= {self.minimum}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum}")
        parts.append(_("required") if self.required else _("default {value}").format(value=self.default))
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Applicant:
    """A card waiting for a blank, as rules see it."""

    nik: str
    kecamatan: str
    birth_date: dt.date
    #: held an e-KTP before: a replacement, not a first-time applicant.
    had_ektp: bool
    disaster_victim: bool
    #: holds a temporary certificate (suket) while waiting.
    suket: bool
    #: since when the card has waited for a blank.
    waiting_since: dt.datetime
    #: the card's internal id (not for rules: it identifies the card in records).
    card_id: int = 0
    #: why a replacement is needed (``lost``, ``damaged``, ``data_change``), as its
    #: ``replace`` recorded it; None for a first card, or a replacement whose reason the
    #: history does not know (an e-KTP held before the resident was registered).
    replacement: str | None = None

    @property
    def first_time(self) -> bool:
        return not self.had_ektp


class QueueColumns(NamedTuple):
    """The SQL columns an ``Applicant``'s fields come from, for a rule's ``sql_key``."""

    nik: ColumnElement[str]
    kecamatan: ColumnElement[str]
    birth_date: ColumnElement[dt.date]
    had_ektp: ColumnElement[bool]
    disaster_victim: ColumnElement[bool]
    suket: ColumnElement[bool]
    waiting_since: ColumnElement[dt.datetime]
    replacement: ColumnElement[str | None]


@dataclass(frozen=True)
class Demand:
    """A kecamatan's need for blanks, as split rules see it."""

    kecamatan: str
    first_time: int
    replacement: int
    #: blanks already at the kecamatan and not reserved.
    in_stock: int

    @property
    def waiting(self) -> int:
        return self.first_time + self.replacement

    @property
    def unmet(self) -> int:
        """Applicants the stock already there cannot serve."""
        return max(0, self.waiting - self.in_stock)


@runtime_checkable
class QueueRule(Protocol):
    """Orders applicants: ``key`` gives a sortable value, lower goes first."""

    name: ClassVar[str]
    kind: ClassVar[str]  # QUEUE
    summary: ClassVar[str]
    parameters: ClassVar[Mapping[str, Parameter]]

    def key(self, applicant: Applicant, today: dt.date) -> Any: ...

    # Optional, not part of the protocol's required attributes:
    # def sql_key(self, columns: QueueColumns, today: dt.date) -> ColumnElement[Any]:
    #     """The same key as an SQL expression: it must order exactly as ``key`` does."""


@runtime_checkable
class SplitRule(Protocol):
    """Divides ``blanks`` between kecamatan; never more than a kecamatan's unmet demand."""

    name: ClassVar[str]
    kind: ClassVar[str]  # SPLIT
    summary: ClassVar[str]
    parameters: ClassVar[Mapping[str, Parameter]]

    def split(self, blanks: int, demand: list[Demand]) -> dict[str, int]: ...
