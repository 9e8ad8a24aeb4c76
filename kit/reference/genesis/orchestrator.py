"""The external Orchestrator service: plans coaching sessions. Reached over HTTP with httpx.

``get_orchestrator`` opens one ``httpx.AsyncClient`` per request and closes it afterwards, so the client
never outlives the loop that uses it. Tests replace the dependency (``app.dependency_overrides``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from kit.reference.genesis.settings import get_settings

__all__ = ["Orchestrator", "OrchestratorError", "get_orchestrator"]


class OrchestratorError(RuntimeError):
    """The Orchestrator could not be reached or answered with an error."""


class Orchestrator:
    def __init__(self, client: httpx.AsyncClient):
        self._client = client

    async def plan_session(self, *, user_id: int, topic: str, goals: list[str]) -> dict:
        """Ask the Orchestrator for a plan: ``{"plan_id": str, "steps": [str, ...]}``."""
        try:
            response = await self._client.post(
                "/v1/plans", json={"user_id": user_id, "topic": topic, "goals": goals}
            )
            response.raise_for_status()
            plan = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OrchestratorError(f"Orchestrator planning failed: {exc}") from exc
        if not isinstance(plan, dict) or "steps" not in plan:
            raise OrchestratorError(f"Orchestrator returned an unexpected plan: {plan!r}")
        return plan


async def get_orchestrator() -> AsyncIterator[Orchestrator]:
    settings = get_settings()
    async with httpx.AsyncClient(
        base_url=settings.orchestrator_url, timeout=settings.orchestrator_timeout_s
    ) as client:
        yield Orchestrator(client)
