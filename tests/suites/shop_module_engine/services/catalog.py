from decimal import Decimal

from app.models import Product
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def add_product(session: AsyncSession, sku: str, name: str, price: float, stock: int = 0) -> Product:
    product = Product(sku=sku, name=name, price=Decimal(str(price)), stock=stock)
    session.add(product)
    await session.commit()
    return product


async def find(session: AsyncSession, sku: str) -> Product | None:
    return await session.scalar(select(Product).where(Product.sku == sku))
