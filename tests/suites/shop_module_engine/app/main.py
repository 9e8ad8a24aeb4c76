from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from services import catalog, orders
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_session

app = FastAPI(title="shop")


class ProductIn(BaseModel):
    sku: str
    name: str
    price: float
    stock: int = 0


class OrderIn(BaseModel):
    customer: str
    items: dict[str, int]


@app.post("/products", status_code=201)
async def create_product(body: ProductIn, session: AsyncSession = Depends(get_session)):
    product = await catalog.add_product(session, **body.model_dump())
    return {"id": product.id, "sku": product.sku}


@app.get("/products/{sku}")
async def get_product(sku: str, session: AsyncSession = Depends(get_session)):
    product = await catalog.find(session, sku)
    if product is None:
        raise HTTPException(404, f"no product {sku}")
    return {"sku": product.sku, "name": product.name, "stock": product.stock}


@app.post("/orders", status_code=201)
async def place_order(body: OrderIn, session: AsyncSession = Depends(get_session)):
    try:
        order = await orders.place(session, body.customer, body.items)
    except orders.OutOfStock as exc:
        raise HTTPException(409, str(exc)) from None
    return {"id": order.id, "lines": len(order.lines)}
