from app.models import Order, OrderLine, Product
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


class OutOfStock(Exception):
    pass


async def place(session: AsyncSession, customer: str, items: dict[str, int]) -> Order:
    products = {p.sku: p for p in await session.scalars(select(Product).where(Product.sku.in_(items)))}
    order = Order(customer=customer)
    for sku, quantity in items.items():
        product = products.get(sku)
        if product is None or product.stock < quantity:
            await session.rollback()
            raise OutOfStock(sku)
        product.stock -= quantity
        order.lines.append(OrderLine(product_id=product.id, quantity=quantity))
    session.add(order)
    await session.commit()
    return order
