"""Liveness and readiness."""

from __future__ import annotations

import asyncpg
from litestar import Controller, get
from litestar.datastructures import State

from service.api.problems import problems
from service.db import pooled
from service.domain import readiness
from service.errors import Unavailable
from service.model import Health


class HealthController(Controller):
    """``/health`` answers while the process runs; ``/ready`` while the database answers with the schema
    the code needs and the audit sealer keeps up."""

    tags = ["health"]
    opt = {"scope": "public"}  # probes carry no key, even where reads need one

    @get("/health", operation_id="getHealth", summary="Liveness", description="200 while the process serves.")
    async def health(self) -> Health:
        return Health(status="ok")

    @get(
        "/ready",
        operation_id="getReadiness",
        summary="Readiness",
        description="200 when the database answers, its schema is the one the code needs and the audit "
        "log's entries are being sealed; else 503, the problem's `detail` naming what is wrong and what to do.",
        responses=problems(503, limited=False),
    )
    async def ready(self, state: State) -> Health:
        try:
            async with pooled(state.pool, timeout=2) as conn:
                found = await readiness.problems(conn, state.settings.sealer_stuck_after)
        except (
            OSError,
            TimeoutError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
        ) as exc:
            raise Unavailable("the database does not answer") from exc
        if found:
            raise Unavailable(f"not ready: {'; '.join(found)}")
        return Health(status="ok", database="ok")
