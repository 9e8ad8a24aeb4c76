"""Where a hung run is stuck, written when kit's runner times it out (``KIT_HANG_DUMP``).

A hang leaves no exception to record, so the runner signals the run before killing it: SIGUSR2 dumps every
thread's stack (:mod:`faulthandler`, safe in any state), SIGUSR1 every pending task on every labelled loop
with the coroutines it awaits, async generators suspended in an ``await`` (an async fixture's teardown),
and the pooled connections still checked out with the test that took them. Installed only in the main
thread (signal handlers must be), and only when the runner asks for it: nothing runs until a signal.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import signal
import threading
import traceback
from typing import TYPE_CHECKING, Any

from kit.recorder.events import worker_stream

if TYPE_CHECKING:
    from kit.recorder.plugin import Recorder

__all__ = ["install_dump_handlers", "awaiting", "suspended_async_generators"]


def install_dump_handlers(recorder: Recorder) -> None:
    """On SIGUSR1, dump every thread's stack and every pending task's stack (kit's runner on timeout)."""
    dump_path = os.environ.get("KIT_HANG_DUMP")
    if not dump_path or threading.current_thread() is not threading.main_thread():
        return
    if recorder.worker:  # an xdist worker dumps beside the controller, as its record stream is written
        dump_path = worker_stream(dump_path, recorder.worker)
    dump = open(dump_path, "w", encoding="utf-8")
    faulthandler.register(signal.SIGUSR2, file=dump, all_threads=True)

    def dump_tasks(_signum: int, _frame: Any) -> None:
        lines = [f"kit: hung in {recorder.nodeid} ({recorder.phase or '-'})" if recorder.nodeid else
                 "kit: no test running here (collecting, or an xdist controller or worker waiting)"]
        qualified = f"{recorder.worker}:" if recorder.worker else ""  # an xdist worker's loops, as its stream says
        for loop, label in recorder.labelled_loops():
            if loop.is_closed():
                continue
            for task in asyncio.all_tasks(loop):
                lines.append(f"task on {qualified}{label}: {task.get_name()} {task.get_coro()!r}")
                lines.extend("    " + line for frame in task.get_stack(limit=8)
                             for line in traceback.format_stack(frame, limit=1)[0].rstrip().splitlines())
                lines.extend("    awaiting " + where for where in awaiting(task.get_coro()))
        lines.extend(f"async generator (fixture?) awaiting {where}" for where in suspended_async_generators())
        lines.extend(f"connection still checked out, taken in {nodeid or 'outside tests'} ({phase or '-'}) "
                     f"on {qualified}{loop or '?'}" for nodeid, phase, loop in list(recorder.checked_out.values()))
        dump.write("\n".join(lines) + "\n\n")
        dump.flush()
        recorder.flush(blocking=False)  # never wait on the lock from a signal handler: it may hold it

    signal.signal(signal.SIGUSR1, dump_tasks)


def awaiting(coro: Any, limit: int = 12) -> list[str]:
    """Where a suspended coroutine waits: ``file:line in name`` down its ``cr_await`` chain (task stacks
    stop at the outermost coroutine, so a hang in a fixture's ``drop_all`` would not show otherwise)."""
    found = []
    while coro is not None and len(found) < limit:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            found.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None) or getattr(coro, "gi_yieldfrom", None)
    return found


def suspended_async_generators() -> list[str]:
    """Innermost frames of async generators suspended in an ``await`` (an async fixture's teardown):
    a task awaiting ``gen.__anext__()`` does not lead to them through ``cr_await``."""
    import gc
    import types

    found = []
    for obj in gc.get_objects():
        if isinstance(obj, types.AsyncGeneratorType) and obj.ag_running and obj.ag_await is not None:
            found.append(" <- ".join(reversed(awaiting(obj))))
    return found[:10]
