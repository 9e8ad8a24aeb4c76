# ruff: noqa: F821 (names from the cells above)
# asyncio.run(seed()) alone fails here: "asyncio.run() cannot be called from a running event loop".
# nest_asyncio makes it work, by running the coroutine on the kernel's loop: the pool keeps its connection.
import nest_asyncio

nest_asyncio.apply()
ran_on = asyncio.run(seed())
print("seed ran on the kernel's loop:", ran_on is kernel_loop)
