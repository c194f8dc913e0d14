"""What ``POST /claims`` costs in round trips to PostgreSQL: statements counted on the app's one connection."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from service.repositories import claims as claims_repo
from service.repositories import sources as sources_repo
from tests.helpers import bearer, claim_body, create_source, fresh_app, hop, inline, issue_key

# Statements are counted only while a test's request runs: the audit sealer shares the connection
# from a task of its own, whose statements a query logger also sees.
counting: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("counting", default=None)


def log(record: Any) -> None:
    # asyncpg calls loggers with call_soon, in a copy of the context of the task that sent the statement.
    statements = counting.get()
    if statements is not None:
        statements.append(record.query)


@pytest.fixture
async def one_connection_app(database_url: str) -> AsyncIterator[Litestar]:
    """An app whose pool is one connection, logging every statement sent on it."""
    async with fresh_app(database_url, pool_max_size=1) as application:
        async with application.state.pool.acquire() as conn:
            conn.add_query_logger(log)
        yield application


@pytest.fixture
async def writer(one_connection_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    secret = await issue_key(one_connection_app.state.pool, "round-trips", "write")
    transport = httpx.ASGITransport(app=one_connection_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=bearer(secret)) as http:
        yield http


async def statements_of(client: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    """The statements one ``POST /claims`` sends, once it has answered 201."""
    statements: list[str] = []
    token = counting.set(statements)
    try:
        response = await client.post("/claims", json=body)
    finally:
        counting.reset(token)
    await asyncio.sleep(0)  # the last records are handed to the logger with call_soon
    assert response.status_code == 201, response.text
    return statements


def relayed(text: str) -> dict[str, Any]:
    """The benchmark's POST: a 3-hop chain of inline sources, each naming one stored source."""
    return claim_body(
        text,
        hop(inline("Bench Wire", "outlet"), "reports"),
        hop(inline("Bench Agency", "outlet"), "citing"),
        hop(inline("Bench Speaker", "person"), "told reporters"),
        appeared_in={"title": "Relayed", "published_at": "2024-06-25T18:30:00Z"},
    )


async def stored_bench_sources(client: httpx.AsyncClient) -> None:
    for name, kind in (("Bench Wire", "outlet"), ("Bench Agency", "outlet"), ("Bench Speaker", "person")):
        await create_source(client, {"name": name, "kind": kind})


async def test_a_three_hop_inline_chain_of_stored_sources_takes_three_round_trips(writer: httpx.AsyncClient) -> None:
    # The key's lookup; the three names' matches at once; the claim with its hops, its revision and its
    # audit entry, one statement and so no transaction of its own (answered from what was stored, not
    # read back). It took 18, then 7.
    await stored_bench_sources(writer)
    await statements_of(writer, relayed("warm-up"))  # statements are prepared, and types introspected, once
    statements = await statements_of(writer, relayed("counted"))
    assert len(statements) == 3, statements
    assert statements.count(sources_repo.MATCHING_NAME_KEYS) == 1
    assert statements.count(claims_repo.INSERT_CLAIM) == 1


async def test_stored_sources_are_reused_without_any_lock(writer: httpx.AsyncClient) -> None:
    await stored_bench_sources(writer)
    statements = await statements_of(writer, relayed("counted"))
    assert not [s for s in statements if "advisory" in s]


async def test_new_sources_are_locked_together_and_read_again(writer: httpx.AsyncClient) -> None:
    body = claim_body("x", *(hop(inline(f"New Outlet {i}", "outlet")) for i in range(3)))
    statements = await statements_of(writer, body)
    # Read once without a transaction, which finds names to make: nothing locked, nothing written; then
    # all of it again in one transaction.
    assert statements.count("BEGIN;") == 1
    begin = statements.index("BEGIN;")
    assert statements[1:begin] == [sources_repo.MATCHING_NAME_KEYS]
    locking = [
        sources_repo.MATCHING_NAME_KEYS,
        sources_repo.LOCK_SOURCE_CREATION_SHARED,
        sources_repo.LOCK_NAME_KEYS,
        sources_repo.MATCHING_NAME_KEYS,
    ]
    start = statements.index(sources_repo.MATCHING_NAME_KEYS, begin)
    assert statements[start : start + 4] == locking
    assert statements.count(sources_repo.LOCK_NAME_KEYS) == 1


async def test_a_chain_linking_upstream_takes_its_lock_in_a_transaction_from_the_start(
    writer: httpx.AsyncClient,
) -> None:
    await stored_bench_sources(writer)
    upstream = (await writer.post("/claims", json=relayed("upstream"))).json()
    first = upstream["chain"][0]["source"]["id"]
    body = claim_body(
        "linked", hop(inline("Bench Agency", "outlet"), "citing"), hop(first, upstream_claim_id=upstream["id"])
    )
    statements = await statements_of(writer, body)
    assert statements[1:3] == ["BEGIN;", claims_repo.LOCK_CHAINS_SHARED]
