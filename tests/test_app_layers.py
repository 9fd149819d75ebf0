"""The apps import one way (docs/architecture in README "Layout"; issue 11 "A room of its own").

board/ is the bottom room every app appends to: it imports none of them. identity/ (voters,
credentials, login) sits above board/ and below voting/: voting's casting checks voters through
identity, and identity imports nothing of voting (it names ``voting.Election`` only by label in its
foreign keys; the election state enumeration lives in board/elections.py). voting/ does not import
tally/; participation/ (a participatory process) imports only board/ and identity/, and no
app below it imports participation/; operations/ (demo seeding, the simulation, the officials' dashboard) sits above the apps
and no app imports it. Static check of every import statement, function-local ones included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
APPS = ("board", "voting", "identity", "tally", "participation", "operations", "officials")

# What each package must never import (besides itself).
FORBIDDEN = {
    "board": {"voting", "identity", "tally", "participation", "operations", "officials"},
    "voting": {"tally", "participation", "operations", "officials"},
    "identity": {"voting", "tally", "participation", "operations", "officials"},
    "tally": {"identity", "participation", "operations", "officials"},
    # a process uses the board (its record) and identity (the residents' login); creating the
    # district elections is orchestration, above the apps (operations/), so no election import
    "participation": {"voting", "tally", "operations", "officials"},
    # the officials' authenticators: below the login (config/officials.py), beside no app
    "officials": {"board", "voting", "identity", "tally", "participation", "operations"},
    "verifier": {
        "config",
        "board",
        "voting",
        "identity",
        "tally",
        "participation",
        "operations",
        "officials",
    },
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_one_way(package: str) -> None:
    found = []
    for path in sorted((BASE_DIR / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue  # migrations name other apps' migrations as dependencies only
        for line, module in _imports(path):
            if module.split(".")[0] in FORBIDDEN[package]:
                found.append(f"{path.relative_to(BASE_DIR)}:{line} imports {module}")
    assert not found, "\n".join(found)


def test_verifier_is_embedded_through_its_public_interface() -> None:
    """Apps use verifier.api (and the CLI), never the verifier's internals."""
    found = []
    for package in ("config", *APPS):
        for path in sorted((BASE_DIR / package).rglob("*.py")):
            for line, module in _imports(path):
                if module.startswith("verifier.") and module not in (
                    "verifier.api",
                    "verifier.cli",
                ):
                    found.append(f"{path.relative_to(BASE_DIR)}:{line} imports {module}")
    assert not found, "\n".join(found)
