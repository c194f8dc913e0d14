"""Sources, their aliases and affiliations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

# One lock per name key, taken in the order of the lock ids: two transactions locking some of the
# same keys queue behind each other instead of each holding a key the other waits for. (A subquery
# with ORDER BY is not flattened, so its rows reach the outer SELECT, and its calls, in that order.)
LOCK_NAME_KEYS = """
SELECT pg_advisory_xact_lock(lock_id)
  FROM (SELECT DISTINCT hashtextextended('source:' || key, 0) AS lock_id
          FROM unnest($1::text[]) AS key
         ORDER BY lock_id) AS locks
"""

# Resolving an inline source that matches nothing takes this lock shared; a bulk import's batch
# takes it exclusively while it matches and creates sources in memory (service.imports.resolve), so
# that no request creates a source under a name key the batch has found free, nor the batch one a
# request has.
LOCK_SOURCE_CREATION = "SELECT pg_advisory_xact_lock(hashtextextended('source-creation', 0))"
LOCK_SOURCE_CREATION_SHARED = "SELECT pg_advisory_xact_lock_shared(hashtextextended('source-creation', 0))"

# Unmerged sources whose name or an alias folds to one of the keys, each with the key it matched
# (a source matching a key by its name and an alias too is there once for it), oldest first.
MATCHING_NAME_KEYS = """
SELECT m.key, s.id, s.name, s.kind
  FROM (SELECT name_key AS key, id FROM sources WHERE name_key = ANY ($1::text[])
        UNION
        SELECT alias_key, source_id FROM source_aliases WHERE alias_key = ANY ($1::text[])) AS m
  JOIN sources s ON s.id = m.id
 WHERE s.merged_into IS NULL
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
 WHERE d.merged_into IS NULL
   AND ($1::text IS NULL OR d.kind = $1)
   AND ($2::bigint IS NULL OR d.seq < $2)
   AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM affiliations f WHERE f.source_id = d.id AND f.organization_id = $4))
 ORDER BY d.seq DESC
 LIMIT $3
"""

NAMES_OF = """
SELECT name FROM sources WHERE id = $1
UNION ALL
SELECT alias FROM source_aliases WHERE source_id = $1
"""

DELETE_NAME_TOKENS = "DELETE FROM source_name_tokens WHERE source_id = $1"

INSERT_NAME_TOKENS = """
INSERT INTO source_name_tokens (source_id, token)
SELECT $1, token FROM unnest($2::text[]) AS token
ON CONFLICT DO NOTHING
"""

INSERT_TOKEN_DELETES = """
INSERT INTO token_deletes (delete_key, token)
SELECT delete_key, token FROM unnest($1::text[], $2::text[]) AS d(delete_key, token)
ON CONFLICT DO NOTHING
"""

# Sources a query may mean: an exact name or alias key, or a word whose skeleton shares a
# one-letter deletion with a word of the query. Most shared words first; merged sources never.
FIND_CANDIDATES = """
WITH hits AS (
    SELECT t.source_id, count(DISTINCT t.token) AS words
      FROM source_name_tokens t
     WHERE t.token IN (SELECT d.token FROM token_deletes d WHERE d.delete_key = ANY ($2::text[]))
     GROUP BY t.source_id
    UNION ALL
    SELECT id, 1000 FROM sources WHERE name_key = $1
    UNION ALL
    SELECT source_id, 1000 FROM source_aliases WHERE alias_key = $1
)
SELECT h.source_id
  FROM hits h JOIN sources s ON s.id = h.source_id
 WHERE s.merged_into IS NULL
   AND ($3::text IS NULL OR s.kind = $3)
   AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM affiliations f WHERE f.source_id = s.id AND f.organization_id = $4))
 GROUP BY h.source_id
 ORDER BY max(h.words) DESC
 LIMIT $5
