from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class StockItem(Base):
    __tablename__ = "stock_items"

    sku: Mapped[str] = mapped_column(String(32), primary_key=True)
    warehouse: Mapped[str] = mapped_column(String(32))
    on_hand: Mapped[int] = mapped_column(default=0)
