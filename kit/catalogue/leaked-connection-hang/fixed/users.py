from scenario_db import User


class UserNotFound(LookupError):
    pass


async def register(Session, email: str) -> User:
    async with Session() as session:
        user = User(email=email)
        session.add(user)
        await session.commit()
        return user


async def change_email(Session, user_id: int, email: str) -> None:
    async with Session() as session:  # closed (rolled back, connection returned) on every exit path
        user = await session.get(User, user_id)
        if user is None:
            raise UserNotFound(user_id)
        user.email = email
        await session.commit()
