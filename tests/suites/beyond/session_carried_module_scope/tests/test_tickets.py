import pytest

from app.database import async_session
from app.tickets import TicketRepository


@pytest.fixture(scope="module")
def session():
    """One session per test module: opening a session per test made the suite slow."""
    session = async_session()
    yield session


@pytest.fixture
def repo(session):
    return TicketRepository(session)


async def test_opening_a_ticket(repo):
    ticket = await repo.open("printer on fire")
    assert ticket.id is not None


async def test_nothing_else_open(repo):
    assert await repo.count_open() == 1


async def test_closing_a_ticket(repo):
    ticket = await repo.open("coffee machine empty")
    await repo.close(ticket.id)
    assert await repo.count_open() == 1
