"""SQLAlchemy's side of a loop conflict: which loop made each pooled connection, which loop takes it.

Named ``sqla`` so that nothing can mistake it for the real package. SQLAlchemy is optional here: it is
imported only inside :func:`listen`, in a try block, and a suite without it is recorded without these
events. The listeners are the evidence ``kit diagnose`` reads:

* a connection created on one loop and checked out on another (``cross-loop-checkout``), the root of
  "attached to a different loop" and "another operation is in progress";
* connections never returned, named in a hang dump (:mod:`kit.recorder.hang`) with the test that took them;
* one connection used by two tasks at once (``concurrent-use``): a shared AsyncSession under gather;
* a session joined to a test's outer transaction that rolled it back for real (``joined-rollback``):
  rollback-per-test isolation undone.

Checkout and cursor execution are per-statement paths: the listeners do dictionary work only, and emit
only when they find something.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kit.recorder.events import CONCURRENT_USE, CONNECT, CROSS_LOOP_CHECKOUT, JOINED_ROLLBACK, POOL
from kit.recorder.text import mask

if TYPE_CHECKING:
    from kit.recorder.plugin import Recorder

__all__ = ["listen"]


def listen(recorder: Recorder, undo: list[Callable[[], object]]) -> None:
    """Attach the pool and session listeners for ``recorder``, appending their removals to ``undo`` (nothing
    without SQLAlchemy)."""
    try:
        from sqlalchemy import event
        from sqlalchemy.pool import Pool
    except Exception:  # noqa: BLE001 - SQLAlchemy is optional for the recorder
        return
    undo.append(_listen_pool(recorder, event, Pool))
    undo.append(_listen_sessions(recorder, event))


def _listen_pool(recorder: Recorder, event: Any, pool: type) -> Callable[[], object]:
    """Each pooled connection's creating loop, and a checkout on another loop."""

    def on_connect(dbapi_connection, _record) -> None:
        loop = recorder.current_loop_label()
        recorder.connections[id(dbapi_connection)] = loop or "?"
        recorder.emit(POOL, action=CONNECT, conn=id(dbapi_connection), loop=loop, nodeid=recorder.nodeid,
                      phase=recorder.phase, thread=threading.current_thread().name)

    def on_checkout(dbapi_connection, _record, _proxy) -> None:
        loop = recorder.current_loop_label()
        key = id(dbapi_connection)
        recorder.checked_out[key] = (recorder.nodeid, recorder.phase, loop)  # named in a hang dump if never returned
        created = recorder.connections.get(key)
        if created and loop and created != loop:
            recorder.emit(POOL, action=CROSS_LOOP_CHECKOUT, conn=key, created_on=created,
                          loop=loop, nodeid=recorder.nodeid, phase=recorder.phase)

    event.listen(pool, "connect", on_connect)
    event.listen(pool, "checkout", on_checkout)
    return lambda: (event.remove(pool, "connect", on_connect), event.remove(pool, "checkout", on_checkout))


def _listen_sessions(recorder: Recorder, event: Any) -> Callable[[], object]:
    """Connections returned, one connection used by two tasks at once, and a joined session's real rollback."""
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import Pool

    in_flight: dict[int, Any] = {}  # SQLAlchemy connection -> the task executing on it

    def on_checkin(dbapi_connection, _record) -> None:
        recorder.checked_out.pop(id(dbapi_connection), None)

    def before_execute(conn, _cursor, statement, *_args) -> None:
        try:
            task, key = asyncio.current_task(), id(conn)
        except RuntimeError:  # no running loop: a sync engine
            return
        other = in_flight.get(key)
        if task is not None and other is not None and other is not task and not other.done():
            recorder.emit(POOL, action=CONCURRENT_USE, conn=key, nodeid=recorder.nodeid, phase=recorder.phase,
                          loop=recorder.current_loop_label(), tasks=[other.get_name(), task.get_name()],
                          statement=mask(str(statement))[:200])
        in_flight[key] = task

    def after_execute(conn, *_args) -> None:
        in_flight.pop(id(conn), None)

    def on_error(context) -> None:
        in_flight.pop(id(context.connection), None)

    def after_rollback(session) -> None:
        bind = session.bind
        if isinstance(bind, Connection) and not bind.in_transaction():
            recorder.emit(POOL, action=JOINED_ROLLBACK, nodeid=recorder.nodeid, phase=recorder.phase,
                          mode=getattr(session, "join_transaction_mode", None))

    listeners = [(Pool, "checkin", on_checkin),
                 (Engine, "before_cursor_execute", before_execute), (Engine, "after_cursor_execute", after_execute),
                 (Engine, "handle_error", on_error), (Session, "after_rollback", after_rollback)]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    return lambda: [event.remove(t, n, f) for t, n, f in listeners]
