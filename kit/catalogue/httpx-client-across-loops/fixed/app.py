import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request


@asynccontextmanager
async def lifespan(app: FastAPI):
    # The client and its pooled connections live on the loop that runs the app, and are closed on that loop.
    async with httpx.AsyncClient(base_url=os.environ["UPSTREAM_URL"], timeout=5) as rates:
        app.state.rates = rates
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/prices/{currency}")
async def price(currency: str, amount: float, request: Request):
    response = await request.app.state.rates.get(f"/rates/{currency}")
    if response.status_code == 404:
        raise HTTPException(404, "unknown currency")
    return {"currency": currency, "usd": round(amount * response.json()["usd"], 2)}
