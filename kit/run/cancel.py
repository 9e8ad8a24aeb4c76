"""Ctrl-C that really stops kit: every process group kit started, killed at once.

kit's runs live in process groups of their own (so a timeout can kill a run with everything it started),
and Jupyter kernels start in sessions of their own (so that a Ctrl-C in a terminal does not reach them).
Both choices mean the terminal's SIGINT reaches kit alone: without this registry, worker threads would
go on running queued notebooks and variants after "interrupted". Every place that starts a group
registers it here for as long as it runs; on an interrupt the CLI calls :func:`kill_all`.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["add", "discard", "running_group", "kill_all", "interrupted", "run_all"]

T = TypeVar("T")
R = TypeVar("R")
_lock = threading.Lock()
_groups: set[int] = set()
_interrupted = threading.Event()
_killed = [0]  # groups killed since kit started: what an interrupt stopped


def add(pgid: int) -> None:
    """Kill the process group ``pgid`` on an interrupt (until :func:`discard`)."""
    with _lock:
        _groups.add(pgid)
    if _interrupted.is_set():  # started while kit was being interrupted: it must not outlive kit either
        kill_all()


def discard(pgid: int) -> None:
    with _lock:
        _groups.discard(pgid)


@contextmanager
def running_group(pgid: int | None) -> Iterator[None]:
    """Register the process group ``pgid`` (a run, a kernel) while the block runs."""
    if pgid is None:
        yield
        return
    add(pgid)
    try:
        yield
    except BaseException:  # an interrupt (or a bug) while the group runs: it must not outlive this block
        _kill(pgid)
        raise
    finally:
        discard(pgid)


def _kill(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def interrupted() -> bool:
    """True once :func:`kill_all` has run: workers must not start new work, nor write partial results."""
    return _interrupted.is_set()


def kill_all() -> int:
    """SIGKILL every registered process group (each run's children die with it); return how many groups were
    killed since kit started (an interrupt may have killed some already, on its way up)."""
    _interrupted.set()
    with _lock:
        groups = list(_groups)
        _groups.clear()
    for pgid in groups:
        _kill(pgid)
    _killed[0] += len(groups)
    return _killed[0]


def _wait_awake(futures: list[concurrent.futures.Future]) -> None:
    """Wait for every future, or the first failure, waking a few times a second.

    A Ctrl-C is a process-wide signal that the kernel may hand to any thread; Python then only notes it, and runs
    the handler (KeyboardInterrupt) in the main thread when that thread next runs Python code. Asleep in one
    ``future.result()`` it would not, until that item ended (minutes for a notebook): a timed wait lets it."""
    pending = set(futures)
    while pending:
        done, pending = concurrent.futures.wait(pending, timeout=0.25, return_when=concurrent.futures.FIRST_EXCEPTION)
        if any(f.exception() is not None for f in done if not f.cancelled()):
            return


def run_all(work: Callable[[T], R], items: Sequence[T], jobs: int,
            idle: Callable[[T], bool] = lambda item: False) -> list[R]:
    """``[work(item) for item in items]``, ``jobs`` at a time in threads, results in the order of ``items``.

    Items for which ``idle(item)`` is true (a run expected to hang until its time limit kills it, waiting on a lock
    with no CPU) run beside the ``jobs``, not in one of their places: the jobs keep the machine's cores busy.

    If the caller is interrupted (Ctrl-C) or a work item raises, queued items are cancelled and every
    running process group is killed at once, instead of the pool waiting for the running items to finish
    (which is what ``with ThreadPoolExecutor()`` does, and what kept kit running after a Ctrl-C).
    """
    places, stopped = threading.Semaphore(max(1, jobs)), threading.Event()
    waiting = sum(1 for item in items if idle(item))

    def in_place(item: T) -> R | None:
        with places:  # a thread waiting here is past the pool's cancelling: it must not start once stopped
            return None if stopped.is_set() else work(item)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs) + waiting, thread_name_prefix="kit-work")
    try:
        futures = [pool.submit(work if idle(item) else in_place, item) for item in items]
        _wait_awake(futures)
        results = [future.result() for future in futures]
    except BaseException:
        stopped.set()
        pool.shutdown(wait=False, cancel_futures=True)
        kill_all()
        raise
    pool.shutdown()
    return results
