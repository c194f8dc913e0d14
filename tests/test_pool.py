"""The pool hands out connections in a clean state: no transaction carried from one request to the next."""

from __future__ import annotations

from service.db import create_pool
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
