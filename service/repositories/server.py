"""What the PostgreSQL server runs with."""

from __future__ import annotations

import asyncpg

# Both as this session sees them: a database or a role may set synchronous_commit apart from the server.
DURABILITY = "SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS synchronous_commit"


async def durability(conn: asyncpg.Connection) -> dict[str, str]:
    """``fsync`` and ``synchronous_commit``, by name."""
    record = await conn.fetchrow(DURABILITY)
    return dict(record.items())


# Where the schema stands, and how long the oldest audit entry has waited to be sealed (seconds; NULL
# when none waits): what readiness needs, in one round trip.
STATE = """
SELECT (SELECT version_num FROM alembic_version LIMIT 1) AS revision,
       (SELECT extract(epoch FROM now() - min(at)) FROM audit_pending)::float8 AS oldest_pending
"""


async def state(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The schema's revision and the age of the oldest entry waiting to be sealed; None without a schema."""
    try:
        return await conn.fetchrow(STATE)
    except asyncpg.UndefinedTableError:
        return None
