"""Tracing asks PostgreSQL for its generic plan, and only for itself: other queries keep theirs. A
bounded time range is listed through its index, not by walking every claim newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import httpx

from service.repositories import claims as claims_repo
from service.repositories import traces
from tests.helpers import claim_body, create_claim, hop, inline


async def test_a_trace_leaves_the_plan_setting_as_it_found_it(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    # More claims than TRACE_FEW takes: TRACE with SET LOCAL in a transaction of its own.
    claims = [
        await create_claim(client, claim_body(f"Austin initiated call {n}", hop(inline("Patrick Ryder"), "said")))
        for n in range(traces.FEW + 1)
    ]
    rows = await traces.traces(conn, [UUID(c["id"]) for c in claims], 32)
    assert [str(r["id"]) for r in rows] == [c["id"] for c in claims]
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


def _plan_nodes(plan: dict[str, object]) -> list[dict[str, object]]:
    children = plan.get("Plans", [])
    assert isinstance(children, list)
    return [plan, *(node for child in children for node in _plan_nodes(child))]


async def test_a_bounded_time_range_reads_its_index_and_sorts(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    for n in range(3):
        await create_claim(
            client,
            claim_body(
                f"Claim {n}", hop(inline("Someone")), appeared_in={"published_at": f"2021-0{n + 1}-15T00:00:00Z"}
            ),
        )
    filters = claims_repo.ClaimFilters(since=datetime(2021, 2, 1, tzinfo=UTC), until=datetime(2021, 3, 1, tzinfo=UTC))
    rows = await claims_repo.page(conn, filters, before_seq=None, limit=10)
    assert [r["text"] for r in rows] == ["Claim 1"]
    args = [None, None, None, filters.since, filters.until, None, None, None, None, None, None, 10]
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")  # a table this small would be read whole
        [explained] = await conn.fetchval("EXPLAIN (FORMAT JSON) " + claims_repo.LIST_CLAIMS_IN_RANGE, *args)
        plans = {"range": _plan_nodes(explained["Plan"])}
    # At 1,000,000 claims the catch-all list walked the seq key newest first, filtering on the range
    # (3.7 s for a month of 2021; bench/README.md); the range query reads the range and sorts.
    assert not any(n.get("Index Name") == "claims_seq_key" for n in plans["range"]), plans["range"]
    assert any(n.get("Index Name") == "claims_published_at_idx" for n in plans["range"]), plans["range"]
    assert any(n.get("Node Type") == "Sort" and "(c_1.seq + 0)" in str(n.get("Sort Key")) for n in plans["range"])
