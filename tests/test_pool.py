"""The pool hands out connections in a clean state, no transaction carried from one request to the next,
and in the order they were asked for."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from service.db import create_pool, give_back, pooled, take
from service.settings import Settings


async def test_a_connection_released_inside_a_transaction_comes_back_out_of_it(database_url: str) -> None:
    pool = await create_pool(database_url, Settings(pool_min_size=1, pool_max_size=1))
    try:
        async with pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("CREATE TEMPORARY TABLE left_behind (x int)")
            assert conn.is_in_transaction()
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('pg_temp.left_behind')") is None
    finally:
        await pool.close()


async def test_statements_are_prepared_once_per_connection(database_url: str) -> None:
    query = "SELECT count(*) FROM claims WHERE id = $1"
    pool = await create_pool(database_url, Settings(pool_min_size=1, pool_max_size=1))
    try:
        for _ in range(3):
            async with pool.acquire() as conn:
                await conn.fetchval(query, None)
        async with pool.acquire() as conn:
            prepared = await conn.fetchval("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", query)
            assert prepared == 1
    finally:
        await pool.close()


def test_no_route_resolves_two_dependencies_side_by_side() -> None:
    # Litestar resolves the dependencies of one level in an anyio task group, a task each: a trace paid
    # a quarter of its instructions for it (bench/README.md). The dependencies come one at a time.
    from litestar.routes import HTTPRoute

    from service.app import create_app

    app = create_app(Settings(database_url="postgresql://unused"))
    side_by_side = {
        (method, route.path): [sorted(d.key for d in batch) for batch in kwargs.dependency_batches]
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method, (_, kwargs) in route.route_handler_map.items()
        if any(len(batch) > 1 for batch in kwargs.dependency_batches)
    }
    assert side_by_side == {}
    trace = next(r for r in app.routes if r.path == "/claims/{claim_id:str}/trace")
    assert isinstance(trace, HTTPRoute)
    _, kwargs = trace.route_handler_map["GET"]
    assert [[d.key for d in batch] for batch in kwargs.dependency_batches] == [["settings"], ["conn"]]


async def test_a_connection_given_back_goes_to_the_first_in_line_not_to_the_next_to_ask(database_url: str) -> None:
    # asyncpg alone hands it to whoever asks while it is idle: the holder asking again at once took it
    # back ahead of the two waiting, and a waiter could lose that race for as long as the load lasted.
    pool = await create_pool(database_url, Settings(pool_min_size=1, pool_max_size=1))
    order: list[str] = []
    try:
        holding = asyncio.Event()

        async def wait(name: str) -> None:
            async with pooled(pool, 10) as conn:
                order.append(name)
                await conn.fetchval("SELECT 1")

        async with pooled(pool, 10):
            waiters = [asyncio.create_task(wait(name)) for name in ("first", "second")]
            await asyncio.sleep(0.05)  # both are in line
            holding.set()
        async with pooled(pool, 10):  # asked again at once, with the connection just given back
            order.append("holder again")
        await asyncio.gather(*waiters)
        assert order == ["first", "second", "holder again"]
        assert pool.turns.free == 1 and not pool.turns.waiting
    finally:
        await pool.close()


async def test_a_request_that_gives_up_waiting_keeps_no_turn(database_url: str) -> None:
    pool = await create_pool(database_url, Settings(pool_min_size=1, pool_max_size=1))
    try:
        async with pooled(pool, 10):
            with pytest.raises(TimeoutError):
                async with pooled(pool, 0.05):
                    raise AssertionError("the one connection was held")
            later = asyncio.create_task(pooled(pool, 10).__aenter__())
            await asyncio.sleep(0.05)
            # Handed the connection, then cancelled before it ran: the turn is passed on, not lost.
        later.cancel()
        with pytest.raises(asyncio.CancelledError):
            await later
        assert pool.turns.free == 1 and not pool.turns.waiting
        async with pooled(pool, 1) as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


async def test_a_request_cancelled_in_line_leaves_it(database_url: str) -> None:
    # Cancelled while waiting (not past its deadline): out of the line, and the connection given back
    # goes to the next who waits, not to the cancelled one.
    pool = await create_pool(database_url, Settings(pool_min_size=1, pool_max_size=1))
    try:
        held = await take(pool, 10)
        cancelled = asyncio.create_task(take(pool, 10))
        await asyncio.sleep(0.05)
        later = asyncio.create_task(take(pool, 10))
        await asyncio.sleep(0.05)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert len(pool.turns.waiting) == 1
        await give_back(pool, held)
        await give_back(pool, await asyncio.wait_for(later, 5))
        assert pool.turns.free == 1 and not pool.turns.waiting
    finally:
        await pool.close()


async def test_under_load_no_request_waits_much_longer_than_the_rest(database_url: str) -> None:
    # 32 requests at a time on 4 connections, as the benchmark's 32 connections on the pool of 10: each
    # request's wait in line is about the others', none starved behind those asking after it.
    pool = await create_pool(database_url, Settings(pool_min_size=4, pool_max_size=4))
    waits: list[int] = []
    served = 0
    try:

        async def client() -> None:
            nonlocal served
            for _ in range(25):
                asked = served
                async with pooled(pool, 30) as conn:
                    waits.append(served - asked)  # requests served while this one waited
                    served += 1
                    await conn.fetchval("SELECT 1")

        await asyncio.gather(*(client() for _ in range(32)))
        assert len(waits) == 800
        # In line behind at most the 31 other clients' requests, never overtaken by a later one.
        assert max(waits) <= 32
    finally:
        await pool.close()


async def test_a_requests_connection_comes_back_once_answered_whatever_the_answer(database_url: str) -> None:
    # The connection lent to a request is given back by the front layer after its answer: found, not
    # found, invalid, refused, or a write inside its transaction that failed.
    from tests.helpers import bearer, claim_body, fresh_app, hop, inline, issue_key

    async with fresh_app(database_url, pool_min_size=1, pool_max_size=1) as app:
        secret = await issue_key(app.state.pool, "desk", "write")
        pool = app.state.pool
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        async with client:
            created = await client.post("/claims", json=claim_body("Lent.", hop(inline("Ann"))), headers=bearer(secret))
            assert created.status_code == 201
            claim_id = created.json()["id"]
            answers = [
                await client.get(f"/claims/{claim_id}/status"),
                await client.get("/claims/00000000-0000-4000-8000-000000000000"),
                await client.get("/claims/not-an-id"),
                await client.post("/claims", json={"text": ""}, headers=bearer(secret)),
                # Links upstream to a claim that is not there: refused inside the write's transaction.
                await client.post(
                    "/claims",
                    json=claim_body(
                        "Relayed.",
                        {"source": {"name": "Ann"}, "upstream_claim_id": "00000000-0000-4000-8000-000000000000"},
                    ),
                    headers=bearer(secret),
                ),
            ]
            assert [a.status_code for a in answers[:4]] == [200, 404, 404, 422]
            assert answers[4].status_code in (404, 422), answers[4].text
            # The one connection came back each time, out of any transaction.
            assert pool.turns.free == 1 and not pool.turns.waiting
            async with pooled(pool, 1) as conn:
                assert not conn.is_in_transaction()
            assert (await client.get(f"/claims/{claim_id}")).status_code == 200


async def test_a_write_checks_its_key_on_the_connection_it_writes_with(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One connection a write, not one for the key and another for the write: each costs a reset and a
    # task of asyncpg's when given back (bench/README.md). The audit's sealer takes its own, apart.
    from service.db import Turns
    from tests.helpers import bearer, claim_body, fresh_app, hop, inline, issue_key

    async with fresh_app(database_url) as app:
        secret = await issue_key(app.state.pool, "desk", "write")
        taken = 0
        take = Turns.take

        async def counted(self: Turns, deadline: float) -> None:
            nonlocal taken
            taken += 1
            await take(self, deadline)

        monkeypatch.setattr(Turns, "take", counted)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        async with client:
            answer = await client.post("/claims", json=claim_body("Once.", hop(inline("Ann"))), headers=bearer(secret))
            assert answer.status_code == 201
            assert taken == 1
            refused = await client.post(
                "/claims", json=claim_body("No.", hop(inline("Ann"))), headers=bearer("pk_" + "x" * 40)
            )
            assert refused.status_code == 401
            assert app.state.pool.turns.free == app.state.pool.get_max_size()
