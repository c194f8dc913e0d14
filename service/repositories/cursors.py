"""Large results read in batches through a cursor declared in SQL, in the caller's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg


async def rows_in_batches(conn: asyncpg.Connection, name: str, query: str, batch: int) -> AsyncIterator[asyncpg.Record]:
    """Every row of ``query`` (a module's constant, without parameters), ``batch`` rows a round trip, through
    the cursor ``name`` of the caller's transaction.

    Declared in SQL rather than by asyncpg's ``Connection.cursor``, so that it holds behind a pooler in
    transaction mode: asyncpg prepares a cursor's query as a named statement even with its statement cache
    off, and closes it only with the connection's next query, which PgBouncer may send to another server
    connection. The name stays on the first one, where a connection of another process (asyncpg numbers
    its statements from 1 in each) fails with "prepared statement "__asyncpg_stmt_1__" already exists".
    A cursor DECLAREd in a transaction ends with it, and DECLARE and FETCH are unnamed statements.
    """
    # Built from constants (an identifier of the caller's, a query of its module, a number), never from input.
    await conn.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {query}")
    fetch = f"FETCH {int(batch)} FROM {name}"
    while rows := await conn.fetch(fetch):
        for row in rows:
            yield row
    await conn.execute(f"CLOSE {name}")
