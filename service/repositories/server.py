"""What the PostgreSQL server runs with."""

from __future__ import annotations

import asyncpg

# Both as this session sees them: a database or a role may set synchronous_commit apart from the server.
DURABILITY = "SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit"


async def durability(conn: asyncpg.Connection) -> dict[str, str]:
    """``fsync`` and ``synchronous_commit``, by name."""
    record = await conn.fetchrow(DURABILITY)
    return dict(record.items())
