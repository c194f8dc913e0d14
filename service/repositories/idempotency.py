"""Idempotency keys: the lock of one key, its stored answer, storing an answer, and purging expired ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg

# Held until the write's transaction ends; taken without waiting, so a retry that meets a running
# first request answers 409 at once. Seeded by the API key so that ("a:b", "c") and ("a", "b:c")
# are two locks.
TRY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended($2, hashtextextended('idempotency-key:' || $1, 0)))"

# An equality on the primary key; a row older than the retention is as good as gone.
FIND = """
SELECT fingerprint, status, headers, media_type, body
  FROM idempotency_keys
 WHERE api_key = $1 AND key = $2 AND created_at > now() - $3::interval
"""

# A row already there is an expired one (a live one would have been replayed): the key starts afresh.
INSERT = """
INSERT INTO idempotency_keys AS k (api_key, key, fingerprint, status, headers, media_type, body)
VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (api_key, key) DO UPDATE
   SET fingerprint = excluded.fingerprint, status = excluded.status, headers = excluded.headers,
       media_type = excluded.media_type, body = excluded.body, created_at = excluded.created_at
"""

# Oldest first on idempotency_keys_created_at_idx, a batch at a time; rows another purge holds are
# skipped, so a purge never waits.
PURGE = """
DELETE FROM idempotency_keys AS k
 USING (SELECT api_key, key
          FROM idempotency_keys
         WHERE created_at <= now() - $1::interval
         ORDER BY created_at
         LIMIT $2
           FOR UPDATE SKIP LOCKED) AS expired
 WHERE (k.api_key, k.key) = (expired.api_key, expired.key)
"""


async def try_lock(conn: asyncpg.Connection, api_key: str, key: str) -> bool:
    """Take the lock of one key until the transaction ends, unless another transaction holds it."""
    held: bool = await conn.fetchval(TRY_LOCK, api_key, key)
    return held


async def find(conn: asyncpg.Connection, api_key: str, key: str, retention: timedelta) -> asyncpg.Record | None:
    """The stored answer to a key, unless it is older than ``retention``."""
    record: asyncpg.Record | None = await conn.fetchrow(FIND, api_key, key, retention)
    return record


async def insert(
    conn: asyncpg.Connection,
    api_key: str,
    key: str,
    *,
    fingerprint: bytes,
    status: int,
    headers: dict[str, Any],
    media_type: str,
    body: bytes,
) -> None:
    """Store the answer to a key (replacing an expired one)."""
    await conn.execute(INSERT, api_key, key, fingerprint, status, headers, media_type, body)


async def purge(conn: asyncpg.Connection, retention: timedelta, batch: int) -> int:
    """Delete up to ``batch`` answers older than ``retention``; how many went."""
    result: str = await conn.execute(PURGE, retention, batch)
    return int(result.rsplit(" ", 1)[1])
