"""Coaching sessions planned by the Orchestrator, with goals. Creation is rate limited in Redis."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy import select

from kit.reference.genesis.cache import get_redis, rate_limit_key
from kit.reference.genesis.deps import CurrentUser, SessionDep
from kit.reference.genesis.models import CoachingSession, Goal, User
from kit.reference.genesis.orchestrator import Orchestrator, OrchestratorError, get_orchestrator
from kit.reference.genesis.schemas import (
    CoachingSessionCreate,
    CoachingSessionOut,
    GoalCreate,
    GoalOut,
    GoalUpdate,
)
from kit.reference.genesis.settings import get_settings

router = APIRouter(prefix="/coaching", tags=["coaching"])

RedisDep = Annotated[Any, Depends(get_redis)]
OrchestratorDep = Annotated[Orchestrator, Depends(get_orchestrator)]


async def _owned_session(session: SessionDep, session_id: int, user: User) -> CoachingSession:
    coaching = await session.get(CoachingSession, session_id)
    if coaching is None or coaching.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Coaching session not found")
    return coaching


@router.post("/sessions", response_model=CoachingSessionOut, status_code=status.HTTP_201_CREATED)
async def create_session(
    body: CoachingSessionCreate, user: CurrentUser, session: SessionDep,
    redis: RedisDep, orchestrator: OrchestratorDep,
) -> CoachingSession:
    key = rate_limit_key(user.id)
    count = await redis.incr(key)
    if count == 1:
        await redis.expire(key, 60)
    if count > get_settings().coaching_rate_limit:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail="Too many coaching sessions, try later")
    try:
        plan = await orchestrator.plan_session(user_id=user.id, topic=body.topic, goals=body.goals)
    except OrchestratorError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, detail=str(exc)) from None
    coaching = CoachingSession(
        user_id=user.id, topic=body.topic, plan=plan, status="planned",
        goals=[Goal(description=text) for text in body.goals],
    )
    session.add(coaching)
    await session.commit()
    return coaching


@router.get("/sessions", response_model=list[CoachingSessionOut])
async def list_sessions(user: CurrentUser, session: SessionDep) -> list[CoachingSession]:
    rows = await session.scalars(
        select(CoachingSession).where(CoachingSession.user_id == user.id).order_by(CoachingSession.id)
    )
    return list(rows)


@router.get("/sessions/{session_id}", response_model=CoachingSessionOut)
async def get_session_detail(session_id: int, user: CurrentUser, session: SessionDep) -> CoachingSession:
    return await _owned_session(session, session_id, user)


@router.post("/sessions/{session_id}/goals", response_model=GoalOut, status_code=status.HTTP_201_CREATED)
async def add_goal(session_id: int, body: GoalCreate, user: CurrentUser, session: SessionDep) -> Goal:
    await _owned_session(session, session_id, user)
    goal = Goal(session_id=session_id, description=body.description)
    session.add(goal)
    await session.commit()
    return goal


@router.patch("/goals/{goal_id}", response_model=GoalOut)
async def update_goal(goal_id: int, body: GoalUpdate, user: CurrentUser, session: SessionDep) -> Goal:
    goal = await session.get(Goal, goal_id)
    if goal is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Goal not found")
    await _owned_session(session, goal.session_id, user)
    goal.done = body.done
    await session.commit()
    return goal
