"""The hash chain's encoding: what each event's ``hash`` covers, and how rows are chained.

Each event's ``hash`` is SHA-256 over the previous event's hash and the event's
canonical encoding (a JSON array of its fields in a fixed order, times in UTC with
microseconds). Changing, removing, inserting or reordering any row changes every
hash after it, so ``audit verify`` finds the first bad row; an auditor who keeps a
checkpoint (a sequence number and its hash) outside the system can also detect a
rewritten history or a truncated tail. Pure functions: the event writer and the
auditor's verify both use them.

The ledger's entries, rule sets, their activations and allocation runs take their
places in the same sequence, each hashed as a JSON array that starts with its kind
(``ENTRY_FIELDS``), so that one chain, and one checkpoint, covers everything that can
change who gets a blank.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from .times import DATE_TEXTS, utc_text

GENESIS = "0" * 64
#: The fields an event's hash covers, in encoding order.
HASHED_FIELDS = (
    "seq",
    "card_id",
    "version",
    "trigger",
    "from_state",
    "to_state",
    "actor",
    "reason",
    "occurred_at",
    "recorded_at",
    "lifecycle_hash",
    "idempotency_key",
    "rule_set_version",
    "batch_id",
)


#: A request for blanks to the centre: its reference and every figure it was computed from.
REQUEST_FIELDS = (
    "seq",
    "reference",
    "region",
    "months",
    "waiting_first_time",
    "waiting_replacement",
    "in_prr",
    "left_prr",
    "window_days",
    "expected_from_prr",
    "consumed",
    "spoiled",
    "needed",
    "on_hand",
    "outstanding",
    "quantity",
    "actor",
    "reason",
    "occurred_at",
)
#: A version of a resident's data: all of it, whatever changed.
RESIDENT_ENTRY_FIELDS = (
    "seq",
    "resident_id",
    "change",
    "nik",
    "name",
    "kecamatan",
    "birth_date",
    "sex",
    "had_ektp",
    "disaster_victim",
    "suket",
    "actor",
    "reason",
    "occurred_at",
)
#: The entries chained with the events, by kind: the fields each one's hash covers, in
#: order. A blank entry's ``reference``, ``received_on`` and ``request`` are its batch's, on
#: the entry that brought the batch in, received or borrowed (None on the others).
ENTRY_FIELDS = {
    "blank_entry": (
        "seq",
        "batch_id",
        "reference",
        "received_on",
        "kecamatan",
        "movement",
        "quantity",
        "card_id",
        "card_version",
        "actor",
        "reason",
        "occurred_at",
        "counterpart",
        "counterpart_reference",
        "request",
    ),
    "blank_request": REQUEST_FIELDS,
    "resident": RESIDENT_ENTRY_FIELDS,
    "blank_quota": ("seq", "month", "quantity", "reference", "actor", "reason", "occurred_at"),
    "rule_set": ("seq", "version", "name", "hash", "text", "created_at", "created_by"),
    "rule_activation": ("seq", "version", "action", "actor", "reason", "occurred_at"),
    "allocation_run": ("seq", "run_id", "rule_set_version", "day", "kecamatan", "actor", "occurred_at", "inputs_hash"),
    "replacement": (
        "seq",
        "card_id",
        "card_version",
        "category",
        "reference",
        "surrendered",
        "correction_seq",
        "actor",
        "reason",
        "occurred_at",
    ),
}


#: Fields a kind of entry gained after its first entries were chained: hashed after the
#: others, and only when not null, so that every entry written before keeps its hash.
LATER_FIELDS: dict[str, tuple[str, ...]] = {"resident": ("evidence",)}


def canonical(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: its fields in a fixed order, times as UTC."""
    return canonical_values([event.get(name) for name in HASHED_FIELDS])


def canonical_values(values: Sequence[Any]) -> bytes:
    """``canonical`` for the values of ``HASHED_FIELDS``, in that order."""
    plain = list(values)
    for i in _TIMES:  # no other field holds a time
        if isinstance(plain[i], dt.datetime):
            plain[i] = _utc_text(plain[i])
    return _encode_list(plain).encode("utf-8")


def chain_hash(previous: str, event: Mapping[str, Any]) -> str:
    """The hash of ``event`` following an event whose hash is ``previous``."""
    return hashlib.sha256(previous.encode("ascii") + b"\n" + canonical(event)).hexdigest()


