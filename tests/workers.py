"""Processes that race each other on one database (run by the reliability tests)."""

from __future__ import annotations

import random
import traceback
from collections import Counter

from ektp_workflow import Workflow
from ektp_workflow.errors import WorkflowError

OPERATIONS = ("allocate", "print", "release", "die", "fire_stale", "bulk_die", "idempotent")


def race(url: str, niks: list[str], seed: int, rounds: int) -> dict[str, object]:
    """Random operations on shared cards; every outcome counted, anything untyped kept."""
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    unexpected: list[str] = []
    with Workflow.open(url) as workflow:
        for round_ in range(rounds):
            operation = rng.choice(OPERATIONS)
            try:
                _operate(workflow, operation, rng, niks, seed, round_)
                outcomes[f"{operation}: done"] += 1
            except WorkflowError as error:
                kind = "retryable" if error.retryable else "refused"
                outcomes[f"{operation}: {kind} {type(error).__name__}"] += 1
            except Exception:  # the test fails on any of these
                unexpected.append(traceback.format_exc())
    return {"outcomes": dict(outcomes), "unexpected": unexpected}


def _operate(workflow: Workflow, operation: str, rng: random.Random, niks: list[str], seed: int, round_: int) -> None:
    nik = rng.choice(niks)
    if operation == "allocate":
        workflow.allocate(actor=f"worker-{seed}")
    elif operation in ("print", "release"):
        allocated = workflow.cards(state="allocated", limit=5)
        target = rng.choice(allocated).nik if allocated else nik
        workflow.fire(target, "print_card" if operation == "print" else "release", actor=f"worker-{seed}")
    elif operation == "die":
        workflow.fire(nik, "die", actor=f"worker-{seed}")
    elif operation == "fire_stale":
        seen = workflow.card(nik)
        trigger = {"deduplicated": "allocate", "allocated": "print_card", "printed": "collect"}.get(seen.state, "die")
        workflow.fire(nik, trigger, actor=f"worker-{seed}", expected_version=seen.version)
    elif operation == "bulk_die":
        workflow.bulk_fire("move_out", actor=f"worker-{seed}", where_state="printed", limit=1)
    else:
        workflow.fire(nik, "die", actor=f"worker-{seed}", idempotency_key=f"death-{nik}")


def same_key(url: str, nik: str, key: str) -> int:
    """Fire with an idempotency key another process sends too; return the event's seq."""
    with Workflow.open(url) as workflow:
        return workflow.fire(nik, "record", actor="retrying-client", idempotency_key=key).seq
