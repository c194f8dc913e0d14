"""Tracing and statement search: each one query, one round trip, whatever the depth."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from service.db import retrying
from service.repositories.claims import SUMMARY

# The path of a claim is its own hops followed by its upstream claim's path without that claim's
# first hop (the same source as the linking hop), recursively, at most $2 links deep. For each root
# the query answers the claim itself, the path in order, the affiliations of the origin (the last
# hop of the path), so that the role and on-whose-behalf can be decided without a second trip, and
# the claims related to it. Of the claim's document it reads only what its summary shows (SUMMARY).
TRACE = f"""
WITH RECURSIVE walk (root_id, claim_id, depth) AS (
    SELECT r, r, 0 FROM unnest($1::uuid[]) AS r
    UNION ALL
    SELECT w.root_id, h.upstream_claim_id, w.depth + 1
      FROM walk w JOIN hops h ON h.claim_id = w.claim_id AND h.upstream_claim_id IS NOT NULL
     WHERE w.depth < $2
), path AS (
    SELECT w.root_id, w.depth, h.claim_id, h.position, h.cue, h.role, h.upstream_claim_id,
           h.source_id, s.name AS source_name, s.kind AS source_kind,
           coalesce(c.stated_at, c.published_at, c.created_at) AS said_at
      FROM walk w
      JOIN hops h ON h.claim_id = w.claim_id AND (w.depth = 0 OR h.position > 0)
      JOIN sources s ON s.id = h.source_id
      JOIN claims c ON c.id = h.claim_id
), origin AS (
    SELECT DISTINCT ON (root_id) root_id, source_id, said_at
      FROM path ORDER BY root_id, depth DESC, position DESC
)
SELECT {SUMMARY},
       (SELECT json_agg(json_build_object(
                    'depth', p.depth, 'claim_id', p.claim_id, 'cue', p.cue, 'role', p.role,
                    'upstream_claim_id', p.upstream_claim_id,
                    'source', json_build_object('id', p.source_id, 'name', p.source_name,
                                                'kind', p.source_kind))
                ORDER BY p.depth, p.position)
          FROM path p WHERE p.root_id = d.id) AS path,
       o.said_at AS origin_said_at,
       coalesce((SELECT json_agg(json_build_object(
                    'organization', json_build_object('id', g.id, 'name', g.name, 'kind', g.kind),
                    'role', f.role, 'since', f.since, 'until', f.until)
                  ORDER BY f.since DESC NULLS LAST, g.name)
                   FROM affiliations f JOIN sources g ON g.id = f.organization_id
                  WHERE f.source_id = o.source_id), '[]') AS origin_affiliations,
       coalesce((SELECT json_agg(json_build_object(
                    'id', l.id, 'type', l.type, 'direction', l.direction, 'note', l.note,
                    'asserted_by', l.asserted_by, 'created_at', l.created_at,
                    'claim', json_build_object(
                        'id', rc.id, 'text', rc.text, 'kind', rc.kind,
                        'origin', json_build_object('id', rs.id, 'name', rs.name, 'kind', rs.kind)))
                  ORDER BY l.seq)
                   FROM claim_links l
                   JOIN claims rc ON rc.id = l.other_id
                   JOIN sources rs ON rs.id = rc.origin_source_id
                  WHERE l.subject_id = d.id), '[]') AS related
  FROM unnest($1::uuid[]) WITH ORDINALITY AS k(id, n)
  JOIN claim_documents d ON d.id = k.id
  JOIN origin o ON o.root_id = k.id
 ORDER BY k.n
"""

# The distinct lexemes of a statement, as its claims' search vectors hold them.
LEXEMES = "SELECT tsvector_to_array(to_tsvector('english', $1))"

# The most common lexemes of claims.search_vector as ANALYZE last found them, each with the share of
# claims holding it, then the smallest share listed, the largest and that of empty vectors; and the
# claims counted. No statistics (never analyzed): NULLs, and no claims counted.
STEM_STATISTICS = """
SELECT s.most_common_elems::text::text[] AS stems, s.most_common_elem_freqs AS shares,
       greatest(c.reltuples, 0)::float8 AS claims
  FROM pg_class c
  LEFT JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = 'claims' AND s.attname = 'search_vector'
 WHERE c.oid = 'claims'::regclass
