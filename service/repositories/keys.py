"""API keys: stored by the hash of their secret, found by it, listed and revoked by name."""

from __future__ import annotations

import asyncpg

INSERT_KEY = """
INSERT INTO api_keys (name, scope, secret_hash)
VALUES ($1, $2, $3)
RETURNING id, name, scope, created_at, revoked_at
"""

# Runs on every request that sends a key: an equality on api_keys_secret_hash_key, the unique index.
ACTIVE_BY_HASH = """
SELECT name, scope, created_at, revoked_at
  FROM api_keys
 WHERE secret_hash = $1 AND revoked_at IS NULL
"""

ALL_KEYS = """
SELECT name, scope, created_at, revoked_at
  FROM api_keys
 ORDER BY created_at, name
"""

# Revoking a revoked key keeps its first revocation time.
REVOKE = """
UPDATE api_keys
   SET revoked_at = coalesce(revoked_at, now())
 WHERE name = $1
RETURNING id, name, scope, created_at, revoked_at
"""


async def insert(conn: asyncpg.Connection, name: str, scope: str, secret_hash: str) -> asyncpg.Record:
    """Store a key; ``api_keys_name_key`` is violated when the name is taken."""
    record: asyncpg.Record = await conn.fetchrow(INSERT_KEY, name, scope, secret_hash)
    return record


async def active_by_hash(conn: asyncpg.Connection, secret_hash: str) -> asyncpg.Record | None:
    """The unrevoked key whose secret has this hash, if any."""
    record: asyncpg.Record | None = await conn.fetchrow(ACTIVE_BY_HASH, secret_hash)
    return record


async def every(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every key, revoked ones too, oldest first."""
    return list(await conn.fetch(ALL_KEYS))


async def revoke(conn: asyncpg.Connection, name: str) -> asyncpg.Record | None:
    """Mark the key of this name revoked; None when no key has it."""
    record: asyncpg.Record | None = await conn.fetchrow(REVOKE, name)
    return record
