"""ektp_workflow: a workflow engine for the Indonesian electronic ID card (e-KTP).

Integrators need only the names below::

    import ektp_workflow as ektp

    with ektp.Workflow.open("sqlite:///ektp.db") as wf:
        wf.register([ektp.ResidentRecord("1671054509050001", "Siti", "16.71.05")], actor="app")
        wf.fire("1671054509050001", "record", actor="kecamatan-05/operator-1")

Errors are all ``WorkflowError`` subclasses, importable from ``ektp_workflow.errors``.
"""

from __future__ import annotations

from .database import create_engine, upgrade
from .errors import (
    ConcurrencyError,
    TransitionNotAllowed,
    WorkflowError,
)
from .nik import NIK, parse_nik
from .records import Card, Event
from .registration import Registration
from .residents import ResidentRecord, read_residents_csv
from .states import Lifecycle
from .workflow import FireRequest, Workflow, default_lifecycle

__all__ = [
    "Card",
    "ConcurrencyError",
    "Event",
    "FireRequest",
    "Lifecycle",
    "NIK",
    "Registration",
    "ResidentRecord",
    "TransitionNotAllowed",
    "Workflow",
    "WorkflowError",
    "create_engine",
    "default_lifecycle",
    "parse_nik",
    "read_residents_csv",
    "upgrade",
]
