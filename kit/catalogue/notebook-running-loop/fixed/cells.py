import ipytest
from kit.notebook import IPYTEST_ADDOPTS

# pytest in a worker thread: pytest-asyncio can start its own loop there.
ipytest.autoconfig(run_in_thread=True, addopts=[*IPYTEST_ADDOPTS, "-p", "kit.plugin"])
# %%
%%ipytest
import asyncio


async def test_sleep_a_little():
    await asyncio.sleep(0.01)
