import pytest
from sqlalchemy import text


@pytest.mark.asyncio
async def test_insert_note(connection):
    await connection.execute(text("insert into notes values ('hello')"))
    assert await connection.scalar(text("select count(*) from notes")) == 1


@pytest.mark.asyncio
async def test_notes_start_empty(connection):
    assert await connection.scalar(text("select count(*) from notes")) == 0


def test_plain():
    assert "notes".upper() == "NOTES"
