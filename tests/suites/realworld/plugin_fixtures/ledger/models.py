from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "ledger_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    overdraft_limit: Mapped[int] = mapped_column(Integer, default=0)
    postings: Mapped[list[Posting]] = relationship(back_populates="account", lazy="raise")


class Posting(Base):
    __tablename__ = "ledger_posting"
    __table_args__ = (CheckConstraint("amount <> 0", name="posting_amount_nonzero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int]  # cents; debit < 0 < credit
    memo: Mapped[str] = mapped_column(String(200), default="")
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    account: Mapped[Account] = relationship(back_populates="postings")