def chain_hash_values(previous: str, values: Sequence[Any]) -> str:
    """``chain_hash`` for the values of ``HASHED_FIELDS``, in that order (a row read back)."""
    return hashlib.sha256(previous.encode("ascii") + b"\n" + canonical_values(values)).hexdigest()


def entry_hash(previous: str, kind: str, values: Sequence[Any]) -> str:
    """The hash of an entry of ``kind`` (its ``ENTRY_FIELDS`` values, in order, then those of
    its ``LATER_FIELDS``, which count only up to the last that is not null) following an
    event or entry whose hash is ``previous``."""
    values = _without_trailing_nulls(values, len(ENTRY_FIELDS[kind]))
    return hashlib.sha256(previous.encode("ascii") + b"\n" + _encode_entry((kind, *values)).encode("utf-8")).hexdigest()


def _without_trailing_nulls(values: Sequence[Any], kept: int) -> Sequence[Any]:
    end = len(values)
    while end > kept and values[end - 1] is None:
        end -= 1
    return values if end == len(values) else values[:end]


def chain_entries(kind: str, rows: Sequence[dict[str, Any]], last_seq: int, last_hash: str) -> tuple[int, str]:
    """Give each entry of ``kind`` its ``seq`` and ``chain_hash``, following the head
    ``(last_seq, last_hash)``; return the new head."""
    later = LATER_FIELDS.get(kind, ())
    fields = ENTRY_FIELDS[kind][1:]
    values = operator.itemgetter(*fields, *later)
    sha256, encode, kept = hashlib.sha256, _encode_entry, len(fields) + 1
    for row in rows:
        last_seq += 1
        row["seq"] = last_seq
        row_values: Sequence[Any] = (kind, last_seq, *values(row))
        if later:
            row_values = _without_trailing_nulls(row_values, kept + 1)
        text = encode(row_values)
        row["chain_hash"] = last_hash = sha256(f"{last_hash}\n{text}".encode()).hexdigest()
    return last_seq, last_hash


#: A kept queue row's place in ``inputs_hash`` ("queue" and the seven columns every run
#: keeps); the columns after them count only up to the last that is not null.
QUEUE_ROW_FIELDS = 8


def inputs_hash(stock: Iterable[Sequence[Any]], queue: Iterable[Sequence[Any]]) -> str:
    """SHA-256 of what an allocation run saw: its stock rows ``(kecamatan, blanks,
    waiting)`` by kecamatan, and its queue rows ``(kecamatan, card_id, birth_date,
    had_ektp, disaster_victim, suket, waiting_since[, replacement])`` by kecamatan and
    card (the replacement category, added in revision 0012, only when not null: runs
    kept before it keep their hashes); one JSON array a line. Both are streamed: a
    city's queue need not fit in memory."""
    digest = hashlib.sha256()
    for line in stock:
        digest.update(_encode_entry(("stock", *line)).encode("utf-8") + b"\n")
    for waiting in queue:
        row = _without_trailing_nulls(("queue", *waiting), QUEUE_ROW_FIELDS)
        digest.update(_encode_entry(row).encode("utf-8") + b"\n")
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _utc_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def chain(rows: Sequence[dict[str, Any]], last_seq: int, last_hash: str, written: dt.datetime) -> tuple[int, str]:
    """Give each row its ``seq``, ``recorded_at`` and ``hash``, following the head
    ``(last_seq, last_hash)``; return the new head. The hash is ``chain_hash``'s.

    The events of a chunk differ mostly in their integers and reason: the encoding of
    the fields they share is made once per distinct value (and type) and reused.
    """
    shared: dict[tuple[Any, ...], tuple[str, str]] = {}
    # The last key whose values are strings, None and times only: a key equal to it has
    # the same encoding (an equal number may be another type: 1, 1.0 and True).
    same_key: tuple[Any, ...] | None = None
    same_parts = ("", "")
    one = len(rows) == 1  # nothing to share: the plain encoding is cheaper
    fixed = type(written.tzinfo) is dt.timezone
    for row in rows:
        last_seq += 1
        row["seq"], row["recorded_at"] = last_seq, written
        card_id, version, reason = row["card_id"], row["version"], row["reason"]
        if one or type(card_id) is not int or type(version) is not int or not (reason is None or type(reason) is str):
            row["hash"] = last_hash = chain_hash_values(last_hash, _HASHED(row))
            continue
        key = _SHARED(row)
        if key == same_key:
            parts = same_parts
        elif fixed and type(row["occurred_at"].tzinfo) is dt.timezone:
            typed = (key, tuple(map(type, key)))  # 1, 1.0 and True are equal keys, not equal JSON
            parts = shared.get(typed)  # type: ignore[assignment]
            if parts is None:
                parts = shared[typed] = (_fields_json(key, 0, _REASON - 3), _fields_json(key, _REASON - 3, len(key)))
            if all(type(value) in _PLAIN for value in key):
                same_key, same_parts = key, parts
        else:  # a zone with folds compares by wall clock: equal keys for different instants
            row["hash"] = last_hash = chain_hash_values(last_hash, _HASHED(row))
            continue
        reason_json = "null" if reason is None else encode_basestring(reason)
        text = f"{last_hash}\n[{last_seq},{card_id},{version},{parts[0]},{reason_json},{parts[1]}]"
        row["hash"] = last_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return last_seq, last_hash


