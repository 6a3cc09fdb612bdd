"""Who makes a change and when it happened: checked before anything is written."""

from __future__ import annotations

import datetime as dt

from .clock import now
from .errors import InvalidTime, MissingActor
from .i18n import N_, _
from .text import line

#: An event time may run ahead of this machine's clock by this much (clock skew).
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def require_actor(actor: str | None) -> str:
    """The actor, stripped.

    :raises MissingActor: no actor, or only white space.
    :raises InvalidText: a control character, or longer than a line may be.
    """
    name = line(actor or "", N_("actor"))
    if not name:
        raise MissingActor()
    return name


def event_time(at: dt.datetime | None) -> dt.datetime:
    """When a change happened: ``at`` if given (timezone-aware, not in the future), else now.

    :raises InvalidTime: ``at`` has no timezone or lies in the future.
    """
    if at is None:
        return now()
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidTime(_("event time {at} has no timezone; give one, e.g. +07:00").format(at=at.isoformat()))
    if at > now() + FUTURE_TOLERANCE:
        raise InvalidTime(_("event time {at} is in the future").format(at=at.isoformat()))
    return at
