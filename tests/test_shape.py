"""The package keeps its shape: small modules and functions, a public API that is the
whole truth, and commands that load only what they need. (The layer contract itself is
``lint-imports``, configured in pyproject.toml and run by .ci/run.)"""

from __future__ import annotations

import ast
import functools
import inspect
import subprocess
import sys
import typing
from pathlib import Path

import pytest

import ektp_workflow

PACKAGE = Path(ektp_workflow.__file__).resolve().parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_50_lines() -> None:
    long = {}
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(PACKAGE)}:{node.name}"] = lines
    assert long == {}


def test_no_object_calls_another_objects_private_methods() -> None:
    calls = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name, owner = node.func.attr, node.func.value
                private = name.startswith("_") and not name.startswith("__")
                through_self = isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name)
                if private and through_self and owner.value.id in ("self", "cls"):  # type: ignore[attr-defined]
                    calls.append(f"{path.relative_to(PACKAGE)}: {ast.unparse(node.func)}")
    assert calls == []


def test_every_public_name_resolves_and_has_a_docstring() -> None:
    for name in dir(ektp_workflow):
        if name in ektp_workflow.__all__ or name[0].isupper():
            assert getattr(ektp_workflow, name).__doc__, f"{name} has no docstring"


def _returned_classes(cls: type) -> set[type]:
    """The package's classes that the public methods and properties of ``cls`` return.

    Annotations are resolved in their module and among the names the package exports
    at the top: a type that is neither cannot be named by an integrator."""
    exported = {name: getattr(ektp_workflow, name) for name in dir(ektp_workflow) if name[0].isupper()}
    found: set[type] = set()
    for name, member in vars(cls).items():
        function = member.func if isinstance(member, functools.cached_property) else member
        if name.startswith("_") or not inspect.isfunction(function):
            continue
        namespace = {**exported, **vars(sys.modules[function.__module__])}
        annotation = function.__annotations__.get("return")
        try:
            returned = eval(annotation, namespace) if isinstance(annotation, str) else annotation
        except NameError as err:
            raise AssertionError(f"{cls.__name__}.{name} returns a type not importable from ektp_workflow") from err
        found |= {c for c in _classes(returned) if c.__module__.startswith("ektp_workflow")}
    return found


def _classes(hint: object) -> set[type]:
    if isinstance(hint, type):
        return {hint}
    return {c for arg in typing.get_args(hint) for c in _classes(arg)}


def test_every_type_a_public_call_returns_is_importable_from_the_top() -> None:
    returned = _returned_classes(ektp_workflow.Workflow)
    assert {ektp_workflow.Blanks, ektp_workflow.RuleBook, ektp_workflow.Auditor, ektp_workflow.Reports} <= returned
    for service in list(returned):
        returned |= _returned_classes(service)
    missing = sorted(c.__name__ for c in returned if getattr(ektp_workflow, c.__name__, None) is not c)
    assert missing == [], "add these to ektp_workflow/__init__.py"
    assert len(returned) > 15


def _loaded_after(code: str) -> set[str]:
    """The top-level packages loaded by running ``code`` in a fresh interpreter."""
    script = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_the_cli_starts_without_sqlalchemy() -> None:
    loaded = _loaded_after("from ektp_workflow.cli.main import cli\ncli.list_commands(None)")
    assert "click" in loaded
    assert not loaded & {"sqlalchemy", "alembic", "transitions", "matplotlib", "graphviz", "psycopg"}


def test_reading_a_card_loads_neither_alembic_nor_the_machine_nor_the_charts(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("a POSIX path in the URL")
    database = tmp_path / "ektp.db"
    _loaded_after(f"from ektp_workflow import admin\nadmin.upgrade(admin.create_engine('sqlite:///{database}'))")
    loaded = _loaded_after(
        "import ektp_workflow as ektp\n"
        f"wf = ektp.Workflow.open('sqlite:///{database}')\n"
        "wf.register([ektp.ResidentRecord('1671054509050001', 'Siti', '16.71.05')], actor='test')\n"
        "wf.card('1671054509050001')"
    )
    assert "sqlalchemy" in loaded
    assert not loaded & {"alembic", "transitions", "matplotlib", "graphviz", "psycopg"}


def test_the_cli_offers_the_diagram_formats_the_lifecycle_draws() -> None:
    from ektp_workflow.cli.states import FORMATS
    from ektp_workflow.states import DIAGRAM_FORMATS

    assert FORMATS == DIAGRAM_FORMATS
