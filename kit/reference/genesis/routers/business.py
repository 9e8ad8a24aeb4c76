"""Businesses and their offers, owned by the current user. Offer lists are cached in Redis."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy import select

from kit.reference.genesis.cache import get_redis, offers_key
from kit.reference.genesis.deps import CurrentUser, SessionDep
from kit.reference.genesis.models import Business, Offer, User
from kit.reference.genesis.schemas import BusinessCreate, BusinessOut, OfferCreate, OfferOut
from kit.reference.genesis.settings import get_settings

router = APIRouter(prefix="/businesses", tags=["business"])

RedisDep = Annotated[Any, Depends(get_redis)]


async def _owned(session: SessionDep, business_id: int, user: User) -> Business:
    business = await session.get(Business, business_id)
    if business is None or business.owner_id != user.id:  # other owners' businesses do not exist for you
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Business not found")
    return business


@router.post("", response_model=BusinessOut, status_code=status.HTTP_201_CREATED)
async def create_business(body: BusinessCreate, user: CurrentUser, session: SessionDep) -> Business:
    business = Business(owner_id=user.id, name=body.name, description=body.description, offers=[])
    session.add(business)
    await session.commit()
    return business


@router.get("", response_model=list[BusinessOut])
async def list_businesses(user: CurrentUser, session: SessionDep) -> list[Business]:
    rows = await session.scalars(select(Business).where(Business.owner_id == user.id).order_by(Business.id))
    return list(rows)


@router.get("/{business_id}", response_model=BusinessOut)
async def get_business(business_id: int, user: CurrentUser, session: SessionDep) -> Business:
    return await _owned(session, business_id, user)


@router.post("/{business_id}/offers", response_model=OfferOut, status_code=status.HTTP_201_CREATED)
async def create_offer(
    business_id: int, body: OfferCreate, user: CurrentUser, session: SessionDep, redis: RedisDep
) -> Offer:
    await _owned(session, business_id, user)
    offer = Offer(business_id=business_id, title=body.title, price_cents=body.price_cents)
    session.add(offer)
    await session.commit()
    await redis.delete(offers_key(business_id))
    return offer


@router.get("/{business_id}/offers", response_model=list[OfferOut])
async def list_offers(business_id: int, user: CurrentUser, session: SessionDep, redis: RedisDep) -> list[Any]:
    await _owned(session, business_id, user)
    cached = await redis.get(offers_key(business_id))
    if cached is not None:
        return json.loads(cached)
    rows = await session.scalars(select(Offer).where(Offer.business_id == business_id).order_by(Offer.id))
    offers = [OfferOut.model_validate(row).model_dump() for row in rows]
    await redis.set(offers_key(business_id), json.dumps(offers), ex=get_settings().offers_cache_ttl_s)
    return offers
