import asyncio

from queries import EXAMPLE_DOMAIN, TOTAL


async def user_stats(Session) -> dict:
    async with Session() as session:
        # Both queries share one AsyncSession (one connection), concurrently.
        total, example = await asyncio.gather(session.scalar(TOTAL), session.scalar(EXAMPLE_DOMAIN))
    return {"total": total, "example": example}
