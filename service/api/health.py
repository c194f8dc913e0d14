"""Liveness and readiness."""

from __future__ import annotations

import asyncpg
from litestar import Controller, get
from litestar.datastructures import State

from service.api.problems import problems
from service.db import answers
from service.errors import Unavailable
from service.model import Health


class HealthController(Controller):
    """``/health`` answers while the process runs; ``/ready`` while the database answers too."""

    tags = ["health"]
    opt = {"scope": "public"}  # probes carry no key, even where reads need one

    @get("/health", operation_id="getHealth", summary="Liveness", description="200 while the process serves.")
    async def health(self) -> Health:
        return Health(status="ok")

    @get(
        "/ready",
        operation_id="getReadiness",
        summary="Readiness",
        description="200 when the database answers, else 503.",
        responses=problems(503, limited=False),
    )
    async def ready(self, state: State) -> Health:
        try:
            await answers(state.pool, timeout=2)
        except (
            OSError,
            TimeoutError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
        ) as exc:
            raise Unavailable("the database does not answer") from exc
        return Health(status="ok", database="ok")