# What json.dumps(..., ensure_ascii=False, separators=(",", ":")) makes, built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# For a list, what _ENCODER.encode makes, without building the C encoder on each call (as
# encode does: half its time for one event). No circular check: a list of plain values.
_LIST_ENCODER = c_make_encoder and c_make_encoder(
    None, _ENCODER.default, encode_basestring, None, ":", ",", False, False, True
)


class _EntryTimes:
    """The JSON encoder's ``default`` for an entry's values: a time as UTC text, a date in
    ISO form (as ``_plain`` makes them); the last time's text is kept, for the entries of
    one append share their time."""

    def __init__(self) -> None:
        self.last: tuple[dt.datetime | None, str] = (None, "")

    def __call__(self, value: Any) -> str:
        if isinstance(value, dt.datetime):
            last, text = self.last
            if value is not last:
                text = _utc_text(value)
                self.last = (value, text)
            return text
        if isinstance(value, dt.date):
            date_text: str = DATE_TEXTS[value]
            return date_text
        return _ENCODER.default(value)  # type: ignore[no-any-return]  # raises TypeError


# An entry's values (a tuple: its kind, then its ENTRY_FIELDS), encoded as _encode_list
# encodes them after _plain, in one call to the C encoder.
_ENTRY_ENCODER = c_make_encoder and c_make_encoder(
    None, _EntryTimes(), encode_basestring, None, ":", ",", False, False, True
)


def _encode_entry(values: Sequence[Any]) -> str:
    if _ENTRY_ENCODER is None:  # pragma: no cover - CPython has the C encoder
        return _encode_list([_plain(value) for value in values])
    return "".join(_ENTRY_ENCODER(values, 0))


def _encode_list(values: list[Any]) -> str:
    if _LIST_ENCODER is None:  # pragma: no cover - CPython has the C encoder
        return _ENCODER.encode(values)
    return "".join(_LIST_ENCODER(values, 0))


_HASHED = operator.itemgetter(*HASHED_FIELDS)
_TIMES = (HASHED_FIELDS.index("occurred_at"), HASHED_FIELDS.index("recorded_at"))
_REASON = HASHED_FIELDS.index("reason")
# The fields the events of one append mostly share: after seq, card_id and version, but the reason.
_SHARED_FIELDS = (*HASHED_FIELDS[3:_REASON], *HASHED_FIELDS[_REASON + 1 :])
_SHARED = operator.itemgetter(*_SHARED_FIELDS)
_PLAIN = (str, type(None), dt.datetime)
_SHARED_TIMES = (_SHARED_FIELDS.index("occurred_at"), _SHARED_FIELDS.index("recorded_at"))


def _fields_json(shared: Sequence[Any], start: int, stop: int) -> str:
    """``_SHARED`` values ``start`` to ``stop`` as they appear, comma-separated, inside the
    canonical JSON array (times converted where ``canonical_values`` converts them)."""
    encoded = []
    for i in range(start, stop):
        value = shared[i]
        if i in _SHARED_TIMES and isinstance(value, dt.datetime):
            value = _utc_text(value)
        encoded.append(_ENCODER.encode(value))
    return ",".join(encoded)


def _utc_text(value: dt.datetime) -> str:
    return utc_text(value, "T") + "Z"
