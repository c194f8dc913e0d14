"""How statements spread: a claim's same_as group, and which sources stand next to which in chains."""

from __future__ import annotations

from uuid import UUID

import asyncpg

# The claim and every claim reachable from it over same_as relations. claim_links lists each
# relation from both of its claims, so one direction of the walk suffices; UNION (not UNION ALL)
# drops claims already reached, so cycles end, and the LIMIT stops the walk once enough claims are
# found (PostgreSQL evaluates a recursive WITH only as far as its reader fetches). The claim itself
# comes first, the others in stored order. Nothing when the claim is not stored.
SAME_AS_GROUP = """
WITH RECURSIVE grp (id, seq) AS (
    SELECT id, seq FROM claims WHERE id = $1
    UNION
    SELECT c.id, c.seq
      FROM grp g
      JOIN claim_links l ON l.subject_id = g.id AND l.type = 'same_as'
      JOIN claims c ON c.id = l.other_id
)
SELECT id FROM (SELECT id, seq FROM grp LIMIT $2) AS g
 ORDER BY id = $1 DESC, seq
"""

# Whom a source cites: the source at the next position after it in a claim's own chain. Its hops
# come from hops_source_idx, the hop after each from hops_pkey. `total` counts the cited sources
# before the LIMIT.
CITES = """
SELECT s.id, s.name, s.kind, count(DISTINCT h.claim_id) AS claims, count(*) OVER () AS total
  FROM hops h
  JOIN hops cited ON cited.claim_id = h.claim_id AND cited.position = h.position + 1
  JOIN sources s ON s.id = cited.source_id
 WHERE h.source_id = $1 AND cited.source_id <> $1
 GROUP BY s.id
 ORDER BY claims DESC, s.name, s.id
 LIMIT $2
"""

# Who cites a source: the source at the position before it, the same way round.
CITED_BY = """
SELECT s.id, s.name, s.kind, count(DISTINCT h.claim_id) AS claims, count(*) OVER () AS total
  FROM hops h
  JOIN hops citing ON citing.claim_id = h.claim_id AND citing.position = h.position - 1
  JOIN sources s ON s.id = citing.source_id
 WHERE h.source_id = $1 AND citing.source_id <> $1
 GROUP BY s.id
 ORDER BY claims DESC, s.name, s.id
 LIMIT $2
"""


async def same_as_group(conn: asyncpg.Connection, claim_id: UUID, limit: int) -> list[UUID]:
    """Ids of at most ``limit`` claims of the same_as group of a claim, itself first; empty if unknown."""
    return [r["id"] for r in await conn.fetch(SAME_AS_GROUP, claim_id, limit)]


async def cites(conn: asyncpg.Connection, source_id: UUID, limit: int) -> list[asyncpg.Record]:
    """``id, name, kind, claims, total`` of the sources a source cites, most claims first."""
    return list(await conn.fetch(CITES, source_id, limit))


async def cited_by(conn: asyncpg.Connection, source_id: UUID, limit: int) -> list[asyncpg.Record]:
    """``id, name, kind, claims, total`` of the sources citing a source, most claims first."""
    return list(await conn.fetch(CITED_BY, source_id, limit))
