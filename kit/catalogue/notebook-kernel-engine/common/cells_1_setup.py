import os

import ipytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from kit.notebook import IPYTEST_ADDOPTS

ipytest.autoconfig(run_in_thread=True, addopts=[*IPYTEST_ADDOPTS, "-p", "kit.plugin"])
engine = create_async_engine(os.environ["DATABASE_URL"])
# %%
# Explore the database on the kernel's loop (top-level await): the pool keeps this connection.
async with engine.connect() as conn:
    print((await conn.execute(text("select 1"))).scalar())
