from datetime import date

import pytest

from bookings import rooms

DAY = date(2025, 3, 14)


async def test_new_rooms_are_free():
    await rooms.add_room("Ada")
    await rooms.add_room("Babbage")
    assert await rooms.free_rooms(DAY) == ["Ada", "Babbage"]


async def test_a_booked_room_is_not_free_that_day():
    ada = await rooms.add_room("Ada")
    await rooms.add_room("Babbage")
    await rooms.book(ada, DAY, "grace")
    assert await rooms.free_rooms(DAY) == ["Babbage"]
    assert await rooms.free_rooms(date(2025, 3, 15)) == ["Ada", "Babbage"]


async def test_double_booking_is_refused():
    ada = await rooms.add_room("Ada")
    await rooms.book(ada, DAY, "grace")
    with pytest.raises(rooms.AlreadyBooked):
        await rooms.book(ada, DAY, "linus")
