"""ektp_workflow: a workflow engine for the Indonesian electronic ID card (e-KTP).

Integrators need only the names below::

    import ektp_workflow as ektp

    with ektp.Workflow.open("sqlite:///ektp.db") as wf:
        wf.register([ektp.ResidentRecord("1671054509050001", "Siti", "16.71.05")], actor="app")
        wf.fire("1671054509050001", "record", actor="kecamatan-05/operator-1")

Every type a public call returns is importable from here (``__all__`` lists the
names integrators need; the rest are the types those return). Errors are all
``WorkflowError`` subclasses, importable from ``ektp_workflow.errors``; rule plugins
use ``ektp_workflow.rules.base``; schema administration is ``ektp_workflow.admin``.
Modules whose names start with ``_`` are internal.

Names load on first use (PEP 562), so that ``import ektp_workflow`` (and ``ektp
--help``) does not load SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each public name and the module it lives in.
_WHERE = {
    "Workflow": "workflow",
    "create_engine": "admin",
    "upgrade": "admin",
    "default_lifecycle": "_services.lifecycle",
    "read_residents_csv": "_files.residents_csv",
    # errors
    "ConcurrencyError": "errors",
    "TransitionNotAllowed": "errors",
    "WorkflowError": "errors",
    # values
    "NIK": "nik",
    "parse_nik": "nik",
    "AgingRow": "records",
    "BacklogRow": "records",
    "BulkResult": "records",
    "Card": "records",
    "CardPage": "records",
    "Correction": "records",
    "ResidentVersion": "records",
    "CoverageRow": "records",
    "Event": "records",
    "FireRequest": "records",
    "Registration": "records",
    "ResidentRecord": "records",
    "StockBulletin": "records",
    "StockRequest": "records",
    "RequestStatus": "records",
    "StockRow": "records",
    # the lifecycle and the rules
    "Lifecycle": "states",
    "StateSpec": "states",
    "TransitionSpec": "states",
    "Applicant": "rules.base",
    "Demand": "rules.base",
    "AllocationPlan": "rules.planner",
    "KecamatanPlan": "rules.planner",
    "RuleSet": "rules.ruleset",
    # what the services return
    "Blanks": "_services.blanks",
    "Distribution": "_services.distribution",
    "ShareOutcome": "_services.distribution",
    "Batch": "_store.balances",
    "Loan": "_store.balances",
    "QuotaUse": "_services.blanks",
    "StockLine": "_store.balances",
    "Spoiled": "_store.balances",
    "RuleBook": "_services.rulebook",
    "RuleSetDiff": "_services.rulebook",
    "KecamatanChange": "_services.rulebook",
    "ShareChange": "_services.rulebook",
    "StoredRuleSet": "_store.rulesets",
    "Activation": "_store.rulesets",
    "Reports": "_services.reports",
    "Reprint": "_services.printing",
    "Replacement": "_services.replacements",
    "ReplacementCount": "_services.replacements",
    "Auditor": "_audit.auditor",
    "Verification": "_audit.verify",
    "ChainProblem": "_audit.verify",
    "Replay": "_audit.replay",
    "CardStates": "_audit.replay",
    "Explanation": "_audit.explain",
    "RunExplanation": "_audit.explain",
}

#: What integrators need; the other names above are the types the API returns, importable
#: from here too (``from ektp_workflow import Verification``).
__all__ = [
    "NIK",
    "AllocationPlan",
    "BulkResult",
    "Card",
    "ConcurrencyError",
    "Event",
    "FireRequest",
    "Lifecycle",
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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ektp_workflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found once; later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


if TYPE_CHECKING:
    from ._audit.auditor import Auditor as Auditor
    from ._audit.explain import Explanation as Explanation
    from ._audit.explain import RunExplanation as RunExplanation
    from ._audit.replay import CardStates as CardStates
    from ._audit.replay import Replay as Replay
    from ._audit.verify import ChainProblem as ChainProblem
    from ._audit.verify import Verification as Verification
    from ._files.residents_csv import read_residents_csv
    from ._services.blanks import Blanks as Blanks
    from ._services.blanks import QuotaUse as QuotaUse
    from ._services.distribution import Distribution as Distribution
    from ._services.distribution import ShareOutcome as ShareOutcome
    from ._services.lifecycle import default_lifecycle
    from ._services.printing import Reprint as Reprint
    from ._services.replacements import Replacement as Replacement
    from ._services.replacements import ReplacementCount as ReplacementCount
    from ._services.reports import Reports as Reports
    from ._services.rulebook import KecamatanChange as KecamatanChange
    from ._services.rulebook import RuleBook as RuleBook
    from ._services.rulebook import RuleSetDiff as RuleSetDiff
    from ._services.rulebook import ShareChange as ShareChange
    from ._store.balances import Batch as Batch
    from ._store.balances import Loan as Loan
    from ._store.balances import Spoiled as Spoiled
    from ._store.balances import StockLine as StockLine
    from ._store.rulesets import Activation as Activation
    from ._store.rulesets import StoredRuleSet as StoredRuleSet
    from .admin import create_engine, upgrade
    from .errors import ConcurrencyError, TransitionNotAllowed, WorkflowError
    from .nik import NIK, parse_nik
    from .records import AgingRow as AgingRow
    from .records import BacklogRow as BacklogRow
    from .records import BulkResult, Card, Event, FireRequest, Registration, ResidentRecord
    from .records import CardPage as CardPage
    from .records import Correction as Correction
    from .records import CoverageRow as CoverageRow
    from .records import RequestStatus as RequestStatus
    from .records import ResidentVersion as ResidentVersion
    from .records import StockBulletin as StockBulletin
    from .records import StockRequest as StockRequest
    from .records import StockRow as StockRow
    from .rules.base import Applicant as Applicant
    from .rules.base import Demand as Demand
    from .rules.planner import AllocationPlan
    from .rules.planner import KecamatanPlan as KecamatanPlan
    from .rules.ruleset import RuleSet as RuleSet
    from .states import Lifecycle
    from .states import StateSpec as StateSpec
    from .states import TransitionSpec as TransitionSpec
    from .workflow import Workflow
