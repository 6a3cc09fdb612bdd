"""Loading the library before a clock starts (run.py) or a count begins (instructions.py)."""

from __future__ import annotations

import importlib

_NOT_PRELOADED = (
    "ektp_workflow.cli",
    "ektp_workflow.migrations",
    "ektp_workflow.__main__",
    "ektp_workflow._files.report_page",
)


def preload() -> None:
    """Load the library's modules before a clock starts: the workflow loads a service's
    modules when it is first used, and what is timed here is the work on the database,
    not the import (``startup.py`` measures that). Not the report page (matplotlib) nor
    the CLI, which no measurement uses."""
    import pkgutil

    import ektp_workflow

    for module in pkgutil.walk_packages(ektp_workflow.__path__, "ektp_workflow."):
        if not module.name.startswith(_NOT_PRELOADED):
            importlib.import_module(module.name)
