import asyncio

LOOPS = []


async def test_first_loop():
    LOOPS.append(asyncio.get_running_loop())


async def test_every_test_has_its_own_loop():
    LOOPS.append(asyncio.get_running_loop())
    assert LOOPS[0] is not LOOPS[1]
