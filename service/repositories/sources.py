"""Sources, their aliases and affiliations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

LOCK_NAME_KEY = "SELECT pg_advisory_xact_lock(hashtextextended('source:' || $1, 0))"

MATCHING_NAME_KEY = """
SELECT s.id, s.name, s.kind
  FROM sources s
 WHERE s.id IN (SELECT id FROM sources WHERE name_key = $1
                UNION
                SELECT source_id FROM source_aliases WHERE alias_key = $1)
 ORDER BY s.seq
"""

INSERT_SOURCE = """
INSERT INTO sources (id, kind, name, name_key, description, identifiers)
VALUES (coalesce($1, gen_random_uuid()), $2, $3, $4, $5, $6)
RETURNING id
"""

INSERT_ALIASES = """
INSERT INTO source_aliases (source_id, alias, alias_key)
SELECT $1, alias, alias_key FROM unnest($2::text[], $3::text[]) AS t(alias, alias_key)
ON CONFLICT DO NOTHING
"""

INSERT_AFFILIATION = """
INSERT INTO affiliations (source_id, organization_id, role, since, until)
VALUES ($1, $2, $3, $4, $5)
"""

SOURCE_SUMMARY = "SELECT id, name, kind FROM sources WHERE id = $1"

SOURCE_DOCUMENTS = """
SELECT d.* FROM source_documents d JOIN unnest($1::uuid[]) WITH ORDINALITY AS k(id, n) ON k.id = d.id
 ORDER BY k.n
"""

LIST_SOURCES = """
SELECT d.*, NULL::float8 AS score
  FROM source_documents d
 WHERE ($1::text IS NULL OR d.kind = $1)
   AND ($2::bigint IS NULL OR d.seq < $2)
   AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM affiliations f WHERE f.source_id = d.id AND f.organization_id = $4))
 ORDER BY d.seq DESC
 LIMIT $3
"""

# Without pg_trgm, names are ranked on their folded keys: an exact key first, then a key that
# starts with the query, then one that contains it, then shared words.
SEARCH_SOURCES = """
WITH names AS (
    SELECT s.id AS source_id, s.name_key AS key
      FROM sources s WHERE $2::text IS NULL OR s.kind = $2
    UNION ALL
    SELECT a.source_id, a.alias_key
      FROM source_aliases a JOIN sources s ON s.id = a.source_id
     WHERE $2::text IS NULL OR s.kind = $2
), scored AS (
    SELECT source_id,
           max(CASE
                 WHEN key = $1 THEN 1.0::float8
                 WHEN starts_with(key, $1) THEN 0.6 + 0.3 * length($1)::float8 / length(key)
                 WHEN strpos(key, $1) > 0 THEN 0.4 + 0.3 * length($1)::float8 / length(key)
                 ELSE 0.5 * (SELECT count(*) FROM unnest(string_to_array($1, ' ')) AS w
                              WHERE w = ANY (string_to_array(key, ' ')))::float8
                          / greatest(cardinality(string_to_array($1, ' ')),
                                     cardinality(string_to_array(key, ' ')))
               END) AS score
      FROM names GROUP BY source_id
)
SELECT d.*, round(sc.score::numeric, 6)::float8 AS score
  FROM scored sc JOIN source_documents d ON d.id = sc.source_id
 WHERE sc.score > 0
   AND ($3::float8 IS NULL OR (round(sc.score::numeric, 6)::float8, d.seq) < ($3, $4::bigint))
   AND ($6::uuid IS NULL OR EXISTS (SELECT 1 FROM affiliations f WHERE f.source_id = d.id AND f.organization_id = $6))
 ORDER BY score DESC, d.seq DESC
 LIMIT $5
"""


async def lock_name_key(conn: asyncpg.Connection, key: str) -> None:
    """Serialize, until commit, every transaction that resolves or creates a source under ``key``."""
    await conn.execute(LOCK_NAME_KEY, key)


async def matching(conn: asyncpg.Connection, key: str) -> list[asyncpg.Record]:
    """Sources whose name or one of whose aliases folds to ``key``."""
    return list(await conn.fetch(MATCHING_NAME_KEY, key))


async def insert(
    conn: asyncpg.Connection,
    *,
    kind: str,
    name: str,
    name_key: str,
    description: str | None,
    identifiers: dict[str, str],
    id: UUID | None = None,
) -> UUID:
    """Store a source; returns its id."""
    source_id: UUID = await conn.fetchval(INSERT_SOURCE, id, kind, name, name_key, description, identifiers)
    return source_id


async def insert_aliases(conn: asyncpg.Connection, source_id: UUID, aliases: Sequence[tuple[str, str]]) -> None:
    """Store ``(alias, alias_key)`` pairs; a key the source already has is skipped."""
    if aliases:
        await conn.execute(INSERT_ALIASES, source_id, [a for a, _ in aliases], [k for _, k in aliases])


async def insert_affiliation(
    conn: asyncpg.Connection,
    source_id: UUID,
    organization_id: UUID,
    role: str | None,
    since: date | None,
    until: date | None,
) -> None:
    """Store one membership."""
    await conn.execute(INSERT_AFFILIATION, source_id, organization_id, role, since, until)


async def summary(conn: asyncpg.Connection, source_id: UUID) -> asyncpg.Record | None:
    """``id, name, kind`` of one source."""
    return await conn.fetchrow(SOURCE_SUMMARY, source_id)


async def documents(conn: asyncpg.Connection, ids: Sequence[UUID]) -> list[asyncpg.Record]:
    """Whole sources, with aliases and affiliations, in the order of ``ids``."""
    return list(await conn.fetch(SOURCE_DOCUMENTS, list(ids)))


async def page(
    conn: asyncpg.Connection, *, kind: str | None, member_of: UUID | None, before_seq: int | None, limit: int
) -> list[asyncpg.Record]:
    """Newest sources first, keyset-paginated on ``seq``."""
    return list(await conn.fetch(LIST_SOURCES, kind, before_seq, limit, member_of))


async def search(
    conn: asyncpg.Connection,
    *,
    key: str,
    kind: str | None,
    member_of: UUID | None,
    after: tuple[float, int] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Sources matching the folded ``key``, best first, keyset-paginated on ``(score, seq)``."""
    score, seq = after if after else (None, None)
    return list(await conn.fetch(SEARCH_SOURCES, key, kind, score, seq, limit, member_of))


def as_dict(record: asyncpg.Record) -> dict[str, Any]:
    """A record as a plain dict, for conversion into a Struct."""
    return dict(record.items())
