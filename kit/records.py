"""Run records: one plain dataclass per run, appended as JSON Lines, loaded as a pandas DataFrame.

The store is append-only. Each record is written with a single ``write`` under an exclusive lock, so
concurrent kit processes never interleave lines, and a crash loses at most the line being written. A
torn last line is skipped with a warning when loading, and the next append starts on a fresh line so
it never glues onto the torn one.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from kit.errors import RecordsError
from kit.masking import mask_text
from kit.paths import data_dir

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunRecord", "append_records", "iter_records", "load_records", "new_run_id", "records_path"]

RECORDS_FILE = "runs.jsonl"


def new_run_id() -> str:
    """Groups the records of one kit command invocation."""
    return uuid.uuid4().hex[:12]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class RunRecord:
    """One thing that ran: a probe check, a scenario variant, a stage, or a single test inside them."""

    kind: str                      # probe | scenario | stage | test | diagnose | matrix
    subject: str                   # check name, scenario id, stage name or test node id
    outcome: str                   # passed | failed | error | timeout | skipped
    variant: str | None = None     # broken | fixed, or a stage name for tests
    phase: str | None = None       # setup | call | teardown for tests
    error_type: str | None = None
    error_message: str | None = None
    duration_s: float = 0.0
    loops: dict = field(default_factory=dict)     # phase or fixture -> loop label ("L1", ...)
    versions: dict = field(default_factory=dict)
    target_kind: str | None = None  # embedded | url
    run_id: str = ""
    timestamp: str = field(default_factory=_now)
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.error_message = mask_text(self.error_message)


def records_path(directory: Path | None = None) -> Path:
    return (directory or data_dir()) / RECORDS_FILE


def append_records(records: Iterable[RunRecord], path: Path | None = None) -> Path:
    """Append records to the store (created on first use) and return its path."""
    path = path or records_path()
    names = tuple(RunRecord.__dataclass_fields__)
    payload = "".join(json.dumps({n: getattr(r, n) for n in names}, default=str, ensure_ascii=False) + "\n"
                      for r in records)
    if not payload:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RecordsError(f"Cannot write run records to {path} ({exc.strerror}). Set KIT_DATA_DIR to a "
                           "writable directory.") from None
    with os.fdopen(fd, "rb+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size:
                os.pread(fd, 1, size - 1) == b"\n" or os.write(fd, b"\n")  # seal a torn last line
            os.write(fd, payload.encode())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return path


def _parse_lines(text: str, path: Path) -> list[dict]:
    rows, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            bad += 1
    if bad:
        warnings.warn(f"{path}: skipped {bad} torn line(s); every complete record was loaded.", stacklevel=3)
    return rows


def iter_records(kind: str, path: Path | None = None) -> list[dict]:
    """The records of one kind as plain dicts, without pandas: for lookups on the hot path of a command."""
    path = path or records_path()
    if not path.exists():
        return []
    marker = f'"kind": "{kind}"'
    text = "\n".join(line for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                     if marker in line)
    return [row for row in _parse_lines(text, path) if row.get("kind") == kind]


def load_records(path: Path | None = None, kind: str | None = None) -> pd.DataFrame:
    """Every record in the store as a DataFrame, one column per field plus one per version (``v_<name>``)."""
    import pandas as pd

    path = path or records_path()
    columns = list(RunRecord.__dataclass_fields__)
    if not path.exists():
        return pd.DataFrame(columns=columns)
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    if kind is not None:  # cheap pre-filter on the text: records are written with "kind" first
        lines = [line for line in lines[:-1] if f'"kind": "{kind}"' in line] + [lines[-1] if f'"kind": "{kind}"' in lines[-1] else ""]
    if lines[-1].strip():  # no newline at the end: the last write was torn by a crash
        warnings.warn(f"{path}: skipped 1 torn last line; every complete record was loaded.", stacklevel=2)
    gc.disable()  # millions of short-lived dicts and strings: collection passes would double the load time
    try:
        try:  # fast path: one C-level parse of every complete line
            frame = pd.DataFrame.from_records(json.loads("[" + ",".join(lines[:-1]) + "]"), columns=columns)
        except ValueError:  # a torn line sealed by a later append, or a blank line: go line by line
            frame = pd.DataFrame.from_records(_parse_lines("\n".join(lines[:-1]), path), columns=columns)
    finally:
        gc.enable()
    if kind is not None:
        frame = frame[frame["kind"] == kind].reset_index(drop=True)
    versions = pd.DataFrame.from_records([v if isinstance(v, dict) else {} for v in frame["versions"]],
                                         index=frame.index)
    frame = frame.join(versions.add_prefix("v_"))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, errors="coerce", format="ISO8601")
    return frame
