from datetime import date

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bookings.database import Base, SessionLocal


class Room(Base):
    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (UniqueConstraint("room_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    day: Mapped[date] = mapped_column(Date)
    guest: Mapped[str] = mapped_column(String(80))


class AlreadyBooked(Exception):
    pass


async def add_room(name: str) -> int:
    async with SessionLocal.begin() as session:
        room = Room(name=name)
        session.add(room)
        await session.flush()
        return room.id


async def book(room_id: int, day: date, guest: str) -> None:
    try:
        async with SessionLocal.begin() as session:
            session.add(Booking(room_id=room_id, day=day, guest=guest))
    except IntegrityError as exc:
        raise AlreadyBooked(room_id, day) from exc


async def free_rooms(day: date) -> list[str]:
    async with SessionLocal() as session:
        taken = select(Booking.room_id).where(Booking.day == day)
        return list(await session.scalars(select(Room.name).where(Room.id.not_in(taken)).order_by(Room.name)))
