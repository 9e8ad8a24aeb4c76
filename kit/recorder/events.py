"""The recorder's event format: JSON Lines, one object per line, ``{"event": KIND, "t": epoch, ...}``.

This module is the one definition of that format: the recorder writes through :func:`encode`, and every
reader (the runner's fold into per-test results, diagnose's evidence) goes through :func:`decode` and the
names below. Standard library only: the recorder imports it inside users' and version environments.

One stream per process: under pytest-xdist each worker writes ``FILE.gw0``, ``FILE.gw1``... beside the controller's
``FILE`` (concurrent appends to one file could tear lines), and readers merge the streams
(:mod:`kit.run.streams`), qualifying each worker's loop labels and object ids (``gw0:L1``).

Kinds and their fields (``nodeid`` is pytest's; ``phase`` is setup | call | teardown, or None outside them):

``config``   ``format`` (:data:`FORMAT`, the version of this format), ``thread`` (the session's own thread: a notebook's
             ipytest runs pytest in a thread of its own), ``worker`` (pytest-xdist's ``gw0``..., None in the
             process that runs the session) and ``xdist`` (the number of workers, in the controller of an xdist run);
             the pytest-asyncio options in force and the run's package versions (``asyncio_mode``,
             ``asyncio_default_fixture_loop_scope``, ``asyncio_default_test_loop_scope``, ``python``, and
             each of :data:`kit.common.versions.PACKAGES`); a second one after collection adds ``runners``
             {"pytest-asyncio" | "anyio" | "sync": number of collected tests}. Readers merge them.
``start``    ``nodeid``: a test began (flushed at once, so a hang is attributed to it)
``test``     ``nodeid``, ``loops`` {phase: [loop labels]}, ``fixture_loops`` {fixture: label}, ``passed``
             {phase: seconds} for the phases that passed (a passing test writes only this event)
``report``   ``nodeid``, ``when`` (collect | setup | call | teardown), ``outcome`` (failed | skipped),
             ``duration``, ``error_type``, ``message``, ``chain`` [{type, message}], ``frames`` [str]; a
             collection error has only ``nodeid``, ``when``, ``outcome``, ``error_type`` and ``message``
``fixture``  ``nodeid``, ``fixture``, ``scope``, ``loop``: an async fixture's setup ran on that loop
``pool``     ``action`` (one of :data:`POOL_ACTIONS`), ``conn``, ``loop``, ``nodeid``, ``phase``, and per
             action: ``thread``, ``pool``, ``driver`` (asyncpg, psycopg...) and ``fixture`` (the one being set up,
             if any) (connect), ``created_on`` and ``thread`` (cross-loop-checkout, and
             cross-loop-use: a statement on a connection held across loops, with no checkout, e.g. by a session),
             ``tasks`` and ``statement`` (concurrent-use), ``mode`` and ``is_async`` (joined-rollback), ``writes``
             (leaked-commit: write statements committed on a connection after its test's outer transaction was
             rolled back);
             ``schema``: a fixture (``fixture``, ``scope``) created or dropped tables (``ddl``: create | drop) in the
             database ``db`` (host:port/name), in ``worker`` (xdist's id, None outside xdist): once per process,
             database, fixture and kind, so two workers rebuilding one schema show as two events;
             ``pool-created`` has ``pool``, ``poolclass``, ``thread`` and ``fixture``/``scope`` (the fixture being
             set up, None outside one), no ``conn``. A pool created before the recorder started (at import of a
             conftest.py or plugin) has no ``pool-created`` event.
``object``   ``action``: ``cross-loop-use`` (an asyncio connection used on a loop other than the one that opened it)
             or ``closed-after-loop`` (closed after its loop had closed), the first time only, with ``library``
             (named from the frame that opened it: redis, httpcore, asyncpg...), ``where`` (that file), ``peer``
             (host:port), ``opened_on``, ``opened_nodeid``, ``opened_phase``, ``opened_thread``, and where it was
             used: ``loop``, ``nodeid``, ``phase``, ``thread``
``log``      ``nodeid``, ``phase``, ``logger``, ``level``, ``message``, ``error_type``, ``error_message``
``warning``  ``nodeid``, ``phase``, ``category``, ``message``
``end``      the session ended normally
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["FORMAT", "CONFIG", "START", "start_line", "TEST", "REPORT", "FIXTURE", "POOL", "OBJECT", "LOG", "WARNING",
           "END", "CONNECT", "CROSS_LOOP_OBJECT", "CLOSED_AFTER_LOOP",
           "CROSS_LOOP_CHECKOUT", "CROSS_LOOP_USE", "CONCURRENT_USE", "JOINED_ROLLBACK", "LEAKED_COMMIT",
           "POOL_CREATED", "SCHEMA", "POOL_ACTIONS", "EVIDENCE_KINDS", "worker_stream", "record_of_stream", "encode",
           "rounded", "decode"]

FORMAT = 2  # 2: one stream per xdist worker, ``format``/``worker`` in config; 1 (no ``format``): kit before that

CONFIG, START, TEST, REPORT, FIXTURE, POOL, LOG, WARNING, END = (
    "config", "start", "test", "report", "fixture", "pool", "log", "warning", "end")

CONNECT, CROSS_LOOP_CHECKOUT, CROSS_LOOP_USE, CONCURRENT_USE, JOINED_ROLLBACK, LEAKED_COMMIT, POOL_CREATED = (
    "connect", "cross-loop-checkout", "cross-loop-use", "concurrent-use", "joined-rollback", "leaked-commit",
    "pool-created")
OBJECT = "object"
CROSS_LOOP_OBJECT, CLOSED_AFTER_LOOP = "cross-loop-use", "closed-after-loop"
SCHEMA = "schema"
POOL_ACTIONS = (CONNECT, CROSS_LOOP_CHECKOUT, CROSS_LOOP_USE, CONCURRENT_USE, JOINED_ROLLBACK, LEAKED_COMMIT,
                POOL_CREATED, SCHEMA)

# The kinds a reader keeps as a run's evidence, in order (the rest fold into per-test results).
EVIDENCE_KINDS = frozenset({LOG, WARNING, POOL, FIXTURE, OBJECT})

_ENCODER = json.JSONEncoder(default=str)  # one encoder: json.dumps(default=...) builds one per call
try:  # and one C encoder behind it: JSONEncoder.encode makes a new one per call (a quarter of a test line's cost)
    from _json import make_encoder as _make_encoder

    # markers None: no circular check (an event is flat data; emit() swallows any error rather than fail a test)
    _C_ENCODER = _make_encoder(None, str, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True)
except ImportError:  # an interpreter without the C accelerator
    _C_ENCODER = None


def worker_stream(path: str, worker: str) -> str:
    """Where an xdist worker writes its stream: beside the record file, ``FILE.gw0``."""
    return f"{path}.{worker}"


def record_of_stream(name: str) -> str | None:
    """The record file name a worker stream's name belongs to (``FILE`` for ``FILE.gw0``); None for any other name."""
    base, _, worker = name.rpartition(".")
    return base if base and worker.startswith("gw") and worker[2:].isdigit() else None


def encode(kind: str, t: float, data: dict[str, Any]) -> str:
    """One event as its line (without the newline)."""
    event = {"event": kind, "t": t, **data}
    return "".join(_C_ENCODER(event, 0)) if _C_ENCODER is not None else _ENCODER.encode(event)


def start_line(t: float, nodeid: str) -> str:
    """A test's start event as its line (with the newline): :func:`encode`'s output, formatted directly, since
    it is written once per test."""
    return f'{{"event": "{START}", "t": {rounded(t, 10_000)!r}, "nodeid": {_string(nodeid)}}}\n'


def rounded(seconds: float, per_second: int) -> float:
    """``seconds`` (>= 0) to the nearest 1/``per_second``, as the shortest float that prints so: what
    ``round(seconds, 4)`` gives for 10,000 at a third of its cost (``round`` formats the float to digits, reads it
    back and rounds again; a test's events hold five times)."""
    return int(seconds * per_second + 0.5) / per_second


_string = json.encoder.encode_basestring_ascii  # a JSON string literal (the C function where there is one)


def decode(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The events of a record file's lines; a line that is not a JSON object (the one being written when a
    run was killed) is skipped."""
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event
