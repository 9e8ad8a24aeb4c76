from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Sku(Base):
    __tablename__ = "uow_sku"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")


class Shipment(Base):
    __tablename__ = "uow_shipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))


class ShipmentLine(Base):
    __tablename__ = "uow_shipment_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    # checked at COMMIT, so lines may be written before their shipment (bulk loads do that)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("uow_shipment.id", deferrable=True, initially="DEFERRED"))
    sku_code: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int]
