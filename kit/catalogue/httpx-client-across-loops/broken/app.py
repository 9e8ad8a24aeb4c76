import os

import httpx
from fastapi import FastAPI, HTTPException

# One client for the whole process, created when the module is imported. Its connection pool keeps
# connections to the upstream open and hands them to the next request, on whichever event loop it runs.
rates = httpx.AsyncClient(base_url=os.environ["UPSTREAM_URL"], timeout=5)

app = FastAPI()


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/prices/{currency}")
async def price(currency: str, amount: float):
    response = await rates.get(f"/rates/{currency}")
    if response.status_code == 404:
        raise HTTPException(404, "unknown currency")
    return {"currency": currency, "usd": round(amount * response.json()["usd"], 2)}
