from sqlalchemy import delete, insert, select, update

from warehouse.db import engine, products, stock


class OutOfStock(Exception):
    pass


async def register(sku: str, title: str, on_hand: int = 0) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(products).values(sku=sku, title=title))
        await conn.execute(insert(stock).values(sku=sku, on_hand=on_hand))


async def receive(sku: str, quantity: int) -> int:
    async with engine.begin() as conn:
        return await conn.scalar(update(stock).where(stock.c.sku == sku)
                                 .values(on_hand=stock.c.on_hand + quantity).returning(stock.c.on_hand))


async def ship(sku: str, quantity: int) -> int:
    async with engine.begin() as conn:
        left = await conn.scalar(update(stock).where(stock.c.sku == sku, stock.c.on_hand >= quantity)
                                 .values(on_hand=stock.c.on_hand - quantity).returning(stock.c.on_hand))
        if left is None:
            raise OutOfStock(sku)
        return left


async def on_hand(sku: str) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(stock.c.on_hand).where(stock.c.sku == sku))


async def forget(*skus: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(products).where(products.c.sku.in_(skus)))
