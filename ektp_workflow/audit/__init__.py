"""The auditor's toolkit: verify the chain, replay, explain allocations, export."""

from __future__ import annotations

from .auditor import Auditor
from .chain import ChainProblem, Verification
from .explain import Explanation, RunExplanation
from .replay import Replay

__all__ = ["Auditor", "ChainProblem", "Explanation", "Replay", "RunExplanation", "Verification"]