"""

# One level of a statement search: claims matching a tsquery, at most $2 of them, taken as the GIN
# index gives them (no ranking of the whole match set, which is what made common words slow), active
# unless $4 lets retracted ones in; scored against the statement's lexemes $3 and only the best $5
# answered, with how many the level read. A claim of c distinct stems holding m of the statement's
# n scores (m + m/c) / (n + 1), rounded to four decimals, halves up (numeric), so that every claim
# holding more of the statement scores higher; cover density breaks ties, then the id. m is what
# ts_delete takes out of the claim's vector: a binary search a lexeme, no array built a row.
LEVEL = """
SELECT s.id, s.score::float8 AS score, ts_rank_cd(s.search_vector, $1::tsquery, 1) AS rank, s.read
  FROM (SELECT c.id, c.search_vector, count(*) OVER () AS read,
               round((m.matched + m.matched::numeric / m.claim_lexemes) / (cardinality($3::text[]) + 1), 4) AS score
          FROM (SELECT id, search_vector FROM claims
                 WHERE search_vector @@ $1::tsquery AND ($4::boolean OR status = 'active')
                 LIMIT $2) AS c,
               LATERAL (SELECT greatest(length(c.search_vector), 1) AS claim_lexemes,
                               length(c.search_vector) - length(ts_delete(c.search_vector, $3::text[])) AS matched) AS m
       ) AS s
 ORDER BY s.score DESC, rank DESC, s.id
 LIMIT $5
"""


# Left to itself, PostgreSQL plans TRACE anew at every execution: it estimates the generic plan
# dearer than a custom one (an array parameter counts as ten ids), though both are the same index
# walk, and planning takes several times as long as running it (bench/README.md, "Why the code is as
# it is"). For more than FEW claims SET LOCAL keeps the choice to this query's own
# transaction; catch-all queries such as the claim list need their custom plans.
GENERIC_PLAN = "SET LOCAL plan_cache_mode = force_generic_plan"

# One claim's trace: its id as a one-element array the planner can count, so that the generic plan
# costs what a custom one does and PostgreSQL keeps it by itself after its first five executions
# (pg_prepared_statements shows 295 generic plans of 300 where TRACE makes 300 custom ones). No
# transaction and no SET: one round trip. TRACE_FEW does the same for a handful of claims.
TRACE_ONE = TRACE.replace("unnest($1::uuid[])", "unnest(ARRAY[$1::uuid])")

FEW = 5
"""Up to this many claims (a statement search's default answer) share one statement the same way."""

# Up to FEW claims: $1 and $3 to $6, the missing ones NULL (a NULL id walks and joins nothing).
TRACE_FEW = TRACE.replace(
    "unnest($1::uuid[])", "unnest(ARRAY[$1::uuid, " + ", ".join(f"${i}::uuid" for i in range(3, FEW + 2)) + "])"
)


@retrying
async def traces(conn: asyncpg.Connection, claim_ids: Sequence[UUID], max_depth: int) -> list[asyncpg.Record]:
    """One row per stored claim of ``claim_ids`` (in that order) with its path and origin affiliations.

    Run again when a migration made its prepared statement stale: inside its read-only transaction
    asyncpg cannot prepare it anew by itself."""
    if len(claim_ids) == 1:
        return list(await conn.fetch(TRACE_ONE, claim_ids[0], max_depth))
    if len(claim_ids) <= FEW:
        rest = [*claim_ids[1:], *[None] * (FEW - len(claim_ids))]
        return list(await conn.fetch(TRACE_FEW, claim_ids[0], max_depth, *rest))
    if conn.is_in_transaction():
        return list(await conn.fetch(TRACE, list(claim_ids), max_depth))
    async with conn.transaction(readonly=True):
        await conn.execute(GENERIC_PLAN)
        return list(await conn.fetch(TRACE, list(claim_ids), max_depth))


async def lexemes(conn: asyncpg.Connection, folded_statement: str) -> list[str]:
    """The distinct lexemes of a folded statement (none for a statement of stop words)."""
    found: list[str] = await conn.fetchval(LEXEMES, folded_statement)
    return found


async def stem_claims(conn: asyncpg.Connection) -> tuple[dict[str, float], float]:
    """About how many claims hold each common stem, and each stem not listed: half the smallest
    share listed, as PostgreSQL's own estimate assumes. All 0 before the first ANALYZE."""
    row = await conn.fetchrow(STEM_STATISTICS)
    if row is None or row["stems"] is None:
        return {}, 0.0
    stems, shares, claims = row["stems"], row["shares"], row["claims"]
    return {stem: share * claims for stem, share in zip(stems, shares, strict=False)}, shares[len(stems)] / 2 * claims


async def level(
    conn: asyncpg.Connection,
    query: str,
    lexemes: Sequence[str],
    cap: int,
    best: int,
    *,
    include_retracted: bool,
) -> list[asyncpg.Record]:
    """``(id, score, rank, read)`` of the ``best`` of at most ``cap`` claims matching a tsquery, best
    first; ``read``, on each row, is how many the level read."""
    return list(await conn.fetch(LEVEL, query, cap, list(lexemes), include_retracted, best))
