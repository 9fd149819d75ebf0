"""crypto/ is framework-free, and the verifier depends on crypto/ only.

Static check: every import statement (and every ``import_module`` /
``__import__`` call with a literal name) in their source files. Dynamic check:
importing the package in a fresh interpreter loads no framework module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
FRAMEWORKS = {"django", "rest_framework", "drf_spectacular", "celery", "kombu"}
PROJECT_APPS = {"config", "board", "identity", "voting", "tally", "operations"}

FORBIDDEN = {
    # The core never imports the frameworks, the apps, or its own tools.
    "crypto": FRAMEWORKS | PROJECT_APPS | {"verifier", "witness"},
    # The verifier works from an exported board with crypto/ alone.
    "verifier": FRAMEWORKS | PROJECT_APPS,
    # pnyx-witness runs on an independent party's machine: crypto/ and the standard library.
    "witness": FRAMEWORKS | PROJECT_APPS | {"verifier"},
}


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Yield (line, absolute module name) for every import in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (
                name in {"import_module", "__import__"}
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                yield node.lineno, first.value


def violations(package: str) -> list[str]:
    found = []
    for path in sorted((BASE_DIR / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in imported_modules(tree):
            if module.split(".")[0] in FORBIDDEN[package]:
                found.append(f"{path.relative_to(BASE_DIR)}:{line} imports {module}")
    return found


def import_in_fresh_interpreter(package: str) -> subprocess.CompletedProcess:
    forbidden = sorted(FORBIDDEN[package.split(".")[0]])
    code = (
        f"import sys, {package}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r})\n"
        "assert not bad, f'importing loaded {bad}'\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_crypto_package_exists() -> None:
    assert (BASE_DIR / "crypto" / "__init__.py").is_file(), "crypto/__init__.py is missing"


def test_crypto_source_imports_no_framework() -> None:
    assert violations("crypto") == []


def test_importing_crypto_loads_no_framework() -> None:
    done = import_in_fresh_interpreter("crypto")
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not (BASE_DIR / "verifier").is_dir(), reason="verifier/ does not exist yet")
def test_verifier_source_imports_only_crypto() -> None:
    assert violations("verifier") == []


@pytest.mark.skipif(
    not (BASE_DIR / "verifier" / "__init__.py").is_file(), reason="verifier/ does not exist yet"
)
def test_importing_verifier_loads_no_framework() -> None:
    done = import_in_fresh_interpreter("verifier")
    assert done.returncode == 0, done.stderr


def test_witness_source_imports_only_crypto() -> None:
    assert violations("witness") == []


def test_importing_the_witness_loads_no_framework() -> None:
    for module in ("witness", "witness.cli", "witness.server", "witness.service", "witness.client"):
        done = import_in_fresh_interpreter(module)
        assert done.returncode == 0, done.stderr


def test_the_witness_needs_no_petlib() -> None:
    """An independent party installs pnyx-witness with `cryptography` alone: no P-256 group."""
    code = (
        "import sys, witness.cli, witness.server, witness.service, witness.client\n"
        "assert 'petlib' not in sys.modules and 'crypto.group' not in sys.modules, sorted(sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_static_check_catches_forbidden_imports() -> None:
    source = (
        "import django\nfrom celery import shared_task\nimportlib.import_module('voting.models')"
    )
    found = [module for _, module in imported_modules(ast.parse(source))]
    assert found == ["django", "celery", "voting.models"]
