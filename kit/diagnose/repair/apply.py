"""``kit fix --apply``: the repaired files written into the user's suite, losing nothing.

Three promises. Nothing is written unless every file the patch touches still has the text it had when the run
started (the user may have edited meanwhile). Before the first write, every original is copied under kit's state
directory with the patch beside it, and the command that restores them is printed. Each file is replaced
atomically (written beside it, flushed, renamed over it), so a run killed at any moment leaves every file wholly
old or wholly new.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kit.common.paths import state_dir
from kit.diagnose.repair.workspace import read_exact
from kit.errors import FixError

__all__ = ["apply_changes", "restore_command", "BARRIER_ENV"]

# Tests only: a file path; before each file after the first, kit writes the file's name there and waits until the
# test removes it, so a test can kill the process between two files (no sleep, no race).
BARRIER_ENV = "KIT_FIX_APPLY_BARRIER"


def _current(path: Path) -> str | None:
    return read_exact(path)


def apply_changes(suite: Path, originals: dict[str, str | None], changed: dict[str, str | None], patch: str,
                  before_writing: Callable[[str], None] | None = None) -> Path:
    """Write ``changed`` (file -> new text, None: remove) into ``suite``; returns the backup directory.
    ``before_writing`` is handed, once the originals are safe and before the first write, the command that
    restores them from any state (so a run killed halfway has printed its way back)."""
    moved = [rel for rel in sorted(changed) if _current(suite / rel) != originals.get(rel)]
    if moved:
        raise FixError(f"{', '.join(moved[:3])} changed in {suite} while kit fix ran, so nothing was written (kit "
                       "applies its patch only to the files it repaired a copy of). Run `kit fix` again, or apply the "
                       "patch yourself with --patch FILE and `git apply FILE`.")
    backup = state_dir() / "fix-backups" / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    (backup / "files").mkdir(parents=True, exist_ok=True)
    for rel in changed:
        original = suite / rel
        if original.is_file():
            (backup / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(original, backup / "files" / rel)
    backup.mkdir(parents=True, exist_ok=True)
    (backup / "fix.patch").write_text(patch)
    (backup / "suite.txt").write_text(f"{suite}\n")
    if before_writing is not None:
        before_writing(restore_command(suite, backup, [rel for rel in sorted(changed) if originals.get(rel) is None]))
    barrier = os.environ.get(BARRIER_ENV)
    for index, rel in enumerate(sorted(changed)):
        if barrier and index:
            _wait_at(Path(barrier), rel)
        _replace(suite / rel, changed[rel])
    return backup


def restore_command(suite: Path, backup: Path, created: list[str]) -> str:
    """A shell command that puts every original back whether none, some or all of the files were written: the
    kept copies over the suite, and the files the patch creates removed."""
    command = f"cp -a {shlex.quote(str(backup / 'files'))}/. {shlex.quote(str(suite))}/"
    if created:
        command += " && rm -f " + " ".join(shlex.quote(str(suite / rel)) for rel in created)
    return command


def _replace(path: Path, text: str | None) -> None:
    if text is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".kit-fix", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _wait_at(barrier: Path, rel: str) -> None:
    barrier.write_text(rel)
    deadline = time.monotonic() + 60
    while barrier.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
