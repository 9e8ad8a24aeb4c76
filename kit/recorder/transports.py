"""Every asyncio connection's loop: which loop opened it, and the first time it is used or closed on another.

SQLAlchemy's pool events (:mod:`kit.recorder.sqla`) see only pooled database connections. The same rule (a
connection belongs to the loop that opened it) breaks redis-py's asyncio clients, httpx/httpcore, raw asyncpg
and any library that talks through an asyncio transport. All of them open their sockets through
``loop.create_connection`` (``asyncio.open_connection`` and AnyIO's ``connect_tcp`` included), so wrapping that
one method sees them all, whatever the library: the library is named from the first frame outside asyncio and
AnyIO that asked for the connection (``redis/asyncio/connection.py``).

The opened connection's ``write``, ``writelines`` and ``close`` are wrapped on that one transport (instance
attributes, not the class): a write is one running-loop lookup and one identity test, and after the first divergence the
transport is reported and never checked again. Only divergences are written (``object`` events), with the
opening's loop, test and phase carried along, so a suite that keeps its loops straight writes nothing.
psycopg 3 waits on sockets without transports and is not bound to a loop: it needs no evidence here.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from asyncio import events
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kit.recorder.events import CLOSED_AFTER_LOOP, CROSS_LOOP_OBJECT, OBJECT

if TYPE_CHECKING:
    from kit.recorder.plugin import Recorder

__all__ = ["watch_connections"]

# frames of the machinery between a library and its socket, not of the library itself: the standard library's
# asyncio and contextlib, this package, and (by top-level name under site-packages) AnyIO and sniffio
_STDLIB_ASYNCIO = os.path.dirname(asyncio.__file__).replace("\\", "/") + "/"
_MACHINERY = (_STDLIB_ASYNCIO, os.path.dirname(__file__).replace("\\", "/") + "/",
              os.path.dirname(_STDLIB_ASYNCIO.rstrip("/")) + "/contextlib.py")
_MACHINERY_PACKAGES = frozenset({"anyio", "sniffio"})


def _opener() -> tuple[str, str] | None:
    """(library, file) of the first frame outside asyncio, AnyIO and kit: ``("redis",
    "redis/asyncio/connection.py")``; a user's own file by its last two path parts. None when the connection
    was opened in a task of its own (AnyIO's ``connect_tcp`` races addresses in a task group, so httpcore's
    frames are in another task): the first use then names the library."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        path = code.co_filename.replace("\\", "/")
        frame = frame.f_back
        if path.startswith(_MACHINERY):
            if code.co_name == "_run" and path.endswith("/events.py"):
                return None  # the start of a task's step: whoever asked for the connection is in another task
            continue
        for marker in ("/site-packages/", "/dist-packages/"):
            if marker in path:
                where = path.rsplit(marker, 1)[1]
                library = where.split("/", 1)[0].removesuffix(".py")
                break
        else:
            return "your code", "/".join(path.split("/")[-2:])
        if library not in _MACHINERY_PACKAGES:
            return library, where
    return None


def _peer(transport: Any) -> str:
    try:
        peer = transport.get_extra_info("peername")
    except Exception:  # noqa: BLE001 - a transport that cannot say
        return "?"
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer) if peer else "a unix socket"


class _Watch:
    """One connection's opening, and the wrappers that report its first use or close on another loop."""

    __slots__ = ("recorder", "loop", "opened", "reported")

    def __init__(self, recorder: Recorder, loop: asyncio.AbstractEventLoop, opened: dict[str, Any]) -> None:
        self.recorder, self.loop, self.opened, self.reported = recorder, loop, opened, False

    def report(self, action: str) -> None:
        self.reported = True
        recorder = self.recorder
        if not recorder.recording:
            return
        try:
            if self.opened["library"] is None:  # opened in a task of its own: the code using it is the library's
                self.opened["library"], self.opened["where"] = _opener() or ("unknown", "?")
            recorder.emit(OBJECT, action=action, **self.opened, loop=recorder.current_loop_label(),
                          nodeid=recorder.nodeid, phase=recorder.phase, thread=threading.current_thread().name)
        except Exception:  # noqa: BLE001 - the recorder must never change an outcome
            pass

    def wrap(self, transport: Any) -> None:
        write, writelines, close = transport.write, transport.writelines, transport.close

        def watched_write(data: Any) -> Any:
            if not self.reported:
                running = events._get_running_loop()
                if running is not None and running is not self.loop:
                    self.report(CROSS_LOOP_OBJECT)
            return write(data)

        def watched_writelines(lines: Any) -> Any:  # its own path from Python 3.12 (sendmsg), not through write()
            if not self.reported:
                running = events._get_running_loop()
                if running is not None and running is not self.loop:
                    self.report(CROSS_LOOP_OBJECT)
            return writelines(lines)

        def watched_close() -> Any:
            if not self.reported:
                running = events._get_running_loop()
                if self.loop.is_closed() or (running is not None and running is not self.loop):
                    self.report(CLOSED_AFTER_LOOP if self.loop.is_closed() else CROSS_LOOP_OBJECT)
            return close()

        transport.write, transport.writelines, transport.close = watched_write, watched_writelines, watched_close


def _opened(recorder: Recorder, loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    library, where = _opener() or (None, None)
    return {"library": library, "where": where, "opened_on": recorder.label(loop), "opened_nodeid": recorder.nodeid,
            "opened_phase": recorder.phase, "opened_thread": threading.current_thread().name}


def _wrapping(recorder: Recorder, original: Callable[..., Any]) -> Callable[..., Any]:
    async def create_connection(loop: asyncio.AbstractEventLoop, *args: Any, **kwargs: Any) -> Any:
        try:
            opened = _opened(recorder, loop) if recorder.recording else None
        except Exception:  # noqa: BLE001
            opened = None
        transport, protocol = await original(loop, *args, **kwargs)
        if opened is not None:
            try:
                opened["peer"] = _peer(transport)
                _Watch(recorder, loop, opened).wrap(transport)
            except Exception:  # noqa: BLE001 - a transport without instance attributes stays unwatched
                pass
        return transport, protocol

    create_connection.__wrapped__ = original  # type: ignore[attr-defined]
    return create_connection


def watch_connections(recorder: Recorder) -> Callable[[], None]:
    """Wrap ``create_connection`` (and ``create_unix_connection``) of asyncio's loops for ``recorder``; returns the
    undo. Transports opened while recording keep their wrappers, which fall silent once ``recorder.recording``
    is False (a notebook kernel keeps connections across cells)."""
    targets: list[tuple[type, str]] = [(asyncio.BaseEventLoop, "create_connection")]
    unix = getattr(asyncio, "SelectorEventLoop", None)
    if unix is not None and hasattr(unix, "create_unix_connection"):
        targets.append((unix, "create_unix_connection"))
    originals = [(cls, name, cls.__dict__.get(name)) for cls, name in targets]
    for cls, name in targets:
        setattr(cls, name, _wrapping(recorder, getattr(cls, name)))

    def undo() -> None:
        for cls, name, original in originals:
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)

    return undo
