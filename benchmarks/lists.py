"""How long a page of ``cards list`` takes, beside raw SQL on the same database.

    python benchmarks/lists.py --size palembang --db both    # 1,147,696 cards
    python benchmarks/lists.py --size quick                  # 20,000 cards, SQLite
    python benchmarks/lists.py --url URL                     # a city built before, as is

Builds a city (import; ``record`` for everyone of age, ``submit`` for them, then
``confirm_single`` for 60%, so that the states mix), then times each kind of page
(50 cards) through ``Workflow.list_cards`` on an open workflow (one per kind of
page), the median of five after one warm-up. Beside them: the same first page by NIK in raw SQL through
the driver, and a raw full scan of the residents' names (what a search by a part of
a name that matches nobody cannot beat: it must read every name).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import floors  # noqa: E402
from run import fresh_database, prepare_data  # noqa: E402

from ektp_workflow import Workflow, read_residents_csv  # noqa: E402

ACTOR = "bench"
RUNS = 5
PAGE = 50


def build(url: str, data: Path) -> None:
    with Workflow.open(url) as wf:
        wf.register_numbered(read_residents_csv(data), actor=ACTOR, source=str(data))
        wf.bulk_fire("record", actor=ACTOR, where_state="unrecorded")
        submitted = wf.bulk_fire("submit", actor=ACTOR, where_state="recorded").total_applied
        wf.bulk_fire("confirm_single", actor=ACTOR, where_state="prr", limit=submitted * 6 // 10)


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    work()
    seconds, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000, result


def cases(url: str) -> list[tuple[str, dict[str, Any]]]:
    with Workflow.open(url) as wf:
        middle = wf.list_cards(limit=1, nik_prefix="1671").cards[0].nik
        kecamatan = wf.list_cards(limit=1, states=["deduplicated"]).cards[0].kecamatan
    return [
        ("first page by NIK", {}),
        ("by NIK after a cursor", {"after": middle}),
        ("state deduplicated", {"states": ["deduplicated"]}),
        ("states recorded and prr", {"states": ["recorded", "prr"]}),
        ("state prr, longest waiting", {"states": ["prr"], "order": "waiting"}),
        ("in prr over 0 days, by NIK", {"states": ["prr"], "waiting_longer_than": 0}),
        ("a kecamatan", {"kecamatan": kecamatan}),
        ("a kecamatan, replacements", {"kecamatan": kecamatan, "replacement": True}),
        ("the queue, city", {"order": "queue"}),
        ("the queue, a kecamatan, first-time", {"order": "queue", "kecamatan": kecamatan, "replacement": False}),
        ("name 'siti'", {"name": "siti"}),
        ("name 'siti' in a kecamatan", {"name": "siti", "kecamatan": kecamatan}),
        ("name matching nobody", {"name": "zzzq"}),
        ("NIK prefix 167105", {"nik_prefix": "167105"}),
    ]


def raw_first_page(url: str) -> int:
    conn = floors.driver(url)
    cursor = conn.cursor()
    cursor.execute(
        "SELECT r.nik, r.name, r.kecamatan, r.birth_date, r.sex, r.had_ektp, c.state, c.version, c.updated_at "
        f"FROM residents r JOIN cards c ON c.id = r.id ORDER BY r.nik LIMIT {PAGE}"
    )
    rows = len(cursor.fetchall())
    conn.close()
    return rows


def raw_name_scan(url: str) -> int:
    conn = floors.driver(url)
    cursor = conn.cursor()
    cursor.execute("SELECT count(*) FROM residents WHERE name_key LIKE '%zzzq%'")
    found = int(cursor.fetchone()[0])
    conn.close()
    return found


def measure(kind: str, size: str, work: Path) -> list[tuple[str, str, float, int]]:
    data = prepare_data(size, work)
    url, cleanup = fresh_database(kind, work, f"lists_{kind}")
    try:
        started = time.perf_counter()
        build(url, data)
        print(f"  {kind}: built in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        return pages(kind, url)
    finally:
        cleanup()


def pages(kind: str, url: str) -> list[tuple[str, str, float, int]]:
    """Each kind of page, then the raw baselines, on the city at ``url``."""
    rows = []
    for label, options in cases(url):
        with Workflow.open(url) as wf:
            ms, found = timed(lambda wf=wf, options=options: len(wf.list_cards(limit=PAGE, **options).cards))
        rows.append((kind, label, ms, found))
        print(f"  {kind} {label}: {ms:.1f} ms", file=sys.stderr, flush=True)
    for label, raw in (("raw SQL: first page by NIK", raw_first_page), ("raw SQL: scan every name", raw_name_scan)):
        ms, found = timed(lambda raw=raw: raw(url))
        rows.append((kind, label, ms, found))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("quick", "palembang"), default="quick")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--work", help="Folder for data and SQLite files (default: a temporary one).")
    parser.add_argument("--url", action="append", help="Measure this database as it is (repeatable); build none.")
    args = parser.parse_args()
    if args.url:
        rows = [row for url in args.url for row in pages(url.split(":")[0].split("+")[0], url)]
    else:
        work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="ektp-lists-"))
        work.mkdir(parents=True, exist_ok=True)
        kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
        rows = [row for kind in kinds for row in measure(kind, args.size, work)]
    city = "the databases given" if args.url else f"size {args.size}"
    print(f"\ncards list, a page of {PAGE}, {city}: median of {RUNS}, ms\n")
    print(f"{'db':<11}{'page':<40}{'ms':>9}{'cards':>7}")
    for kind, label, ms, found in rows:
        print(f"{kind:<11}{label:<40}{ms:>9.1f}{found:>7}")


if __name__ == "__main__":
    main()
