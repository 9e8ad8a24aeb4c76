"""What a repair is made of: the suite copy's files, the finding's context, and the edits for one cause.

Shared by the repairs that change how loops are shared (:mod:`kit.diagnose.repair.loops`) and those that add an
argument or a decorator (:mod:`kit.diagnose.repair.plan`), so both read the suite the same way.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from kit.diagnose.model import Diagnosis, Finding
from kit.diagnose.repair import pyedit
from kit.diagnose.repair.workspace import read_exact
from kit.diagnose.scan import IGNORED_DIRS

__all__ = ["Change", "Repair", "Suite", "Context", "Outcome", "merge"]


@dataclass(frozen=True)
class Change:
    """One file's new text in the suite's copy."""

    file: str          # relative to the suite, with forward slashes
    text: str          # the whole new text
    line: int          # where the change is (1-based, in the new text)
    description: str


@dataclass
class Repair:
    """The edits for one cause, why they fix it, and what else would."""

    cause: str
    changes: list[Change] = field(default_factory=list)
    why: str = ""
    alternatives: str = ""


def _is_test_file(rel: str) -> bool:
    name = Path(rel).name
    return name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py")


class Suite:
    """The copy being repaired: its Python files (outside virtualenvs and caches), read on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._texts: dict[str, str] = {}

    def python_files(self, tests_only: bool = False) -> list[str]:
        """The suite's Python files; ``tests_only``: its tests and conftests, the modules that import pytest
        (fixture plugins) and the modules conftests import (test helpers such as a session factory)."""
        every = []
        for path in sorted(self.root.rglob("*.py")):
            rel = path.relative_to(self.root)
            if not IGNORED_DIRS.intersection(rel.parts[:-1]):
                every.append(rel.as_posix())
        if not tests_only:
            return every
        tests = [rel for rel in every if _is_test_file(rel) or "pytest" in (self.text(rel) or "")]
        helpers = self._imported_by([rel for rel in tests if rel.endswith("conftest.py")])
        return [rel for rel in every if rel in tests or Path(rel).with_suffix("").as_posix().replace("/", ".")
                in helpers or Path(rel).stem in helpers]

    def _imported_by(self, files: list[str]) -> set[str]:
        names: set[str] = set()
        for rel in files:
            try:
                tree = ast.parse(self.text(rel) or "")
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module)
                elif isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
        return names

    def remember(self, rel: str, text: str) -> None:
        """Later edits of the same repair start from ``text`` (the file's new content in this repair)."""
        self._texts[rel] = text

    def text(self, rel: str) -> str | None:
        if rel not in self._texts:
            path = self.root / rel
            self._texts[rel] = read_exact(path)  # type: ignore[assignment]
        return self._texts[rel]

    def root_conftest(self, near: str | None = None) -> str:
        """The shallowest conftest.py on the way to ``near`` (a test file), else the suite's root one."""
        if near:
            parts = Path(near).parts[:-1]
            for depth in range(len(parts) + 1):
                candidate = "/".join([*parts[:depth], "conftest.py"])
                if (self.root / candidate).is_file():
                    return candidate
        return "conftest.py"

    def edit_each(self, files: list[str], edit: Callable[[str], pyedit.Edited | None]) -> list[Change]:
        changes = []
        for rel in files:
            text = self.text(rel)
            if text is None:
                continue
            edited = edit(text)
            if edited is not None and edited.text != text:
                changes.append(Change(rel, edited.text, edited.line, edited.description))
        return changes


@dataclass
class Context:
    finding: Finding
    diagnosis: Diagnosis
    suite: Suite

    @property
    def config(self) -> dict:
        return self.diagnosis.config or {}

    def version(self, package: str) -> Version | None:
        value = self.config.get(package)
        try:
            return Version(value) if value else None
        except ValueError:
            return None

    @property
    def test_file(self) -> str | None:
        return self.finding.nodeid.split("::", 1)[0] if "::" in self.finding.nodeid else None


Outcome = Repair | str  # a repair, or why there is none




def merge(changes: list[Change]) -> list[Change]:
    """One change per file: the last text wins (each edit started from the previous one's text)."""
    by_file: dict[str, Change] = {}
    for change in changes:
        first = by_file.get(change.file)
        by_file[change.file] = change if first is None else Change(change.file, change.text, first.line,
                                                                   f"{first.description}; {change.description}")
    return list(by_file.values())
