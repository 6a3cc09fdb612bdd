"""The README's quickstart is the one CI runs and the package provides."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def quickstart_commands() -> list[str]:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_quickstart_has_the_two_commands() -> None:
    assert quickstart_commands() == ["pip install . && ektp demo", "pip install -e '.[test]' && pytest"]


def test_ci_runs_the_readmes_test_command() -> None:
    assert quickstart_commands()[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_ektp_console_script_is_installed_by_the_package() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert "ektp = ektp_workflow.cli:main" in config["options.entry_points"]["console_scripts"]


def test_every_subpackage_is_listed_for_installation() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "ektp_workflow").rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [options] packages in setup.cfg"
