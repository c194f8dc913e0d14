"""Scenario (a0), the framework's ceiling: a bare app answering ``GET /claims/{id}/status`` as the
service does, one claim row by primary key as a msgspec Struct, and nothing else.

Litestar, msgspec and the service's own asyncpg pool (``service.db.create_pool``: the same codecs,
sizes and deadlines), served by uvicorn as ``provenance serve`` serves (one worker, uvloop,
httptools, no access log) and pinned the same way: no middleware, no guard, no dependency
injection, no rate limit, no request id, no metrics. Scenario (a) against this is what the
service's own cost per request is. ``/ready`` is there for the benchmark to wait on.

    DATABASE_URL=... uvicorn bench.bare:create_app --factory --port 8001
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Request, get
from litestar.exceptions import NotFoundException

from service.db import create_pool
from service.settings import Settings

STATE = "SELECT id, status, version FROM claims WHERE id = $1"


class ClaimState(msgspec.Struct):
    id: str
    status: str
    version: int


@get("/claims/{claim_id:str}/status")
async def claim_state(request: Request[Any, Any, Any], claim_id: str) -> ClaimState:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        record = await conn.fetchrow(STATE, uuid.UUID(claim_id))
    if record is None:
        raise NotFoundException()
    return ClaimState(id=str(record["id"]), status=record["status"], version=record["version"])


@get("/ready")
async def ready() -> dict[str, str]:
    return {"status": "ready"}


def create_app() -> Litestar:
    settings = Settings.from_env()

    @asynccontextmanager
    async def pool(app: Litestar) -> AsyncIterator[None]:
        assert settings.database_url is not None, "the bare app needs DATABASE_URL"
        app.state.pool = await create_pool(settings.database_url, settings)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Litestar(route_handlers=[claim_state, ready], lifespan=[pool], openapi_config=None, logging_config=None)
