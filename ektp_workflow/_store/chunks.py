"""How much one chunk of a long job holds: one transaction, IN lists of at most this many."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TypeVar

#: Cards, residents or file rows a chunk takes (one transaction each).
CHUNK = 2000
T = TypeVar("T")


def chunked(items: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (default ``CHUNK``, read when called), the last shorter."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size or CHUNK)):
        yield chunk
