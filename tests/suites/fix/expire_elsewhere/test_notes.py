import app


async def test_ping():
    assert await app.ping() == 1


async def test_note_body_after_commit(session):
    note = app.Note(body="hello")
    session.add(note)
    await session.commit()
    assert note.body == "hello"
