"""The package's shape, checked: layering (import-linter), lint (ruff), module size, one home for errors.

These guard the architecture described in docs/ARCHITECTURE.md: a wrong-way import, a lint error, a module
that grows past one concept or an error class defined outside ``kit/errors.py`` fails kit's own suite.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

KIT = REPO / "kit"
MAX_LINES = 400
# Data, not code: the catalogue's entries and the reference API are sample projects users read whole.
DATA_TREES = (KIT / "catalogue", KIT / "reference")


def _tool(name: str) -> list[str]:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.fail(f"`{name}` is not installed: `pip install -e \".[test]\"` installs it.")
    return [found]


def _code_modules() -> list[Path]:
    modules = []
    for path in sorted(KIT.rglob("*.py")):
        in_data = any(tree in path.parents for tree in DATA_TREES) and path.parent not in DATA_TREES
        if not in_data:
            modules.append(path)
    return modules


def test_imports_follow_the_layers():
    result = subprocess.run([*_tool("lint-imports"), "--no-cache"], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_ruff_is_clean():
    result = subprocess.run([*_tool("ruff"), "check", "kit", "tests", "bench", "docs"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_every_code_module_holds_one_concept_in_at_most_400_lines():
    long = {str(p.relative_to(REPO)): n for p in _code_modules()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules by concept: {long}"


def test_every_error_class_lives_in_kit_errors():
    """One error class per failure family, all in kit/errors.py, so the CLI can print any of them as a paragraph."""
    elsewhere = []
    for path in _code_modules():
        if path == KIT / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    (getattr(base, "id", None) or getattr(base, "attr", "")).endswith(("Error", "Exception"))
                    for base in node.bases):
                elsewhere.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}")
    assert not elsewhere, elsewhere


def test_the_package_is_typed():
    assert (KIT / "py.typed").is_file()
