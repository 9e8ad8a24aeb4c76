"""The suite's scratch copy that ``kit fix`` edits, and the patch from the user's files to it.

The user's directory is never written while repairing: the copy leaves out what is not the suite (version control,
virtualenvs, caches, ``node_modules``), every edit is applied to the copy with the text it replaced kept, so a
repair that does not hold can be undone exactly, and the patch compares the copy with the texts the user's files
had when the run started (those texts are what ``--apply`` checks before writing anything).
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

from kit.diagnose.scan import IGNORED_DIRS

__all__ = ["Workspace", "unified_patch", "read_exact", "write_exact"]


def read_exact(path: Path) -> str | None:
    """A file's text with its line endings as they are (CRLF stays CRLF, so patches and edits match the bytes);
    None when there is no such file."""
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def write_exact(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)


class Workspace:
    """A copy of ``source`` under ``into``; :meth:`write` edits it, :meth:`undo` takes edits back."""

    def __init__(self, source: Path, into: Path) -> None:
        self.source = source
        self.root = into / source.name
        shutil.copytree(source, self.root, symlinks=True,
                        ignore=shutil.ignore_patterns(*IGNORED_DIRS, ".kit", "*.pyc", ".mypy_cache", ".ruff_cache"))
        self.originals: dict[str, str | None] = {}   # file -> its text when the run started (None: did not exist)

    def read(self, rel: str) -> str | None:
        return read_exact(self.root / rel)

    def write(self, rel: str, text: str) -> str | None:
        """Replace (or create) ``rel`` in the copy; returns the text it had, for :meth:`undo`."""
        before = self.read(rel)
        if rel not in self.originals:
            self.originals[rel] = before
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():  # the copy keeps links: write a file of the copy's own, never through the link
            path.unlink()
        write_exact(path, text)
        return before

    def undo(self, rel: str, before: str | None) -> None:
        path = self.root / rel
        if before is None:
            path.unlink(missing_ok=True)
        else:
            write_exact(path, before)

    def changed(self) -> dict[str, str | None]:
        """Every file whose text now differs from the start: file -> new text (None: removed)."""
        found = {}
        for rel, original in self.originals.items():
            now = self.read(rel)
            if now != original:
                found[rel] = now
        return found

    def patch(self) -> str:
        return unified_patch({rel: self.originals[rel] for rel in self.changed()}, self.changed())


def unified_patch(originals: dict[str, str | None], changed: dict[str, str | None]) -> str:
    """A unified diff with ``a/`` and ``b/`` prefixes, relative to the suite's directory: what ``git apply`` and
    ``patch -p1`` accept from there. New files diff from ``/dev/null``."""
    out: list[str] = []
    for rel in sorted(changed):
        old, new = originals.get(rel), changed[rel]
        before = (old or "").splitlines(keepends=True)
        after = (new or "").splitlines(keepends=True)
        lines = list(difflib.unified_diff(before, after, "/dev/null" if old is None else f"a/{rel}",
                                          "/dev/null" if new is None else f"b/{rel}", n=3))
        if not lines:
            continue
        if old is None:
            out.append(f"diff --git a/{rel} b/{rel}\nnew file mode 100644\n")
        else:
            out.append(f"diff --git a/{rel} b/{rel}\n")
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
