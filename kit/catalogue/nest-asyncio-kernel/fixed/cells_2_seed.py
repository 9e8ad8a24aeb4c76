# ruff: noqa: F704, F821 (names from the cells above and top-level await, which IPython runs)
# The kernel runs top-level await on its own loop: no asyncio.run, no nest_asyncio.
ran_on = await seed()
print("seed ran on the kernel's loop:", ran_on is kernel_loop)
