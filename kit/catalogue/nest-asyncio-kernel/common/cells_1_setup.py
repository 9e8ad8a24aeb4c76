import asyncio
import os

import ipytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from kit.notebook import IPYTEST_ADDOPTS

# pytest in a worker thread, so pytest-asyncio can start its loops (nest_asyncio does not change that).
ipytest.autoconfig(run_in_thread=True, addopts=[*IPYTEST_ADDOPTS, "-p", "kit.plugin"])
kernel_loop = asyncio.get_running_loop()  # the kernel's own loop, running on this thread
engine = create_async_engine(os.environ["DATABASE_URL"])


async def seed():
    """Notebook work: a table and a row for the tests below; returns the loop it ran on."""
    async with engine.begin() as conn:
        await conn.execute(text("create table notes (body text)"))
        await conn.execute(text("insert into notes values ('seeded in the notebook')"))
    return asyncio.get_running_loop()
