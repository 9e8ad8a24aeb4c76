"""Run records: one plain dataclass per run, appended as JSON Lines, loaded as a pandas DataFrame.

The store is append-only. Each record is written with a single ``write`` under an exclusive lock, so
concurrent kit processes never interleave lines, and a crash loses at most the line being written. A
torn last line is skipped with a warning when loading, and the next append starts on a fresh line so
it never glues onto the torn one.

Versions are the same for thousands of records in a row, and decoding them was most of a load: a record
stores a reference (``"versions": "v:<hash>"``) to a ``{"kind": "versions", ...}`` line that each process
writes once per store. Loading resolves references back to dicts; records with inline dicts still load.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import json
import os
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kit.common.masking import mask_text
from kit.common.paths import data_dir
from kit.errors import RecordsError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunRecord", "test_record", "append_records", "iter_records", "last_durations", "load_records", "new_run_id",
           "records_path"]

RECORDS_FILE = "runs.jsonl"
_VERSIONS = "versions"        # the kind of the lines that hold the versions records refer to
_written_versions: dict[str, dict[str, tuple[int, bytes]]] = {}  # store -> ref -> (offset, line) we wrote


def new_run_id() -> str:
    """Groups the records of one kit command invocation."""
    return uuid.uuid4().hex[:12]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


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


def test_record(test: object, *, group: str, versions: dict, target_kind: str | None, run_id: str,
                details: dict | None = None) -> RunRecord:
    """The record of one test case, from anything that has a case's fields (a
    :class:`~kit.run.runner.CaseResult`, a stage's test, or a variant's ``tests`` dict): ``group`` names what
    it ran in (``"<entry>/<variant>"``, ``"stage/<name>"``, ``"diagnose/<suite>"``)."""
    def get(name: str, default=None):
        return test.get(name, default) if isinstance(test, dict) else getattr(test, name, default)

    return RunRecord("test", get("nodeid"), get("outcome"), variant=group, phase=get("phase"),
                     error_type=get("error_type"), error_message=get("message"),
                     duration_s=round(get("duration_s", 0.0) or 0.0, 4),
                     loops={"phases": get("loops", {}), "fixtures": get("fixture_loops", {})},
                     versions=versions, target_kind=target_kind, run_id=run_id, details=details or {})


def records_path(directory: Path | None = None) -> Path:
    return (directory or data_dir()) / RECORDS_FILE


def _versions_ref(versions: dict) -> str:
    return "v:" + hashlib.sha1(json.dumps(versions, sort_keys=True, default=str).encode()).hexdigest()[:12]


def append_records(records: Iterable[RunRecord], path: Path | None = None) -> Path:
    """Append records to the store (created on first use) and return its path."""
    path = path or records_path()
    records = list(records)
    if not records:
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
            if size and os.pread(fd, 1, size - 1) != b"\n":
                size += os.write(fd, b"\n")  # seal a torn last line
            os.write(fd, _payload(records, fd, size, _written_versions.setdefault(str(path), {})))
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return path


def _payload(records: list[RunRecord], fd: int, offset: int, written: dict[str, tuple[int, bytes]]) -> bytes:
    """The records' lines, preceded by a versions line for each reference not yet in the store.

    ``written`` remembers where this process wrote each versions line; a line is trusted to be there only
    if the bytes at that offset still are that line (so a deleted or replaced store gets it again).
    """
    names = tuple(RunRecord.__dataclass_fields__)
    payload, checked, refs = bytearray(), set(), {}
    for record in records:
        row = {n: getattr(record, n) for n in names}
        if record.versions:
            key = id(record.versions)  # the records of one run usually share one dict
            ref = row["versions"] = refs[key] if key in refs else refs.setdefault(key, _versions_ref(record.versions))
            at, line = written.get(ref, (0, b""))
            if ref not in checked and (not line or os.pread(fd, len(line), at) != line):
                line = (json.dumps({"kind": _VERSIONS, "subject": ref, "versions": record.versions},
                                   default=str, ensure_ascii=False) + "\n").encode()
                written[ref] = (offset + len(payload), line)
                payload += line
            checked.add(ref)
        payload += (json.dumps(row, default=str, ensure_ascii=False) + "\n").encode()
    return bytes(payload)


def _parse_lines(text: str, path: Path) -> list[dict]:
    rows, bad = [], 0
    for line in text.split("\n"):  # not splitlines(): U+2028 and friends are JSON string content
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            bad += 1
    if bad:
        warnings.warn(f"{path}: skipped {bad} torn line(s); every complete record was loaded.", stacklevel=3)
    return rows


def _split_versions(rows: list[dict]) -> tuple[list[dict], dict[str, dict]]:
    """Records, and the versions their references point to."""
    versions = {row.get("subject"): row.get("versions") for row in rows if row.get("kind") == _VERSIONS}
    return [row for row in rows if row.get("kind") != _VERSIONS] if versions else rows, versions


def _resolve(value, versions: dict[str, dict]) -> dict:
    if isinstance(value, str):
        value = versions.get(value)
    return value if isinstance(value, dict) else {}


def _inline(value, versions: dict[str, dict]) -> str:
    """A key for versions stored inline (records written before references), registered in ``versions``."""
    key = json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict) else ""
    versions.setdefault(key, value if isinstance(value, dict) else {})
    return key


def _select(lines: list, kind: str) -> list:
    """A cheap pre-filter on the lines (str or bytes; records are written with "kind" first), keeping the
    versions lines."""
    wanted = (f'"kind": "{kind}"', f'"kind": "{_VERSIONS}"')
    if lines and isinstance(lines[0], bytes):
        wanted = tuple(w.encode() for w in wanted)
    return [line for line in lines if line.startswith(wanted, 1)]


def iter_records(kind: str, path: Path | None = None) -> list[dict]:
    """The records of one kind as plain dicts, without pandas: for lookups on the hot path of a command."""
    path = path or records_path()
    if not path.exists():
        return []
    lines = _select(path.read_text(encoding="utf-8", errors="replace").split("\n"), kind)
    rows, versions = _split_versions(_parse_lines("\n".join(lines), path))
    rows = [row for row in rows if row.get("kind") == kind]
    for row in rows:
        row["versions"] = _resolve(row.get("versions"), versions)
    return rows


def last_durations(kind: str, path: Path | None = None) -> dict[tuple[str, str | None], float]:
    """Seconds the latest run of each (subject, variant) of one kind took: to start the longest work first."""
    return {(row["subject"], row.get("variant")): row.get("duration_s") or 0.0 for row in iter_records(kind, path)}


def load_records(path: Path | None = None, kind: str | None = None) -> pd.DataFrame:
    """Every record in the store as a DataFrame, one column per field plus one per version (``v_<name>``)."""
    import pandas as pd

    path = path or records_path()
    columns = list(RunRecord.__dataclass_fields__)
    if not path.exists():
        return pd.DataFrame(columns=columns)
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # everything after the last newline is a write torn by a crash
    if data[end:].strip():
        warnings.warn(f"{path}: skipped 1 torn last line; every complete record was loaded.", stacklevel=2)
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived dicts and strings: collection passes would double the load time
    try:
        complete = data[:end - 1] if end else b""
        try:  # fast path: the complete lines as one JSON array, parsed in C
            array = (complete.replace(b"\n", b",") if kind is None
                     else b",".join(_select(complete.split(b"\n"), kind)))
            rows = json.loads(b"[" + array + b"]")
        except ValueError:  # a torn line sealed by a later append, a blank line, bad UTF-8: line by line
            text = data[:end].decode("utf-8", errors="replace")
            rows = _parse_lines(text if kind is None else "\n".join(_select(text.split("\n"), kind)), path)
        rows, versions = _split_versions(rows)
        frame = pd.DataFrame.from_records(rows, columns=columns)
    finally:
        if collecting:
            gc.enable()
    if kind is not None:
        frame = frame[frame["kind"] == kind].reset_index(drop=True)
    # Resolve each distinct reference once and spread it, and its v_ columns, over the records that share it.
    refs = [value if isinstance(value, str) else _inline(value, versions) for value in frame["versions"].tolist()]
    distinct = {ref: _resolve(ref, versions) for ref in set(refs)}
    frame["versions"] = [distinct[ref] for ref in refs]
    table = pd.DataFrame.from_records(list(distinct.values()), index=list(distinct))
    if len(table.columns):
        frame = frame.join(table.reindex(refs).set_axis(frame.index).add_prefix("v_"))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, errors="coerce", format="ISO8601")
    return frame
