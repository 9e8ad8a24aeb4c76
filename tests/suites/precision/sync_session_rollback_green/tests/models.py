from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Slot(Base):
    __tablename__ = "slots"
    __table_args__ = (CheckConstraint("seats >= 0", name="seats_not_negative"),)

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    seats: Mapped[int]
