"""Run a coroutine to completion from synchronous code, whether or not a loop is already running.

A Jupyter kernel runs an event loop on its main thread, so ``asyncio.run`` fails there ("cannot be
called from a running event loop"). kit's probes and database helpers are coroutines that own every
object they create; running them on a private loop in a worker thread keeps each asyncpg connection on
the loop that made it, which is the very rule this kit teaches.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh event loop, in a worker thread when this thread already runs one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="kit-aio") as pool:
        return pool.submit(asyncio.run, coro).result()
