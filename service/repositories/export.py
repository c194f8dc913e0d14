"""Claims read in bulk for export: every claim with its chain, its sources written out whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from service.repositories import cursors

# Every claim with its chain in the shape of ``HopIn``: each hop names its source inline with
# aliases, description, identifiers and affiliations (organizations by name and kind). A hop linking
# an upstream claim names no source: the importer takes that claim's first source, so the two
# cannot disagree.
# Oldest first, but never before its upstream claim, which a chain edit may have made newer: each
# claim sorts by the newest seq on its upstream walk, then by how deep it is on it. Without edits
# that is plain seq order. Links never make a cycle, so the walk reaches every claim once.
EXPORT_CLAIMS = """
WITH RECURSIVE walk (id, newest, depth) AS (
    SELECT c.id, c.seq, 0
      FROM claims c
     WHERE NOT EXISTS (SELECT 1 FROM hops h WHERE h.claim_id = c.id AND h.upstream_claim_id IS NOT NULL)
    UNION ALL
    SELECT c.id, greatest(w.newest, c.seq), w.depth + 1
      FROM walk w
      JOIN hops h ON h.upstream_claim_id = w.id
      JOIN claims c ON c.id = h.claim_id
)
SELECT c.id, c.text, c.kind, c.language, c.url, c.title, c.author, c.outlet, c.published_at, c.stated_at,
       (SELECT json_agg(json_build_object(
                    'cue', h.cue, 'role', h.role, 'upstream_claim_id', h.upstream_claim_id,
                    'source', CASE WHEN h.upstream_claim_id IS NULL THEN json_build_object(
                        'name', s.name, 'kind', s.kind, 'description', s.description,
                        'identifiers', s.identifiers,
                        'aliases', coalesce((SELECT array_agg(a.alias ORDER BY a.alias)
                                               FROM source_aliases a WHERE a.source_id = s.id), '{}'),
                        'affiliations', coalesce((SELECT json_agg(json_build_object(
                                                      'organization', json_build_object('name', o.name,
                                                                                        'kind', o.kind),
                                                      'role', f.role, 'since', f.since, 'until', f.until)
                                                    ORDER BY f.since NULLS FIRST, o.name)
                                                    FROM affiliations f JOIN sources o ON o.id = f.organization_id
                                                   WHERE f.source_id = s.id), '[]')) END)
                ORDER BY h.position)
          FROM hops h JOIN sources s ON s.id = h.source_id
         WHERE h.claim_id = c.id) AS chain
  FROM walk w JOIN claims c ON c.id = w.id
 ORDER BY w.newest, w.depth, c.seq
"""


async def claims_for_export(conn: asyncpg.Connection, prefetch: int = 200) -> AsyncIterator[asyncpg.Record]:
    """Every claim with its chain, upstream claims first, through a server-side cursor (inside a transaction)."""
    async for record in cursors.rows_in_batches(conn, "claims_for_export", EXPORT_CLAIMS, prefetch):
        yield record
