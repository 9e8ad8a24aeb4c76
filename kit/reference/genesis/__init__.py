"""genesis: the reference API of the original investigation (auth, business, coaching; Orchestrator, Redis).

A small but correct FastAPI app on SQLAlchemy 2 async + asyncpg. Its test suite lives in
``kit/reference/tests`` and is run in stages (``kit/reference/stages``) that replay the investigation.
"""

from kit.reference.genesis.cache import get_redis
from kit.reference.genesis.db import Base, SessionLocal, engine, get_session
from kit.reference.genesis.main import create_app
from kit.reference.genesis.orchestrator import Orchestrator, OrchestratorError, get_orchestrator

__all__ = [
    "create_app", "Base", "engine", "SessionLocal", "get_session",
    "get_redis", "Orchestrator", "OrchestratorError", "get_orchestrator",
]
