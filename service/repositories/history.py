"""The history of claims: locking a claim to change it, edits, retraction, and revisions."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from service.repositories.claims import ClaimRow

LOCK_CLAIM = """
SELECT id, version, status, origin_source_id, relay_source_ids FROM claims WHERE id = $1 FOR UPDATE
"""

UPDATE_CLAIM = """
UPDATE claims
   SET text = $2, kind = $3, language = $4, url = $5, title = $6, author = $7, outlet = $8,
       published_at = $9, stated_at = $10, origin_source_id = $11, relay_source_ids = $12,
       search_text = $13, version = version + 1
 WHERE id = $1
RETURNING version
"""

DELETE_HOPS = "DELETE FROM hops WHERE claim_id = $1"

# Whether $1 lies on the upstream path of $2 ($2 itself included): linking $2 upstream of $1 would
# then make the path loop. Each claim links at most one upstream claim, so this walks one line.
ON_UPSTREAM_PATH = """
WITH RECURSIVE up (id, depth) AS (
    SELECT $2::uuid, 0
    UNION ALL
    SELECT h.upstream_claim_id, u.depth + 1
      FROM up u JOIN hops h ON h.claim_id = u.id AND h.upstream_claim_id IS NOT NULL
     WHERE u.depth < 1000
)
SELECT EXISTS (SELECT 1 FROM up WHERE id = $1)
"""

LINKED_BY = "SELECT claim_id FROM hops WHERE upstream_claim_id = $1 ORDER BY claim_id"

# A claim's origin is its upstream claim's origin, and its relays its own hops but the last followed
# by the upstream claim's relays (first seen first). Every claim downstream of $1 takes them anew,
# level by level from $1's stored ones; each claim links one upstream claim, so levels are a tree.
PROPAGATE_ORIGIN = """
WITH RECURSIVE downstream (id, origin_source_id, relay_source_ids, depth) AS (
    SELECT c.id, c.origin_source_id, c.relay_source_ids, 0 FROM claims c WHERE c.id = $1
    UNION ALL
    SELECT h.claim_id, d.origin_source_id,
           ARRAY(SELECT r.source_id
                   FROM unnest(ARRAY(SELECT p.source_id FROM hops p
                                      WHERE p.claim_id = h.claim_id AND p.position < h.position
                                      ORDER BY p.position) || d.relay_source_ids)
                        WITH ORDINALITY AS r(source_id, n)
                  GROUP BY r.source_id
                  ORDER BY min(r.n)),
           d.depth + 1
      FROM downstream d JOIN hops h ON h.upstream_claim_id = d.id
     WHERE d.depth < 1000
)
UPDATE claims c
   SET origin_source_id = d.origin_source_id, relay_source_ids = d.relay_source_ids
  FROM downstream d
 WHERE c.id = d.id AND d.depth > 0
   AND (c.origin_source_id, c.relay_source_ids) IS DISTINCT FROM (d.origin_source_id, d.relay_source_ids)
"""

RETRACT = """
UPDATE claims
   SET status = 'retracted', retraction_reason = $2, retracted_at = now(), version = version + 1
 WHERE id = $1
RETURNING version
"""

# A change of a claim is recorded in one statement as its revision, holding the change as
# service.domain.audit encodes it ($4, kept byte for byte in a json column), and as its pending audit
# entry, which names that revision instead of repeating its bytes (migration 0014).
INSERT_REVISION = """
WITH revision AS (
    INSERT INTO claim_revisions (claim_id, number, action, changes, actor)
    VALUES ($1, $2, $3, $4, $5)
)
INSERT INTO audit_pending (actor, action, entity_type, entity_id, revision)
VALUES ($5, $3, 'claim', $1, $2)
"""

REVISIONS = """
SELECT number, action, changes, actor, created_at
  FROM claim_revisions
 WHERE claim_id = $1
 ORDER BY number
"""


async def lock(conn: asyncpg.Connection, claim_id: UUID) -> asyncpg.Record | None:
    """Lock a claim for update until commit; its version, status, origin and relays, or ``None`` if unknown."""
    return await conn.fetchrow(LOCK_CLAIM, claim_id)


async def update(conn: asyncpg.Connection, claim_id: UUID, row: ClaimRow) -> int:
    """Rewrite a claim's own fields and bump its version; returns the new version."""
    version: int = await conn.fetchval(UPDATE_CLAIM, claim_id, *row)
    return version


async def delete_hops(conn: asyncpg.Connection, claim_id: UUID) -> None:
    """Drop a claim's hops (before writing its new chain; the old one lives on in its revisions)."""
    await conn.execute(DELETE_HOPS, claim_id)


async def on_upstream_path(conn: asyncpg.Connection, claim_id: UUID, upstream_claim_id: UUID) -> bool:
    """Whether ``claim_id`` is ``upstream_claim_id`` or lies on its upstream path."""
    return bool(await conn.fetchval(ON_UPSTREAM_PATH, claim_id, upstream_claim_id))


async def linked_by(conn: asyncpg.Connection, claim_id: UUID) -> list[UUID]:
    """The claims whose last hop links ``claim_id`` as their upstream claim."""
    return [r["claim_id"] for r in await conn.fetch(LINKED_BY, claim_id)]


async def propagate_origin(conn: asyncpg.Connection, claim_id: UUID) -> None:
    """Recompute the origin and relays of every claim downstream of ``claim_id`` from its stored ones."""
    await conn.execute(PROPAGATE_ORIGIN, claim_id)


async def retract(conn: asyncpg.Connection, claim_id: UUID, reason: str) -> int:
    """Mark a claim retracted now, for ``reason``, and bump its version; returns the new version."""
    version: int = await conn.fetchval(RETRACT, claim_id, reason)
    return version


async def insert_revision(
    conn: asyncpg.Connection,
    claim_id: UUID,
    *,
    number: int,
    action: str,
    change: bytes,
    actor: str | None,
) -> None:
    """Record one change of a claim, ``change`` its canonical bytes, and its audit entry naming it."""
    await conn.execute(INSERT_REVISION, claim_id, number, action, msgspec.Raw(change), actor)


async def revisions(conn: asyncpg.Connection, claim_id: UUID) -> list[asyncpg.Record]:
    """Every revision of a claim, oldest first."""
    return list(await conn.fetch(REVISIONS, claim_id))
