"""Exporting the event log for outside tools (pandas, DuckDB, a spreadsheet), streaming."""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from .._store import history
from .._store.history import Progress
from .._store.store import Connection
from ..i18n import _
from ..nik import mask

FORMATS = ("jsonl", "csv")
FIELDS = (
    "seq",
    "nik",
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
    "hash",
)
# Cells a spreadsheet would run as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export(
    conn: Connection,
    out: TextIO,
    fmt: str = "jsonl",
    from_seq: int = 0,
    unmasked: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write events after ``from_seq`` to ``out``; return how many.

    NIKs are masked unless ``unmasked``. CSV cells that a spreadsheet would run as a
    formula are prefixed with a quote.

    :raises ValueError: ``fmt`` is not jsonl or csv.
    """
    if fmt not in FORMATS:
        raise ValueError(_("unknown export format {format!r}; expected jsonl or csv").format(format=fmt))
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(FIELDS)
    count = 0
    for row in history.exported(conn, from_seq, progress):
        record = _record(row._mapping, unmasked)
        if writer is not None:
            writer.writerow([_cell(record[f]) for f in FIELDS])
        else:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def _record(row: Any, unmasked: bool) -> dict[str, Any]:
    record = {f: row[f] for f in FIELDS}
    record["nik"] = record["nik"] if unmasked else mask(record["nik"])
    for name in ("occurred_at", "recorded_at"):
        record[name] = record[name].isoformat()
    return record


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value
