import asyncio

from queries import EXAMPLE_DOMAIN, TOTAL


async def _scalar(Session, statement):
    async with Session() as session:  # each task has its own session and connection
        return await session.scalar(statement)


async def user_stats(Session) -> dict:
    total, example = await asyncio.gather(_scalar(Session, TOTAL), _scalar(Session, EXAMPLE_DOMAIN))
    return {"total": total, "example": example}
