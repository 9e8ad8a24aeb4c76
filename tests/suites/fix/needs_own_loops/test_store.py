import store


async def test_answer():
    assert await store.answer() == 42


async def test_answer_again():
    assert await store.answer() == 42