"""


async def lock_name_keys(conn: asyncpg.Connection, keys: Sequence[str]) -> None:
    """Serialize, until commit, every transaction that resolves or creates a source under one of ``keys``."""
    await conn.execute(LOCK_NAME_KEYS, list(keys))


async def lock_source_creation(conn: asyncpg.Connection, *, shared: bool) -> None:
    """Until commit, keep bulk batches (``shared=False``) apart from each other and from inline sources resolved."""
    await conn.execute(LOCK_SOURCE_CREATION_SHARED if shared else LOCK_SOURCE_CREATION)


async def matching(conn: asyncpg.Connection, key: str) -> list[asyncpg.Record]:
    """Sources whose name or one of whose aliases folds to ``key``, oldest first."""
    return (await matching_keys(conn, [key]))[key]


async def matching_keys(conn: asyncpg.Connection, keys: Sequence[str]) -> dict[str, list[asyncpg.Record]]:
    """For each of ``keys``, the sources whose name or one of whose aliases folds to it, oldest first."""
    found: dict[str, list[asyncpg.Record]] = {key: [] for key in keys}
    if not keys:
        return found
    for record in await conn.fetch(MATCHING_NAME_KEYS, list(keys)):
        found[record["key"]].append(record)
    return found


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


async def names_of(conn: asyncpg.Connection, source_id: UUID) -> list[str]:
    """The name and every alias of a source."""
    return [r["name"] for r in await conn.fetch(NAMES_OF, source_id)]


async def replace_name_tokens(
    conn: asyncpg.Connection, source_id: UUID, tokens: Sequence[str], token_deletes: Sequence[tuple[str, str]]
) -> None:
    """Index a source under exactly ``tokens``; ``token_deletes`` are ``(delete_key, token)`` pairs."""
    await conn.execute(DELETE_NAME_TOKENS, source_id)
    await conn.execute(INSERT_NAME_TOKENS, source_id, list(tokens))
    await conn.execute(INSERT_TOKEN_DELETES, [k for k, _ in token_deletes], [t for _, t in token_deletes])


async def candidates(
    conn: asyncpg.Connection,
    *,
    key: str,
    delete_keys: Sequence[str],
    kind: str | None,
    member_of: UUID | None,
    limit: int,
) -> list[UUID]:
    """Ids of the unmerged sources a query may mean, the likeliest first."""
    rows = await conn.fetch(FIND_CANDIDATES, key, list(delete_keys), kind, member_of, limit)
    return [r["source_id"] for r in rows]


def as_dict(record: asyncpg.Record) -> dict[str, Any]:
    """A record as a plain dict, for conversion into a Struct."""
    return dict(record.items())


# --- edits and merges ----------------------------------------------------------------------------

LOCK_SOURCES = """
SELECT id, kind, name, name_key, description, version, merged_into, identifiers
  FROM sources WHERE id = ANY ($1::uuid[]) ORDER BY id FOR UPDATE
"""

SURVIVOR = """
WITH RECURSIVE chain (id, merged_into, depth) AS (
    SELECT id, merged_into, 0 FROM sources WHERE id = $1
    UNION ALL
    SELECT s.id, s.merged_into, c.depth + 1 FROM chain c JOIN sources s ON s.id = c.merged_into WHERE c.depth < 64
)
SELECT s.id, s.name, s.kind FROM chain c JOIN sources s ON s.id = c.id WHERE c.merged_into IS NULL
"""

WIKIDATA_TAKEN = "SELECT EXISTS (SELECT FROM sources WHERE identifiers ->> 'wikidata' = $1)"

UPDATE_SOURCE = """
UPDATE sources
   SET name = $2, name_key = $3, description = $4, identifiers = $5, version = version + 1
 WHERE id = $1
