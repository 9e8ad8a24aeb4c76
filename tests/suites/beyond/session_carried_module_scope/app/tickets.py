from sqlalchemy import Boolean, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)


class TicketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(self, title: str) -> Ticket:
        ticket = Ticket(title=title)
        self.session.add(ticket)
        await self.session.commit()
        return ticket

    async def close(self, ticket_id: int) -> None:
        ticket = await self.session.get(Ticket, ticket_id)
        ticket.closed = True
        await self.session.commit()

    async def count_open(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.closed.is_(False)))
