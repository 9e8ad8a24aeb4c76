"""Settings read from the environment, once per process (``get_settings`` is cached)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Settings", "get_settings"]

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres:postgres@localhost:5432/genesis_test"


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    token_ttl_s: int
    password_iterations: int
    orchestrator_url: str
    orchestrator_timeout_s: float
    redis_url: str
    coaching_rate_limit: int  # new coaching sessions per user per minute
    offers_cache_ttl_s: int

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        return cls(
            database_url=env("DATABASE_URL", DEFAULT_DATABASE_URL),
            secret_key=env("GENESIS_SECRET_KEY", "genesis-development-secret-change-me"),
            token_ttl_s=int(env("GENESIS_TOKEN_TTL_S", "3600")),
            password_iterations=int(env("GENESIS_PASSWORD_ITERATIONS", "60000")),
            orchestrator_url=env("ORCHESTRATOR_URL", "http://orchestrator.internal:8080"),
            orchestrator_timeout_s=float(env("ORCHESTRATOR_TIMEOUT_S", "5")),
            redis_url=env("REDIS_URL", "redis://localhost:6379/0"),
            coaching_rate_limit=int(env("GENESIS_COACHING_RATE_LIMIT", "5")),
            offers_cache_ttl_s=int(env("GENESIS_OFFERS_CACHE_TTL_S", "60")),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