RETURNING version
"""

DELETE_ALIASES = "DELETE FROM source_aliases WHERE source_id = $1"

DELETE_AFFILIATIONS = "DELETE FROM affiliations WHERE source_id = $1"

# A merge moves everything that named the duplicate to the survivor; rows the survivor already has
# (the same alias, the same affiliation) or that would make it its own member are dropped first.
MERGE_STATEMENTS = [
    """
    INSERT INTO source_aliases (source_id, alias, alias_key)
    SELECT $2::uuid, name, name_key FROM sources WHERE id = $1::uuid
    UNION ALL
    SELECT $2::uuid, alias, alias_key FROM source_aliases WHERE source_id = $1::uuid
    ON CONFLICT DO NOTHING
    """,
    """
    DELETE FROM source_aliases a USING sources s
     WHERE a.source_id = $2 AND s.id = $2 AND a.alias_key = s.name_key AND s.id <> $1
    """,
    """
    DELETE FROM affiliations f
     WHERE (f.source_id = $1 AND f.organization_id = $2)
        OR (f.organization_id = $1 AND f.source_id = $2)
        OR (f.source_id = $1 AND EXISTS (
                SELECT 1 FROM affiliations g
                 WHERE g.source_id = $2 AND g.organization_id = f.organization_id
                   AND g.role IS NOT DISTINCT FROM f.role AND g.since IS NOT DISTINCT FROM f.since))
        OR (f.organization_id = $1 AND EXISTS (
                SELECT 1 FROM affiliations g
                 WHERE g.organization_id = $2 AND g.source_id = f.source_id
                   AND g.role IS NOT DISTINCT FROM f.role AND g.since IS NOT DISTINCT FROM f.since))
    """,
    "UPDATE affiliations SET source_id = $2 WHERE source_id = $1",
    "UPDATE affiliations SET organization_id = $2 WHERE organization_id = $1",
    "UPDATE hops SET source_id = $2 WHERE source_id = $1",
    "UPDATE claim_reviews SET reviewer_source_id = $2 WHERE reviewer_source_id = $1",
    "UPDATE claims SET origin_source_id = $2 WHERE origin_source_id = $1",
    """
    UPDATE claims
       SET relay_source_ids = ARRAY(SELECT DISTINCT unnest(array_replace(relay_source_ids, $1, $2)))
     WHERE relay_source_ids @> ARRAY[$1::uuid]
    """,
    "UPDATE sources SET merged_into = $2 WHERE merged_into = $1",
]

# The Wikidata identifier is unique, so the duplicate gives its identifiers up before the
# survivor takes those it lacks.
MARK_MERGED = """
UPDATE sources SET merged_into = $2, identifiers = '{}', version = version + 1 WHERE id = $1
"""

TAKE_IDENTIFIERS = "UPDATE sources SET identifiers = $2::jsonb || identifiers, version = version + 1 WHERE id = $1"


async def lock(conn: asyncpg.Connection, ids: Sequence[UUID]) -> dict[UUID, asyncpg.Record]:
    """Lock sources for update (in id order, so concurrent merges cannot deadlock) and read them."""
    return {r["id"]: r for r in await conn.fetch(LOCK_SOURCES, list(ids))}


async def survivor(conn: asyncpg.Connection, source_id: UUID) -> UUID | None:
    """The unmerged source that ``source_id`` is, or was merged into; ``None`` if it is unknown."""
    found: UUID | None = await conn.fetchval(SURVIVOR, source_id)
    return found


async def survivor_summary(conn: asyncpg.Connection, source_id: UUID) -> asyncpg.Record | None:
    """The survivor of ``source_id`` (see ``survivor``) with its name and kind."""
    return await conn.fetchrow(SURVIVOR, source_id)


async def wikidata_taken(conn: asyncpg.Connection, wikidata: str) -> bool:
    """Whether a source has this Wikidata identifier (by the unique index on it)."""
    taken: bool = await conn.fetchval(WIKIDATA_TAKEN, wikidata)
    return taken


async def update(
    conn: asyncpg.Connection,
    source_id: UUID,
    *,
    name: str,
    name_key: str,
    description: str | None,
    identifiers: dict[str, str],
) -> int:
    """Rewrite a source's own fields and bump its version; returns the new version."""
    version: int = await conn.fetchval(UPDATE_SOURCE, source_id, name, name_key, description, identifiers)
    return version


async def delete_aliases(conn: asyncpg.Connection, source_id: UUID) -> None:
    """Drop every alias of a source (before writing its new list)."""
    await conn.execute(DELETE_ALIASES, source_id)


async def delete_affiliations(conn: asyncpg.Connection, source_id: UUID) -> None:
    """Drop every affiliation of a source (before writing its new list)."""
    await conn.execute(DELETE_AFFILIATIONS, source_id)


async def merge(conn: asyncpg.Connection, duplicate: UUID, survivor_id: UUID, identifiers: dict[str, str]) -> None:
    """Move everything naming ``duplicate`` (whose ``identifiers`` are given) to ``survivor_id``."""
    await conn.execute(MARK_MERGED, duplicate, survivor_id)
    await conn.execute(TAKE_IDENTIFIERS, survivor_id, identifiers)
    for statement in MERGE_STATEMENTS:
        await conn.execute(statement, duplicate, survivor_id)
    await conn.execute(DELETE_ALIASES, duplicate)
    await conn.execute(DELETE_NAME_TOKENS, duplicate)
