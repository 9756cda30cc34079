"""The project installs reproducibly: every dependency range admits its pin in constraints.txt, the README has
exactly two set-up commands, and .ci/run calls the README's test command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_every_dependency_is_pinned_inside_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    reqs = project["dependencies"] + [r for rs in project["optional-dependencies"].values() for r in rs]
    for text in reqs:
        req = Requirement(text)
        assert req.name.lower() in pins, f"{req.name} has no pin in constraints.txt"
        assert Version(pins[req.name.lower()]) in req.specifier, f"{req.name}=={pins[req.name.lower()]} vs {req}"


def _readme_commands() -> list[str]:
    blocks = re.findall(r"```\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [b.strip() for b in blocks if "pip install" in b]


def test_readme_has_exactly_two_commands_and_ci_uses_the_test_one():
    commands = _readme_commands()
    assert len(commands) == 2
    run_cmd, test_cmd = commands
    assert run_cmd.endswith("app.py") and "pytest" in test_cmd
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci
    assert "VIEWER_REQUIRE_ALL=1" in ci and "set -euo pipefail" in ci
