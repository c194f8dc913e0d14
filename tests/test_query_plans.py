"""Tracing asks PostgreSQL for its generic plan, and only for itself: other queries keep theirs."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import httpx

from service.repositories import traces
from tests.conftest import claim_body, create_claim, hop, inline


async def test_a_trace_leaves_the_plan_setting_as_it_found_it(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    claim = await create_claim(client, claim_body("Austin initiated the call", hop(inline("Patrick Ryder"), "said")))
    rows = await traces.traces(conn, [UUID(claim["id"])], 32)
    assert [str(r["id"]) for r in rows] == [claim["id"]]
    assert not conn.is_in_transaction()
    assert await conn.fetchval("SHOW plan_cache_mode") == "auto"


async def test_inside_a_callers_transaction_the_setting_is_not_touched(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    claim = await create_claim(client, claim_body("Austin initiated the call", hop(inline("Patrick Ryder"), "said")))
    async with conn.transaction():
        rows = await traces.traces(conn, [UUID(claim["id"])], 32)
        assert len(rows) == 1
        assert await conn.fetchval("SHOW plan_cache_mode") == "auto"
