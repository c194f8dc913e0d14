"""The audit log: taking the appenders' lock, reading the head, appending, paging and streaming entries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

# One lock for every appender, held until its transaction ends: appends happen one at a time, in
# commit order, so each reads the head the previous one left.
LOCK_APPENDERS = "SELECT pg_advisory_xact_lock(hashtextextended('audit-log', 0))"

# The last entry (none in an empty log) and the time, read under the appenders' lock so that times
# follow the order of seq. An index-only look at the end of the primary key.
HEAD_AND_NOW = """
SELECT last.seq, last.hash, clock_timestamp() AS now
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS last ON true
"""

INSERT_ENTRY = """
INSERT INTO audit_log (seq, actor, at, action, entity_type, entity_id, body, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""

HEAD = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"

# Oldest first after a seq, on the primary key. Two queries rather than one with "$2 IS NULL OR",
# whose generic plan would walk the whole log for one entity.
PAGE = "SELECT seq, body, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"

# The same for one entity, on audit_log_entity_idx (entity_id, seq).
PAGE_OF_ENTITY = """
SELECT seq, body, prev_hash, hash FROM audit_log WHERE entity_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
"""

EVERY_ENTRY = """
SELECT seq, actor, at, action, entity_type, entity_id, body, prev_hash, hash FROM audit_log ORDER BY seq
"""


async def lock_appenders(conn: asyncpg.Connection) -> None:
    """Wait for, then hold until commit, the one lock every appender takes."""
    await conn.execute(LOCK_APPENDERS)


async def head_and_now(conn: asyncpg.Connection) -> tuple[int, bytes | None, datetime]:
    """The last entry's seq (0 in an empty log) and hash, and the database's clock."""
    record = await conn.fetchrow(HEAD_AND_NOW)
    return record["seq"] or 0, record["hash"], record["now"]


async def insert(
    conn: asyncpg.Connection,
    *,
    seq: int,
    actor: str | None,
    at: datetime,
    action: str,
    entity_type: str,
    entity_id: UUID,
    body: bytes,
    prev_hash: bytes | None,
    hash: bytes,
) -> None:
    """Store one entry as hashed."""
    await conn.execute(INSERT_ENTRY, seq, actor, at, action, entity_type, entity_id, body, prev_hash, hash)


AUDIT_COLUMNS = ["seq", "actor", "at", "action", "entity_type", "entity_id", "body", "prev_hash", "hash"]


async def insert_many(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Store entries as hashed, each a tuple of ``AUDIT_COLUMNS``, with one COPY."""
    if rows:
        await conn.copy_records_to_table("audit_log", columns=AUDIT_COLUMNS, records=rows)


async def head(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The last entry's seq and hash; None in an empty log."""
    record: asyncpg.Record | None = await conn.fetchrow(HEAD)
    return record


async def page(conn: asyncpg.Connection, *, entity_id: UUID | None, after_seq: int, limit: int) -> list[asyncpg.Record]:
    """Up to ``limit`` entries after ``after_seq``, oldest first, of one entity when given."""
    if entity_id is None:
        return list(await conn.fetch(PAGE, after_seq, limit))
    return list(await conn.fetch(PAGE_OF_ENTITY, entity_id, after_seq, limit))


async def every_entry(conn: asyncpg.Connection, batch: int = 1000) -> AsyncIterator[asyncpg.Record]:
    """Every entry in seq order through a server-side cursor, ``batch`` rows at a time (needs a transaction)."""
    async for record in conn.cursor(EVERY_ENTRY, prefetch=batch):
        yield record
