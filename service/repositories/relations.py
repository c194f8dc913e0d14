"""Relations between claims."""

from __future__ import annotations

from uuid import UUID

import asyncpg

INSERT_RELATION = """
INSERT INTO claim_relations (claim_id, target_id, type, note, asserted_by)
VALUES ($1, $2, $3, $4, $5)
RETURNING id
"""

INSERT_RELATION_IF_ABSENT = """
INSERT INTO claim_relations (claim_id, target_id, type, note, asserted_by)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT ON CONSTRAINT claim_relations_unique DO NOTHING
RETURNING id
"""

# Every relation of one claim, seen from it: the other claim in brief, with its traced origin.
LINKS_OF = """
SELECT l.id, l.type, l.direction, l.note, l.asserted_by, l.created_at,
       json_build_object('id', o.id, 'text', o.text, 'kind', o.kind,
                         'origin', json_build_object('id', s.id, 'name', s.name, 'kind', s.kind)) AS claim
  FROM claim_links l
  JOIN claims o ON o.id = l.other_id
  JOIN sources s ON s.id = o.origin_source_id
 WHERE l.subject_id = $1 AND ($2::uuid IS NULL OR l.id = $2)
 ORDER BY l.seq
"""


async def insert(
    conn: asyncpg.Connection, claim_id: UUID, target_id: UUID, type: str, note: str | None, asserted_by: str | None
) -> UUID:
    """Store one relation as given (symmetric ones already in canonical order)."""
    relation_id: UUID = await conn.fetchval(INSERT_RELATION, claim_id, target_id, type, note, asserted_by)
    return relation_id


async def insert_if_absent(
    conn: asyncpg.Connection, claim_id: UUID, target_id: UUID, type: str, note: str | None, asserted_by: str | None
) -> UUID | None:
    """Store one relation unless it is already stored; its id when it was added."""
    added: UUID | None = await conn.fetchval(INSERT_RELATION_IF_ABSENT, claim_id, target_id, type, note, asserted_by)
    return added


async def links_of(conn: asyncpg.Connection, claim_id: UUID, relation_id: UUID | None = None) -> list[asyncpg.Record]:
    """The relations of a claim seen from it, oldest first; only ``relation_id`` when given."""
    return list(await conn.fetch(LINKS_OF, claim_id, relation_id))
