"""Resident records checked and normalised before anything is stored."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from .errors import WorkflowError
from .i18n import N_, _
from .nik import nik_parts
from .records import ResidentRecord
from .regions import kecamatan_of
from .text import line

MAX_NAME_LENGTH = 200
#: No resident this system registers was born before it (the oldest living people are
#: younger), and none after today.
EARLIEST_BIRTH = dt.date(1900, 1, 1)
#: What a re-import compares with the stored resident, in this order.
RESIDENT_FIELDS = ("name", "kecamatan", "birth_date", "had_ektp", "disaster_victim", "suket")


class ValidResident(NamedTuple):
    """A resident record after validation, normalised for storage (a plain tuple:
    an import makes one per line)."""

    nik: str
    name: str
    kecamatan: str
    birth_date: dt.date
    sex: str
    had_ektp: bool
    disaster_victim: bool
    suket: bool


def validate_resident(record: ResidentRecord, today: dt.date | None = None) -> ValidResident:
    """Check a record and normalise it.

    :raises WorkflowError: ``InvalidNIK``, ``InvalidKecamatan`` or a plain
        ``WorkflowError`` for a missing or overlong name or a contradicting birth date.
    """
    nik, _region, birth_date, sex = nik_parts(record.nik, today)
    name = line(" ".join(str(record.name).split()), N_("name"))  # line breaks fold into spaces
    if not name:
        raise WorkflowError(_("name: must not be empty"))
    if len(name) > MAX_NAME_LENGTH:
        message = _("name: {count} characters, at most {maximum} allowed")
        raise WorkflowError(message.format(count=len(name), maximum=MAX_NAME_LENGTH))
    if record.birth_date is not None:
        if not isinstance(record.birth_date, dt.date) or isinstance(record.birth_date, dt.datetime):
            raise WorkflowError(_("birth_date: {value!r} is not a date").format(value=record.birth_date))
        if not EARLIEST_BIRTH <= record.birth_date <= (today or dt.date.today()):
            message = _("birth_date {date}: expected a day from {earliest} to today")
            raise WorkflowError(message.format(date=record.birth_date.isoformat(), earliest=EARLIEST_BIRTH.isoformat()))
        if record.birth_date.strftime("%d%m%y") != birth_date.strftime("%d%m%y"):
            message = _("birth_date {date} does not match the NIK's date digits {digits}")
            raise WorkflowError(message.format(date=record.birth_date.isoformat(), digits=nik[6:12]))
        birth_date = record.birth_date
    kecamatan = kecamatan_of(record.kecamatan).code
    return ValidResident(
        nik,
        name,
        kecamatan,
        birth_date,
        sex,
        bool(record.had_ektp),
        bool(record.disaster_victim),
        bool(record.suket),
    )
