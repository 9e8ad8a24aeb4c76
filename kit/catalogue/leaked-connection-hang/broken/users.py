from scenario_db import User


class UserNotFound(LookupError):
    pass


async def register(Session, email: str) -> User:
    session = Session()
    user = User(email=email)
    session.add(user)
    await session.commit()
    await session.close()
    return user


async def change_email(Session, user_id: int, email: str) -> None:
    session = Session()
    user = await session.get(User, user_id)  # opens a transaction (autobegin)
    if user is None:
        raise UserNotFound(user_id)  # leaves with the session open: "idle in transaction"
    user.email = email
    await session.commit()
    await session.close()
