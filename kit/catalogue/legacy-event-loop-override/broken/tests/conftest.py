import asyncio

import pytest


# The pytest-asyncio < 0.23 recipe for "one loop for the whole run". pytest-asyncio 1.x no longer
# uses a fixture named event_loop: this one is never requested, and each test gets its own loop.
@pytest.fixture(scope="session")
def event_loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()
