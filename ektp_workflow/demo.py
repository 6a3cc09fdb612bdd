"""A synthetic Kota Palembang, moved through recording, PRR and de-duplication.

Everything is generated from a seed, so the same seed gives the same city and the
same history. Rates follow DOMAIN.md where it gives them (99.8% recorded in the 2017
seed); the rest are plausible round figures, named below.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import clock
from .clock import WIB
from .i18n import _, ngettext
from .nik import parse_nik
from .records import FireRequest, ResidentRecord
from .regions import Region, kecamatan_in
from .rules.planner import AllocationPlan
from .workflow import Workflow

CITY = "16.71"  # Kota Palembang
PALEMBANG_POPULATION = 1_801_367
#: Kemendagri's shipment to Palembang on 16 October 2017.
SEED_SHIPMENT = 20_000
#: Share of blanks spoiled in printing (Pekalongan 2016: 2,707 of 57,540).
SPOILAGE = 0.047
COLLECTION_RATE = 0.9
#: Recording in the demo runs from this date to the day it is run.
HISTORY_START = dt.datetime(2024, 1, 2, 8, 0, tzinfo=WIB)

# Share of residents born outside Palembang (their NIK carries another region).
BORN_ELSEWHERE = 0.15
# Residents who held an e-KTP before (moved in, or lost and now need a replacement).
HAD_EKTP = 0.60
RECORDING_RATE = 0.98
CENTRAL_RESULTS = {"confirm_single": 0.93, "flag_duplicate": 0.02, "reject_enrollment": 0.03}
RERECORD_RATE = 0.75
RESOLVE_DUPLICATE_RATE = 0.40
DEATH_RATE = 0.005
MOVE_OUT_RATE = 0.01

_GIVEN = [
    "Ahmad",
    "Budi",
    "Citra",
    "Dewi",
    "Eka",
    "Fajar",
    "Gita",
    "Hadi",
    "Indah",
    "Joko",
    "Kartika",
    "Lestari",
    "Muhammad",
    "Nur",
    "Putri",
    "Rizki",
    "Sari",
    "Taufik",
    "Utami",
    "Wahyu",
    "Yusuf",
    "Zahra",
    "Agus",
    "Rina",
    "Bambang",
    "Siti",
    "Andi",
    "Ratna",
]
_FAMILY = [
    "Saputra",
    "Wijaya",
    "Pratama",
    "Hidayat",
    "Santoso",
    "Lubis",
    "Siregar",
    "Nasution",
    "Kurniawan",
    "Rahman",
    "Susanto",
    "Halim",
    "Gunawan",
    "Setiawan",
    "Purnomo",
    "Syahputra",
    "Harahap",
    "Firmansyah",
    "Ramadhan",
    "Utomo",
]
# Rough age pyramid of people 14 and over: (youngest, oldest, weight).
_AGE_BANDS = ((14, 16, 6), (17, 17, 4), (18, 24, 14), (25, 39, 30), (40, 59, 32), (60, 90, 14))


@dataclass
class DemoSummary:
    """What the demo built: the city, the residents, the events."""

    kecamatan: list[Region]
    residents: int
    events: int
    blanks: int = 0
    plan: AllocationPlan | None = None
    printed: int = 0
    spoiled: int = 0
    collected: int = 0

    def first_time_served_first(self) -> bool:
        """No replacement applicant got a blank where a first-time applicant still waits."""
        return self.plan is not None and all(
            not (k.served(False) and k.left_waiting(True)) for k in self.plan.kecamatan
        )


def population(count: int, seed: int, today: dt.date) -> list[ResidentRecord]:
    """``count`` synthetic residents of Kota Palembang with valid, unique NIKs."""
    rng = random.Random(seed)
    districts = kecamatan_in(CITY)
    weights = [rng.uniform(0.5, 1.5) for _ in districts]
    elsewhere = _other_regions()
    serials: Counter[str] = Counter()
    records = []
    for _unused in range(count):
        home = rng.choices(districts, weights)[0]
        born_in = rng.choice(elsewhere) if rng.random() < BORN_ELSEWHERE else home
        birth, sex = _birth(rng, today), rng.choice("FM")
        prefix = born_in.code.replace(".", "") + _date_digits(birth, sex)
        serials[prefix] += 1
        nik = f"{prefix}{serials[prefix]:04d}"
        name = f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}"
        had = birth < today.replace(year=today.year - 18) and rng.random() < HAD_EKTP
        records.append(ResidentRecord(nik, name, home.code, had, birth))
    return records


def _other_regions() -> list[Region]:
    # A few nearby kabupaten of Sumatera Selatan and Jakarta: where movers come from.
    return [r for code in ("16.07", "16.10", "16.02", "31.74") for r in kecamatan_in(code)]


def _birth(rng: random.Random, today: dt.date) -> dt.date:
    low, high, _weight = rng.choices(_AGE_BANDS, [w for *_, w in _AGE_BANDS])[0]
    age = rng.randint(low, high)
    return today - dt.timedelta(days=age * 365 + rng.randint(0, 364))


def _date_digits(birth: dt.date, sex: str) -> str:
    day = birth.day + (40 if sex == "F" else 0)
    return f"{day:02d}{birth.month:02d}{birth.year % 100:02d}"


def history(records: list[ResidentRecord], seed: int, now: dt.datetime) -> list[FireRequest]:
    """Each resident's path through the lifecycle, all events in time order."""
    rng = random.Random(seed + 1)
    requests = [r for record in records for r in _card_path(rng, record, now)]
    requests.sort(key=lambda r: r.at or now)
    return requests


