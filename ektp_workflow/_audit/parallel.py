"""Verifying the chain in worker processes: each re-hashes one range of it, from the
hash stored in the row before the range, and the ranges' seams are links like any
other. All of them read one snapshot (PostgreSQL exports the verifier's to its
workers); on SQLite each worker reads its own, which agree on the rows of the chain
(they never change), and the last worker reads the chain head with the last rows.

A worker is ``python -m ektp_workflow._audit.parallel``, told what to do on its stdin
(the database URL, with its password, never on a command line) and answering on its
stdout: not multiprocessing, which would import the caller's main module again in
every worker.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import selectors
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from .._store.history import Progress
from .._store.store import Store
from ..errors import WorkflowError
from ..i18n import _
from . import verify

#: Below this many rows of the chain per worker, starting one costs more than it saves.
SMALLEST = 20_000


def verify_in_parallel(
    store: Store, jobs: int, against: tuple[int, str] | None = None, progress: Progress | None = None
) -> verify.Verification:
    """``verify.verify`` split into ``jobs`` ranges verified by as many processes at once.
    One process (the caller's) where the chain is short or the database cannot be
    opened by another process (a caller's connection, an in-memory SQLite)."""
    url = store.worker_url()
    with store.shared_reading() as (tx, snapshot):
        begun = verify.start(tx)
        ranges = split(begun.first - 1, begun.chain_head[0], jobs)
        if url is None or len(ranges) < 2:
            return verify.verify(tx, against, progress)
        workers = [_start(url, snapshot, after, until, against) for after, until in ranges]
        parts = _results(workers, progress)
        return verify.combined(tx, begun, parts, against)


def split(after: int, head: int, jobs: int) -> list[tuple[int, int | None]]:
    """``jobs`` consecutive ranges ``(after, until]`` of about as many rows from ``after``
    to the head, the last open (to the end of its snapshot); one range for a short chain."""
    rows = head - after
    jobs = max(1, min(jobs, rows // SMALLEST))
    bounds = [after + rows * k // jobs for k in range(jobs + 1)]
    return [(bounds[k], bounds[k + 1] if k + 1 < jobs else None) for k in range(jobs)]


def _start(
    url: str, snapshot: str | None, after: int, until: int | None, against: tuple[int, str] | None
) -> subprocess.Popen[bytes]:
    package = str(Path(__file__).resolve().parents[2])  # where ektp_workflow is, installed or not
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package, os.environ.get("PYTHONPATH")]))}
    worker = subprocess.Popen(
        [sys.executable, "-m", "ektp_workflow._audit.parallel"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert worker.stdin is not None
    request = {"url": url, "snapshot": snapshot, "after": after, "until": until, "against": against}
    worker.stdin.write(json.dumps(request).encode())
    worker.stdin.close()
    return worker


def _results(workers: list[subprocess.Popen[bytes]], progress: Progress | None) -> list[verify.Part]:
    """Each worker's part, in order, passing on their progress; a worker's error is raised
    (the others are stopped)."""
    found: dict[int, Any] = {}
    pending = dict.fromkeys(range(len(workers)), b"")  # what a worker wrote after its last full line
    with selectors.DefaultSelector() as ready:
        for n, worker in enumerate(workers):
            assert worker.stdout is not None
            ready.register(worker.stdout.fileno(), selectors.EVENT_READ, n)
        try:
            while len(found) < len(workers) and not any(isinstance(v, BaseException) for v in found.values()):
                for key, _mask in ready.select():
                    n, data = key.data, os.read(key.fd, 1 << 16)  # what is there: never waits for more
                    *lines, pending[n] = (pending[n] + data).split(b"\n")
                    for line in lines:
                        _read(line, n, found, progress)
                    if not data:  # the worker ended
                        ready.unregister(key.fd)
                        found.setdefault(n, WorkflowError(_("verify worker {n} ended without a result").format(n=n)))
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                worker.wait()
    errors = [value for value in found.values() if isinstance(value, BaseException)]
    if errors:
        raise errors[0]
    return [found[n] for n in range(len(workers))]


def _read(line: bytes, n: int, found: dict[int, Any], progress: Progress | None) -> None:
    kind, __, data = line.partition(b" ")
    if kind == b"P" and progress is not None:
        progress(int(data))
    elif kind in (b"R", b"E"):
        found[n] = pickle.loads(base64.b64decode(data))  # from our own worker, never from outside


def _answer(out: IO[bytes], kind: bytes, value: Any) -> None:
    out.write(kind + b" " + base64.b64encode(pickle.dumps(value)) + b"\n")
    out.flush()


def _work() -> None:
    """A worker: verify the range asked for on stdin, answering on stdout."""
    request = json.loads(sys.stdin.read())
    out = sys.stdout.buffer

    def reported(n: int) -> None:
        out.write(b"P %d\n" % n)
        out.flush()

    store = None
    try:
        store = Store.open(request["url"])
        with store.reading(request["snapshot"]) as tx:
            against = tuple(request["against"]) if request["against"] else None
            part = verify.verify_part(tx, request["after"], request["until"], against, reported)
        _answer(out, b"R", part)
    except Exception as err:  # noqa: BLE001 - every error goes back to the verifier, which raises it
        _answer(out, b"E", err)
    finally:
        if store is not None:
            store.close()


if __name__ == "__main__":
    _work()
