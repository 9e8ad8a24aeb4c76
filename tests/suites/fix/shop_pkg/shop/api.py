"""What the handlers call: every function opens its own session on the shared engine."""

from sqlalchemy import func, select

from shop.db import Order, Product, SessionLocal


async def add_product(name: str, price_cents: int) -> int:
    async with SessionLocal() as session:
        product = Product(name=name, price_cents=price_cents)
        session.add(product)
        await session.commit()
        return product.id


async def product_names() -> list[str]:
    async with SessionLocal() as session:
        return list(await session.scalars(select(Product.name).order_by(Product.name)))


async def place_order(product_id: int, quantity: int) -> int:
    async with SessionLocal() as session:
        order = Order(product_id=product_id, quantity=quantity)
        session.add(order)
        await session.commit()
        return order.id


async def ordered_quantity(product_id: int) -> int:
    async with SessionLocal() as session:
        total = await session.scalar(select(func.sum(Order.quantity)).where(Order.product_id == product_id))
        return total or 0
