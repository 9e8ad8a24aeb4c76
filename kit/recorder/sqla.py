"""SQLAlchemy's side of a loop conflict: which loop made each pooled connection, which loop takes it.

Named ``sqla`` so that nothing can mistake it for the real package. SQLAlchemy is optional here: it is
imported only inside :func:`listen`, in a try block, and a suite without it is recorded without these
events. The listeners are the evidence ``kit diagnose`` reads:

* a connection created on one loop and checked out on another (``cross-loop-checkout``), the root of
  "attached to a different loop" and "another operation is in progress";
* connections never returned, named in a hang dump (:mod:`kit.recorder.hang`) with the test that took them;
* one connection used by two tasks at once (``concurrent-use``): a shared AsyncSession under gather;
* a session joined to a test's outer transaction that rolled it back for real (``joined-rollback``):
  rollback-per-test isolation undone, and writes committed on that connection afterwards (``leaked-commit``),
  the rows that really outlive the fixture's rollback: a warning alone proves nothing leaked;
* where each pool (an engine's) was created (``pool-created``): in which fixture and scope, test or phase, on
  which loop and thread. The owner of a pool, not the first user of a connection, says whether an engine
  outlives the loops of the tests that use it.

Checkout and cursor execution are per-statement paths: the listeners do dictionary work only, and emit
only when they find something.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from asyncio.events import _get_running_loop
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kit.recorder.events import (
    CONCURRENT_USE,
    CONNECT,
    CROSS_LOOP_CHECKOUT,
    CROSS_LOOP_USE,
    JOINED_ROLLBACK,
    LEAKED_COMMIT,
    POOL,
    POOL_CREATED,
    SCHEMA,
)
from kit.recorder.text import mask

if TYPE_CHECKING:
    from kit.recorder.plugin import Recorder

__all__ = ["listen"]

_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE "})


def listen(recorder: Recorder, undo: list[Callable[[], object]]) -> None:
    """Attach the pool and session listeners for ``recorder``, appending their removals to ``undo`` (nothing
    without SQLAlchemy)."""
    try:
        from sqlalchemy import event
        from sqlalchemy.pool import Pool
    except Exception:  # noqa: BLE001 - SQLAlchemy is optional for the recorder
        return
    undo.append(_watch_pool_creation(recorder, Pool))
    undo.append(_listen_pool(recorder, event, Pool))
    undo.append(_listen_sessions(recorder, event))


def _watch_pool_creation(recorder: Recorder, pool: type) -> Callable[[], object]:
    """Note where each pool is made. SQLAlchemy has no event for it, and ``Pool.__init__`` must not be wrapped:
    ``create_engine`` reads the keyword arguments a pool accepts from that function's code, so a wrapper would
    make it reject ``pool_pre_ping``. Every ``Pool.__init__`` calls ``sqlalchemy.log.instance_logger(self)``
    (through the module, at call time), once per engine and never per statement: that call is wrapped instead.
    ``engine.dispose()`` makes the engine's next pool through ``recreate()``; that one is the same engine and
    keeps the first pool's origin (an alias, no event)."""
    from sqlalchemy import log

    original = log.instance_logger

    def instance_logger(instance: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(instance, *args, **kwargs)
        if isinstance(instance, pool):
            _note_pool(recorder, instance, pool)
        return result

    log.instance_logger = instance_logger  # type: ignore[assignment]
    return lambda: setattr(log, "instance_logger", original)


def _database(url: Any) -> str:
    """``host:port/database`` of a SQLAlchemy URL: which database, never who logs in with which password."""
    return f"{url.host}:{url.port}/{url.database}"


def _note_pool(recorder: Recorder, new: Any, pool: type) -> None:
    """A new pool: its loop, fixture and database (read from ``create_engine``'s URL two or three frames up, so
    that an xdist worker whose schema fixture found the tables already there still shows which database it used);
    a pool that ``recreate()`` (``engine.dispose()``) made is an alias of the one it replaces."""
    try:
        frame = sys._getframe(2)
        database = None
        for _ in range(6):  # Pool.__init__ <- QueuePool.__init__ <- QueuePool.recreate | create_engine
            if frame is None:
                break
            if frame.f_code.co_name == "recreate" and isinstance(frame.f_locals.get("self"), pool):
                old = id(frame.f_locals["self"])
                recorder.pool_alias[id(new)] = recorder.pool_alias.get(old, old)
                return
            if frame.f_code.co_name == "create_engine" and hasattr(frame.f_locals.get("u"), "database"):
                database = _database(frame.f_locals["u"])
                break
            frame = frame.f_back
        fixture, scope = recorder.current_fixture()
        recorder.emit(POOL, action=POOL_CREATED, pool=id(new), poolclass=type(new).__name__,
                      loop=recorder.current_loop_label(), nodeid=recorder.nodeid, phase=recorder.phase,
                      fixture=fixture, scope=scope, thread=threading.current_thread().name, db=database,
                      worker=recorder.worker)
    except Exception:  # noqa: BLE001 - the recorder must never change an outcome
        pass


def _listen_pool(recorder: Recorder, event: Any, pool: type) -> Callable[[], object]:
    """Each pooled connection's creating loop, and a checkout on another loop."""

    def on_connect(dbapi_connection, record) -> None:
        _note_connect(recorder, dbapi_connection, record, recorder.current_loop_label(), nodeid=recorder.nodeid,
                      phase=recorder.phase, thread=threading.current_thread().name)

    def on_checkout(dbapi_connection, record, _proxy) -> None:
        loop = recorder.current_loop_label()
        key = id(dbapi_connection)
        recorder.checked_out[key] = (recorder.nodeid, recorder.phase, loop)  # named in a hang dump if never returned
        created = recorder.connections.get(key)
        if created is None and loop:
            created = _opened_before(recorder, dbapi_connection, record)
        if created and loop and created != loop:
            recorder.crossed.add((key, loop))
            recorder.emit(POOL, action=CROSS_LOOP_CHECKOUT, conn=key, created_on=created,
                          loop=loop, nodeid=recorder.nodeid, phase=recorder.phase,
                          thread=threading.current_thread().name)

    event.listen(pool, "connect", on_connect)
    event.listen(pool, "checkout", on_checkout)
    return lambda: (event.remove(pool, "connect", on_connect), event.remove(pool, "checkout", on_checkout))


def _note_connect(recorder: Recorder, dbapi_connection: Any, record: Any, loop: str | None, **where: Any) -> None:
    """Remember the loop ``dbapi_connection`` was opened on and emit its ``connect`` event (with its engine's pool)."""
    recorder.connections[id(dbapi_connection)] = loop or "?"
    owner = id(getattr(record, "_ConnectionRecord__pool", None))
    driver = type(getattr(dbapi_connection, "driver_connection", None) or dbapi_connection).__module__
    fixture = recorder.current_fixture()[0]
    recorder.emit(POOL, action=CONNECT, conn=id(dbapi_connection), loop=loop,
                  pool=recorder.pool_alias.get(owner, owner), driver=driver.split(".", 1)[0],
                  **({"fixture": fixture} if fixture else {}), **where)


def _opened_before(recorder: Recorder, dbapi_connection: Any, record: Any) -> str | None:
    """A pooled connection the recorder never saw opened: it was made before pytest started (in a notebook cell, on
    the kernel's loop; at import, under ``asyncio.run``). A loop-bound driver connection (asyncpg's) still knows
    its loop: labelled and noted once, with the thread running that loop if one is."""
    try:
        driver = getattr(dbapi_connection, "driver_connection", None)
        loop = getattr(driver, "_loop", None)
        if not isinstance(loop, asyncio.AbstractEventLoop):
            return None  # not bound to a loop (psycopg's): nothing to cross
        label = recorder.label(loop)
        ident = getattr(loop, "_thread_id", None) if loop.is_running() else None
        thread = next((t.name for t in threading.enumerate() if t.ident == ident), None) if ident else None
        _note_connect(recorder, dbapi_connection, record, label, nodeid=None, phase=None, thread=thread,
                      before_recording=True)
        return label
    except Exception:  # noqa: BLE001 - the recorder must never change an outcome
        return None


def _held_across_loops(recorder: Recorder, conn: Any, running: asyncio.AbstractEventLoop) -> None:
    """A statement on a connection opened on another loop that was never checked out again (a session or a
    connection carried from one test's loop to the next holds it): noted once per connection and loop."""
    try:
        dbapi = id(conn.connection.dbapi_connection)
    except Exception:  # noqa: BLE001 - an invalidated connection has none
        return
    created = recorder.connections.get(dbapi)
    if created is None:
        return
    loop = recorder.label(running)
    if loop and created != loop and (dbapi, loop) not in recorder.crossed:
        recorder.crossed.add((dbapi, loop))
        recorder.emit(POOL, action=CROSS_LOOP_USE, conn=dbapi, created_on=created, loop=loop, nodeid=recorder.nodeid,
                      phase=recorder.phase, thread=threading.current_thread().name)


def _schema_change(recorder: Recorder, conn: Any, statement: str, seen: set[tuple]) -> None:
    """Tables created or dropped, by which fixture, in which database: under pytest-xdist, two workers doing it to
    one database is the xdist-shared-schema conflict (each worker runs session fixtures of its own)."""
    head = statement.lstrip()[:12].upper()
    ddl = "create" if head.startswith("CREATE TABLE") else "drop" if head.startswith("DROP TABLE") else None
    if ddl is None:
        return
    try:
        database = _database(conn.engine.url)
    except Exception:  # noqa: BLE001 - the recorder must never change an outcome
        return
    fixture, scope = recorder.current_fixture()
    key = (database, fixture, ddl)
    if key in seen:
        return
    seen.add(key)
    recorder.emit(POOL, action=SCHEMA, ddl=ddl, db=database, fixture=fixture, scope=scope, worker=recorder.worker,
                  nodeid=recorder.nodeid, phase=recorder.phase, loop=recorder.current_loop_label())


def _listen_sessions(recorder: Recorder, event: Any) -> Callable[[], object]:
    """Connections returned, one connection used by two tasks at once, and a joined session's real rollback.

    Statements are observed through the dialect's ``do_execute`` events, which run the statement themselves, not
    through ``before_cursor_execute``: a listener on the Engine makes SQLAlchemy build event dispatchers on every
    new Connection and dispatch half a dozen events per statement (2.5% of a 1,000-test suite's CPU here), while the
    dialect's dispatch lives as long as its engine. Running the statement inside the listener also brackets the
    whole await, so a statement is "in flight" exactly while its task waits on it. The Connection's ``commit`` event
    is listened to only once a joined rollback was seen (the only time a commit is evidence)."""
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import Pool

    in_flight: dict[int, Any] = {}  # SQLAlchemy connection -> the task executing on it
    schema_seen: set[tuple] = set()  # (database, fixture, create|drop) already reported by this process
    # connection whose joined session rolled back the test's outer transaction -> [test, write statements since]
    unjoined: dict[int, list] = {}
    listeners: list[tuple[Any, str, Callable[..., Any]]] = []

    def on_checkin(dbapi_connection, _record) -> None:
        recorder.checked_out.pop(id(dbapi_connection), None)

    def running(method: str) -> Callable[..., bool]:
        """A listener for the dialect event ``method`` (``do_execute``...) that runs the statement itself, through
        the dialect's method of that name, after noting it (a write after a joined rollback, DDL, a second task on
        the connection, another loop). Every such event passes the execution context last. It runs for every
        statement: one function, no closure per call, one running-loop lookup."""

        def listener(cursor: Any, statement: str, *rest: Any) -> bool:
            context = rest[-1]
            if context is None:  # no connection to attribute it to: SQLAlchemy runs it, unobserved
                return False
            run, conn = getattr(context.dialect, method), context.root_connection
            key = id(conn)
            if unjoined and key in unjoined and statement.lstrip()[:6].upper() in _WRITES:
                unjoined[key][1] += 1
            if statement.find("TABLE", 0, 24) != -1:  # DDL only: one bounded search per statement, no copy
                _schema_change(recorder, conn, statement, schema_seen)
            loop = _get_running_loop()
            if loop is None:  # a sync engine
                run(cursor, statement, *rest)
                return True
            task = asyncio.current_task(loop)
            _held_across_loops(recorder, conn, loop)
            other = in_flight.get(key)
            if task is not None and other is not None and other is not task and not other.done():
                recorder.emit(POOL, action=CONCURRENT_USE, conn=key, nodeid=recorder.nodeid, phase=recorder.phase,
                              loop=recorder.label(loop), tasks=[other.get_name(), task.get_name()],
                              statement=mask(statement)[:200])
            in_flight[key] = task
            try:
                run(cursor, statement, *rest)
            finally:
                if in_flight.get(key) is task:
                    del in_flight[key]
            return True

        return listener

    def after_rollback(session) -> None:
        bind = session.bind
        if isinstance(bind, Connection) and not bind.in_transaction():
            if not any(name == "commit" for _, name, _ in listeners):
                listeners.append((Engine, "commit", on_commit))
                event.listen(Engine, "commit", on_commit)
            unjoined[id(bind)] = [recorder.nodeid, 0]
            recorder.emit(POOL, action=JOINED_ROLLBACK, nodeid=recorder.nodeid, phase=recorder.phase,
                          mode=getattr(session, "join_transaction_mode", None),
                          is_async=bool(getattr(bind.dialect, "is_async", False)))

    def on_commit(conn) -> None:
        if unjoined and id(conn) in unjoined:
            nodeid, writes = unjoined[id(conn)]
            if nodeid != recorder.nodeid:  # another test's connection that happens to have the same id
                del unjoined[id(conn)]
                return
            unjoined[id(conn)][1] = 0
            if writes:
                recorder.emit(POOL, action=LEAKED_COMMIT, nodeid=nodeid, phase=recorder.phase, writes=writes)

    # appended (not inserted): a do_execute listener of the suite's own that runs the statement comes first and
    # ends the dispatch, as it would without kit
    listeners += [(Pool, "checkin", on_checkin), (Session, "after_rollback", after_rollback),
                  *((Engine, name, running(name)) for name in ("do_execute", "do_executemany", "do_execute_no_params"))]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    return lambda: [event.remove(t, n, f) for t, n, f in listeners]
