"""Record streams: one per process that ran tests (a session, each pytest-xdist worker, each CI shard), merged.

Loop labels and object ids are per process: ``L1`` of worker gw0 is not ``L1`` of gw1, and two processes can hand
out the same ``id()`` for different connections. Merging therefore qualifies every label and id of a stream with
its origin (``gw0:L1``; with several shards, ``shard-2.gw0:L1``), so the rules compare only what one process saw.
Cases are ordered by when they started, whatever stream they came from, and the configs merged (a worker's
collection counts are the run's). Reading is line by line: a 10,000-test record is never held as text.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from kit.recorder import events

__all__ = ["stream_files", "lane", "qualify", "Stream", "read_stream", "merge_streams"]

# fields that hold a loop label, and fields that hold a per-process object id, per event kind
_LOOP_FIELDS = ("loop", "created_on", "opened_on")
_ID_FIELDS = ("conn", "pool")


def stream_files(path: Path) -> list[Path]:
    """A record file and the per-worker streams written beside it (``FILE.gw0``...), those that exist."""
    siblings = sorted((p for p in path.parent.glob(f"{path.name}.gw*") if events.record_of_stream(p.name) == path.name),
                      key=lambda p: (len(p.name), p.name))
    return [p for p in [path, *siblings] if p.is_file()]


def lane(label: str) -> str:
    """The process a qualified loop label belongs to (``shard-2.gw0`` of ``shard-2.gw0:L1``); empty for a label of a
    single stream (``L1``)."""
    return label.rsplit(":", 1)[0] if ":" in label else ""


def qualify(event: dict, prefix: str, shard: str | None = None, tests: bool = False) -> dict:
    """``event`` with its loop labels and object ids made ``prefix:``-qualified; with ``shard`` (CI shards) its
    worker and database are the shard's (two machines' ``localhost:5432/app_test`` are two databases), and with
    ``tests`` its test ids too (``[shard-2] tests/test_a.py::test_x``: the same test in two shards is two results)
    (in place; returned)."""
    if shard:
        event["shard"] = shard
        if event.get("worker"):
            event["worker"] = f"{shard}.{event['worker']}"
        if event.get("db"):
            event["db"] = f"{shard}:{event['db']}"
        if tests:
            for name in ("nodeid", "opened_nodeid"):
                if event.get(name):
                    event[name] = f"[{shard}] {event[name]}"
    for name in _LOOP_FIELDS:
        value = event.get(name)
        if isinstance(value, str) and value:
            event[name] = f"{prefix}:{value}"
    for name in _ID_FIELDS:
        if event.get(name) is not None:
            event[name] = f"{prefix}:{event[name]}"
    if event.get("event") == events.TEST:
        event["loops"] = {phase: [f"{prefix}:{loop}" for loop in loops] for phase, loops in
                          (event.get("loops") or {}).items()}
        event["fixture_loops"] = {name: f"{prefix}:{loop}" for name, loop in (event.get("fixture_loops") or {}).items()}
    return event


_HEAD_LIMIT = 1000  # events read ahead for a stream's config: a session's config-time warnings, at most


class Stream:
    """One process's events, with its origin (``worker``) and format version; its lines are read when iterated."""

    def __init__(self, lines: Iterable[str], name: str = "", shard: str | None = None) -> None:
        self._lines = iter(lines)
        self.name = name
        self.shard = shard
        self.shard_tests = False  # qualify test ids with the shard (set when shards ran the same tests)
        self.config: dict = {}
        self._head: list[dict] = []
        # The session's config event says where the stream comes from; only warnings pytest raised while it
        # configured (a deprecated plugin...) can come before it, and no test can.
        for event in events.decode(self._lines):
            self._head.append(event)
            if event.get("event") == events.CONFIG:
                self.config = dict(event)
            if event.get("event") != events.WARNING or len(self._head) >= _HEAD_LIMIT:
                break

    @property
    def worker(self) -> str | None:
        return self.config.get("worker")

    @property
    def format(self) -> int:
        return int(self.config.get("format") or 1)

    @property
    def prefix(self) -> str | None:
        parts = [p for p in (self.shard, self.worker) if p]
        return ".".join(parts) or None

    def __iter__(self) -> Iterator[dict]:
        prefix = self.prefix
        for event in [*self._head, *events.decode(self._lines)]:
            yield qualify(event, prefix, self.shard, self.shard_tests) if prefix else event


def _lines(path: Path) -> Iterator[str]:
    with path.open(errors="replace") as handle:
        yield from handle


def read_stream(path: Path, shard: str | None = None) -> Stream:
    """The stream of one record file, read line by line (a torn last line is skipped by the decoder)."""
    return Stream(_lines(path), path.name, shard)


def merge_streams(streams: list[Stream]) -> Iterator[dict]:
    """Every stream's events, each stream's qualified by its origin; a stream of a newer format than this kit
    reads is skipped with a warning (an older one is read: the format only grew)."""
    for stream in streams:
        if stream.format > events.FORMAT:
            warnings.warn(f"{stream.name} was recorded by a newer kit (record format {stream.format}, this kit reads "
                          f"up to {events.FORMAT}); it was left out. Diagnose it with that kit.", stacklevel=2)
            continue
        yield from stream
