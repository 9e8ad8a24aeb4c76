import pytest

from models import Task


@pytest.mark.asyncio
async def test_task_title_after_commit(session):
    task = Task(title="write tests")
    session.add(task)
    await session.commit()
    assert task.title == "write tests"


@pytest.mark.asyncio
async def test_task_gets_an_id(session):
    task = Task(title="review")
    session.add(task)
    await session.flush()
    assert task.id is not None


def test_sync():
    assert Task.__tablename__ == "tasks"
