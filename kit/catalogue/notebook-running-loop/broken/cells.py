import ipytest
from kit.notebook import IPYTEST_ADDOPTS

# The default: pytest runs on the kernel's main thread, where the kernel's own event loop is running.
ipytest.autoconfig(addopts=[*IPYTEST_ADDOPTS, "-p", "kit.plugin"])
# %%
%%ipytest
import asyncio


async def test_sleep_a_little():
    await asyncio.sleep(0.01)
