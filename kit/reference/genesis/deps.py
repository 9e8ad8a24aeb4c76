"""Shared dependencies: the current user from the bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from kit.reference.genesis.db import get_session
from kit.reference.genesis.models import User
from kit.reference.genesis.security import InvalidToken, decode_token

__all__ = ["CurrentUser", "SessionDep", "get_current_user"]

_bearer = HTTPBearer(auto_error=False)

SessionDep = Annotated[AsyncSession, Depends(get_session)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def _user_id(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> int:
    """Checked before any database work: a missing or forged token never opens a session."""
    if credentials is None:
        raise _unauthorized("Not authenticated")
    try:
        return decode_token(credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorized(f"Invalid token: {exc}") from None


async def get_current_user(user_id: Annotated[int, Depends(_user_id)], session: SessionDep) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise _unauthorized("Unknown user")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
