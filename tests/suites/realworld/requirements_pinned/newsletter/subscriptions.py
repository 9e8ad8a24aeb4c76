from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from newsletter.models import Subscriber


class UnknownToken(LookupError):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


async def subscribe(session: AsyncSession, email: str) -> Subscriber:
    """Create (or revive) a pending subscription; the caller mails ``subscriber.token``."""
    email = email.strip().lower()
    subscriber = await session.scalar(select(Subscriber).where(Subscriber.email == email))
    if subscriber is None:
        subscriber = Subscriber(email=email, token=secrets.token_urlsafe(24))
        session.add(subscriber)
    elif subscriber.unsubscribed_at is not None:
        subscriber.unsubscribed_at, subscriber.confirmed_at = None, None
        subscriber.token = secrets.token_urlsafe(24)
    await session.commit()
    return subscriber


async def confirm(session: AsyncSession, token: str) -> Subscriber:
    subscriber = await session.scalar(select(Subscriber).where(Subscriber.token == token))
    if subscriber is None:
        raise UnknownToken(token)
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = _now()
        await session.commit()
    return subscriber


async def unsubscribe(session: AsyncSession, token: str) -> None:
    subscriber = await session.scalar(select(Subscriber).where(Subscriber.token == token))
    if subscriber is None:
        raise UnknownToken(token)
    subscriber.unsubscribed_at = _now()
    await session.commit()


async def mailing_list(session: AsyncSession) -> list[str]:
    rows = await session.scalars(select(Subscriber).order_by(Subscriber.email))
    return [s.email for s in rows if s.active]
