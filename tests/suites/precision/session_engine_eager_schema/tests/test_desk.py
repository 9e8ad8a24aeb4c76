import pytest

from lending.desk import AlreadyLent, Desk

pytestmark = pytest.mark.asyncio


@pytest.fixture
def desk(session):
    return Desk(session)


async def test_enrol_gives_a_member_id(desk):
    member = await desk.enrol("C-001", "Grace")
    assert member.id is not None


async def test_lending_counts_open_loans(desk):
    member = await desk.enrol("C-002", "Edsger")
    copy = await desk.shelve("978-0262033848", "Introduction to Algorithms")
    await desk.lend(copy, member)
    assert await desk.on_loan(member) == 1


async def test_a_lent_copy_cannot_be_lent_twice(desk):
    first = await desk.enrol("C-003", "Barbara")
    second = await desk.enrol("C-004", "Donald")
    copy = await desk.shelve("978-0201896831", "The Art of Computer Programming")
    await desk.lend(copy, first)
    with pytest.raises(AlreadyLent):
        await desk.lend(copy, second)


async def test_returned_copy_can_go_out_again(desk):
    first = await desk.enrol("C-005", "Ken")
    second = await desk.enrol("C-006", "Dennis")
    copy = await desk.shelve("978-0131103627", "The C Programming Language")
    loan = await desk.lend(copy, first)
    await desk.give_back(loan)
    await desk.lend(copy, second)
    assert await desk.on_loan(second) == 1
