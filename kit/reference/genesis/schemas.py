"""Request and response bodies."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserCreate(BaseModel):
    email: str
    password: str = Field(min_length=8)
    full_name: str = ""

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip().lower()
        if not _EMAIL.match(value):
            raise ValueError("not an email address")
        return value


class LoginRequest(BaseModel):
    email: str
    password: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    full_name: str


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class OfferCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    price_cents: int = Field(ge=0)


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    title: str
    price_cents: int


class BusinessCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


class BusinessOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    owner_id: int
    name: str
    description: str
    offers: list[OfferOut] = []


class GoalCreate(BaseModel):
    description: str = Field(min_length=1, max_length=500)


class GoalUpdate(BaseModel):
    done: bool


class GoalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    description: str
    done: bool


class CoachingSessionCreate(BaseModel):
    topic: str = Field(min_length=1, max_length=200)
    goals: list[str] = []


class CoachingSessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    topic: str
    status: str
    plan: dict
    goals: list[GoalOut] = []
