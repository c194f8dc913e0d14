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