def _card_path(rng: random.Random, record: ResidentRecord, now: dt.datetime) -> Iterator[FireRequest]:
    span = (now - HISTORY_START).days
    when = HISTORY_START + dt.timedelta(days=rng.uniform(0, span * 0.8), hours=rng.uniform(0, 8))
    steps = _steps(rng) if rng.random() < RECORDING_RATE else []
    sixteen = _birthday(record.birth_date or parse_nik(record.nik).birth_date, 16)
    if steps and when.date() < sixteen:
        when = dt.datetime.combine(sixteen, when.timetz()) + dt.timedelta(days=rng.randint(0, 60))
    for trigger, days in steps + _exit(rng):
        when += dt.timedelta(days=days, minutes=rng.uniform(1, 240))
        if when >= now:
            return
        yield FireRequest(record.nik, trigger, at=when)


def _birthday(born: dt.date, years: int) -> dt.date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # born on 29 February
        return dt.date(born.year + years, 3, 1)


def _steps(rng: random.Random) -> list[tuple[str, float]]:
    steps: list[tuple[str, float]] = [("record", 0), ("submit", rng.uniform(0, 20))]
    result = rng.choices([*CENTRAL_RESULTS, None], [*CENTRAL_RESULTS.values(), 0.02])[0]
    if result is None:
        return steps
    steps.append((result, rng.uniform(20, 240)))
    if result == "reject_enrollment" and rng.random() < RERECORD_RATE:
        steps += [
            ("rerecord", rng.uniform(14, 60)),
            ("submit", rng.uniform(0, 10)),
            ("confirm_single", rng.uniform(20, 120)),
        ]
    if result == "flag_duplicate" and rng.random() < RESOLVE_DUPLICATE_RATE:
        steps.append(("resolve_duplicate", rng.uniform(30, 180)))
    return steps


def _exit(rng: random.Random) -> list[tuple[str, float]]:
    draw = rng.random()
    if draw < DEATH_RATE:
        return [("die", rng.uniform(1, 200))]
    if draw < DEATH_RATE + MOVE_OUT_RATE:
        return [("move_out", rng.uniform(1, 200))]
    return []


def run(
    workflow: Workflow,
    residents: int,
    seed: int,
    actor: str,
    blanks: int | None = None,
    on_stage: Callable[[str], None] = lambda message: None,
) -> DemoSummary:
    """Register a synthetic city, play its history, then one shipment of blanks through.

    :param on_stage: told what the demo does next, for a progress display.
    """
    now = clock.now()
    records = population(residents, seed, now.date())
    registered_at = min(HISTORY_START, now)
    on_stage(
        ngettext(
            "registering {count:,} resident of Kota Palembang",
            "registering {count:,} residents of Kota Palembang",
            len(records),
        ).format(count=len(records))
    )
    workflow.register(records, actor=actor, at=registered_at, source="demo population")
    requests = history(records, seed, now)
    on_stage(
        ngettext(
            "playing {count:,} event of recording, PRR and de-duplication since {day}",
            "playing {count:,} events of recording, PRR and de-duplication since {day}",
            len(requests),
        ).format(count=len(requests), day=HISTORY_START.date().isoformat())
    )
    for start in range(0, len(requests), 5000):
        workflow.fire_many(requests[start : start + 5000], actor=actor)
    on_stage(_("receiving blanks, distributing, allocating, printing and collecting"))
    summary = DemoSummary(kecamatan_in(CITY), len(records), len(records) + len(requests))
    shipment = blanks if blanks is not None else max(1, round(SEED_SHIPMENT * residents / PALEMBANG_POPULATION))
    return _blank_cycle(workflow, summary, shipment, random.Random(seed + 2), actor)


def _blank_cycle(
    workflow: Workflow, summary: DemoSummary, shipment: int, rng: random.Random, actor: str
) -> DemoSummary:
    """Receive a shipment, distribute it, allocate, print (some spoiled), collect."""
    reference = f"KEMENDAGRI-DEMO-{clock.now().date().isoformat()}"
    workflow.blanks.receive(reference, shipment, actor=actor, reason="demo shipment")
    workflow.blanks.distribute(reference, actor=actor)
    plan = workflow.allocate(actor=actor)
    spoiled = [a.nik for a in plan.chosen() if rng.random() < SPOILAGE]
    printed = [a.nik for a in plan.chosen() if a.nik not in set(spoiled)]
    for nik in spoiled:  # the misprinted blank is ruined: the card gets the next one, or waits in its place
        if not workflow.reprint(nik, actor=actor, reason="misprint: chip not written").waiting:
            printed.append(nik)
    workflow.fire_many([FireRequest(nik, "print_card") for nik in printed], actor=actor)
    collected = [nik for nik in printed if rng.random() < COLLECTION_RATE]
    workflow.fire_many([FireRequest(nik, "collect") for nik in collected], actor=actor)
    # a misprint is one event (reprint or requeue), with the spoiled blank's ledger entry
    events = summary.events + len(plan.chosen()) + len(spoiled) + len(printed) + len(collected)
    return dataclasses.replace(
        summary,
        events=events,
        blanks=shipment,
        plan=plan,
        printed=len(printed),
        spoiled=len(spoiled),
        collected=len(collected),
    )
