"""Bulk import: what a batch reads of the stored data in a few set-based queries, and the rows it
writes with COPY, in the order their references need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import msgspec

from service.domain.rules import SourceRef, SourceToMake, UpstreamRef
from service.repositories import binary_copy
from service.repositories.binary_copy import Copy, count, date_, int2, json, jsonb, payload, row, send, uuid_array
from service.repositories.claims import ClaimRow


@dataclass
class StoredFacts:
    """What the stored data says about everything the lines of one batch name."""

    stored_claim_ids: set[UUID]
    sources_by_key: dict[str, list[SourceRef]]
    """Unmerged sources whose name or an alias folds to the key, oldest first (a key absent: none)."""
    survivors: dict[UUID, SourceRef]
    """Each source id named that names a source: the unmerged source it is (or was merged into)."""
    upstreams: dict[UUID, UpstreamRef]
    wikidata_taken: set[str]


class NewSource(NamedTuple):
    """A source to create: what the rules made of it, its id, its name index and its affiliations."""

    id: UUID
    made: SourceToMake
    tokens: list[str]
    token_deletes: list[tuple[str, str]]
    affiliations: list[tuple[UUID, str | None, date | None, date | None]]

    @property
    def ref(self) -> SourceRef:
        return SourceRef(self.id, self.made.name, self.made.kind)


class NewClaim(NamedTuple):
    """A claim to create: its row, its hops and what its first revision records."""

    id: UUID
    row: ClaimRow
    hops: list[tuple[UUID, str, str | None, UUID | None]]
    snapshot: dict[str, Any]


# The row triggers leave the chains of this transaction to one check_chains() call before commit
# (revision 0009).
CHECK_CHAINS_BY_BATCH = "SET LOCAL provenance.chain_check = 'batch'"

CHECK_CHAINS = "SELECT check_chains($1::uuid[])"

# Every chain, for an initial load (the database held no claims before it): one pass hashing its way
# through claims and hops, which the planner, misled by tables grown from empty in this transaction,
# would rather walk by index, which is slower at this size (bench/README.md, "Why the code is as it is").
CHECK_EVERY_CHAIN = "SELECT check_chains(array(SELECT id FROM claims))"
HASHED_PLANS = [
    "SET LOCAL work_mem = '256MB'",
    "SET LOCAL enable_mergejoin = off",
    "SET LOCAL enable_nestloop = off",
]

# What an import writes, for the planner to learn its new sizes and values (a table grown from empty
# is otherwise planned as tiny until autovacuum, if it runs, analyzes it).
ANALYZE_WRITTEN = """
ANALYZE sources, source_aliases, source_name_tokens, token_deletes, affiliations, claims, hops, claim_revisions,
        audit_log
"""

STORED_CLAIM_IDS = "SELECT id FROM claims WHERE id = ANY ($1::uuid[])"

# Unmerged sources whose name or an alias folds to one of the keys, as MATCHING_NAME_KEYS finds
# them for requests (service.repositories.sources), oldest first.
SOURCES_BY_KEY = """
SELECT m.key, s.id, s.name, s.kind
  FROM (SELECT s.name_key AS key, s.id FROM sources s WHERE s.name_key = ANY ($1::text[])
        UNION
        SELECT a.alias_key, a.source_id FROM source_aliases a WHERE a.alias_key = ANY ($1::text[])) AS m
  JOIN sources s ON s.id = m.id
 WHERE s.merged_into IS NULL
 ORDER BY s.seq
"""

# Each id that names a source, with the unmerged source it is or was merged into (as SURVIVOR).
SURVIVORS = """
WITH RECURSIVE chain (given, id, merged_into, depth) AS (
    SELECT id, id, merged_into, 0 FROM sources WHERE id = ANY ($1::uuid[])
    UNION ALL
    SELECT c.given, s.id, s.merged_into, c.depth + 1
      FROM chain c JOIN sources s ON s.id = c.merged_into
     WHERE c.depth < 64
)
SELECT c.given, s.id, s.name, s.kind FROM chain c JOIN sources s ON s.id = c.id WHERE c.merged_into IS NULL
"""

# What a hop linking each claim upstream needs of it (as UPSTREAM, with the first source's name).
UPSTREAMS = """
SELECT c.id, c.origin_source_id, c.relay_source_ids, s.id AS first_id, s.name AS first_name, s.kind AS first_kind
  FROM claims c
  JOIN hops h ON h.claim_id = c.id AND h.position = 0
  JOIN sources s ON s.id = h.source_id
 WHERE c.id = ANY ($1::uuid[])
"""

# Everything a batch could look up (what stored_facts' five queries would read for every name key,
# source, claim and Wikidata identifier stored): an initial load reads it once, then keeps it.
EVERYTHING_WANTED = """
SELECT array(SELECT id FROM claims) AS claim_ids,
       array(SELECT name_key FROM sources UNION SELECT alias_key FROM source_aliases) AS keys,
       array(SELECT id FROM sources) AS source_ids,
       array(SELECT identifiers ->> 'wikidata' FROM sources WHERE identifiers ? 'wikidata') AS wikidata
"""

WIKIDATA_TAKEN = """
SELECT identifiers ->> 'wikidata' AS wikidata
  FROM sources
 WHERE identifiers ? 'wikidata' AND identifiers ->> 'wikidata' = ANY ($1::text[])
"""

# token_deletes is shared by every source: a batch's pairs are staged with COPY, then added where
# missing, after each batch of an import, once at the end of an initial load (whose staged rows then
# pile up over its one transaction; a batch rolled back to its savepoint takes its own with it).
STAGED_TOKEN_DELETES = "staged_token_deletes"
STAGE_TOKEN_DELETES = """
CREATE TEMP TABLE IF NOT EXISTS staged_token_deletes (delete_key text, token text) ON COMMIT DELETE ROWS
"""

EMPTY_STAGED_TOKEN_DELETES = "TRUNCATE staged_token_deletes"

MERGE_TOKEN_DELETES = """
INSERT INTO token_deletes (delete_key, token)
SELECT DISTINCT delete_key, token FROM staged_token_deletes ORDER BY delete_key, token
ON CONFLICT DO NOTHING
"""

# An initial load (a database holding no claims) builds the keys, indexes and foreign keys of the
# tables it fills after their rows, as pg_restore does, instead of maintaining them row by row: all
# of them but the primary keys of claims, hops and the audit log, which its own reads, chain checks
# and appends use, and the index by which its reads find sources by alias. Read from the catalog, so
# that a migration adding one is deferred with the rest. (sources stay as they are: every table that
# names a source refers to its key, and they are few beside the claims.)
LOADED_TABLES = [
    "claims",
    "hops",
    "claim_revisions",
    "audit_log",
    "source_aliases",
    "source_name_tokens",
    "affiliations",
]
KEPT_WHILE_LOADING = ["claims_pkey", "hops_pkey", "audit_log_pkey", "source_aliases_alias_key_idx"]

DEFERRED = """
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname) AS drop,
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) AS build,
       contype = 'f' AS foreign_key
  FROM pg_constraint
 WHERE contype IN ('p', 'u', 'f') AND conname <> ALL ($2::text[])
   AND (conrelid::regclass::text = ANY ($1::text[]) OR (contype = 'f' AND confrelid::regclass::text = ANY ($1::text[])))
UNION ALL
SELECT format('DROP INDEX %s', indexrelid::regclass), pg_get_indexdef(indexrelid), false
  FROM pg_index
 WHERE indrelid::regclass::text = ANY ($1::text[]) AND indexrelid::regclass::text <> ALL ($2::text[])
   AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)
"""

# Taken by a load for its whole transaction, beyond the locks its DROPs take: no source is created,
# edited or merged meanwhile, so that what the load read of them stays true to its end.
LOCK_SOURCES_FOR_LOAD = "LOCK TABLE sources IN SHARE MODE"

NO_CLAIMS = "SELECT NOT EXISTS (SELECT 1 FROM claims)"

# Memory for building the deferred indexes (the session's, for this transaction only).
BUILD_MEMORY = "SET LOCAL maintenance_work_mem = '256MB'"


class Deferred(NamedTuple):
    """A key, index or foreign key an initial load drops, and the statement that builds it again."""

    drop: str
    build: str
    foreign_key: bool


SOURCE_COLUMNS = ["id", "kind", "name", "name_key", "description", "identifiers"]
ALIAS_COLUMNS = ["source_id", "alias", "alias_key"]
TOKEN_COLUMNS = ["source_id", "token"]
TOKEN_DELETE_COLUMNS = ["delete_key", "token"]
AFFILIATION_COLUMNS = ["source_id", "organization_id", "role", "since", "until"]
CLAIM_COLUMNS = [
    "id", "text", "kind", "language", "url", "title", "author", "outlet", "published_at", "stated_at",
    "origin_source_id", "relay_source_ids", "search_text",
]  # fmt: skip
HOP_COLUMNS = ["claim_id", "position", "source_id", "cue", "role", "upstream_claim_id"]
REVISION_COLUMNS = ["claim_id", "number", "action", "changes", "actor"]
FIRST_REVISION = binary_copy.int4(1)
_json = msgspec.json.Encoder().encode


async def holds_no_claims(conn: asyncpg.Connection) -> bool:
    """Whether no claim is stored (an initial load's condition, read under its locks)."""
    empty: bool = await conn.fetchval(NO_CLAIMS)
    return empty


async def defer_building(conn: asyncpg.Connection) -> list[Deferred]:
    """For an initial load's transaction: lock the sources against change, drop what is built after the
    rows (foreign keys first); what to build again, in order (foreign keys last)."""
    await conn.execute(LOCK_SOURCES_FOR_LOAD)
    deferred = [Deferred(*r) for r in await conn.fetch(DEFERRED, LOADED_TABLES, KEPT_WHILE_LOADING)]
    for item in sorted(deferred, key=lambda d: not d.foreign_key):
        await conn.execute(item.drop)
    return sorted(deferred, key=lambda d: d.foreign_key)


async def build(conn: asyncpg.Connection, deferred: Sequence[Deferred]) -> None:
    """Build what ``defer_building`` dropped, over the rows loaded; a row breaking a key fails the load."""
    await conn.execute(BUILD_MEMORY)
    for item in deferred:
        await conn.execute(item.build)


async def analyze_written(conn: asyncpg.Connection) -> None:
    """Refresh the planner's statistics of every table an import writes."""
    await conn.execute(ANALYZE_WRITTEN)


async def check_chains_by_batch(conn: asyncpg.Connection) -> None:
    """Until commit, leave the chains this transaction writes to one ``check_chains`` call."""
    await conn.execute(CHECK_CHAINS_BY_BATCH)


async def check_chains(conn: asyncpg.Connection, claim_ids: Sequence[UUID]) -> None:
    """Check the chains of these claims now (as their row triggers would at commit)."""
    await conn.execute(CHECK_CHAINS, list(claim_ids))


async def check_every_chain(conn: asyncpg.Connection) -> None:
    """Check the chain of every claim stored, in one pass (an initial load's, at its end: it leaves the
    planner settings it needs for its transaction's remaining statements, the keys' builds)."""
    for setting in HASHED_PLANS:
        await conn.execute(setting)
    await conn.execute(CHECK_EVERY_CHAIN)


async def stored_facts(
    conn: asyncpg.Connection,
    *,
    claim_ids: Sequence[UUID],
    keys: Sequence[str],
    source_ids: Sequence[UUID],
    upstream_ids: Sequence[UUID],
    wikidata: Sequence[str],
) -> StoredFacts:
    """What is stored of everything a batch names, in five queries."""
    by_key: dict[str, list[SourceRef]] = {key: [] for key in keys}
    for r in await conn.fetch(SOURCES_BY_KEY, list(keys)):
        by_key[r["key"]].append(SourceRef(r["id"], r["name"], r["kind"]))
    upstreams = {
        r["id"]: UpstreamRef(
            SourceRef(r["first_id"], r["first_name"], r["first_kind"]), r["origin_source_id"], r["relay_source_ids"]
        )
        for r in await conn.fetch(UPSTREAMS, list(upstream_ids))
    }
    return StoredFacts(
        stored_claim_ids={r["id"] for r in await conn.fetch(STORED_CLAIM_IDS, list(claim_ids))},
        sources_by_key=by_key,
        survivors={
            r["given"]: SourceRef(r["id"], r["name"], r["kind"]) for r in await conn.fetch(SURVIVORS, list(source_ids))
        },
        upstreams=upstreams,
        wikidata_taken={r["wikidata"] for r in await conn.fetch(WIKIDATA_TAKEN, list(wikidata))} if wikidata else set(),
    )


async def everything_stored(conn: asyncpg.Connection) -> StoredFacts:
    """What ``stored_facts`` answers for everything stored: every claim, name key, source and Wikidata
    identifier (an initial load's memory of the stored data, which it then keeps up to date itself)."""
    everything = await conn.fetchrow(EVERYTHING_WANTED)
    return await stored_facts(
        conn,
        claim_ids=everything["claim_ids"],
        keys=everything["keys"],
        source_ids=everything["source_ids"],
        upstream_ids=everything["claim_ids"],
        wikidata=everything["wikidata"],
    )


def _identifiers(source: NewSource) -> bytes:
    return jsonb(_json(source.made.identifiers))


def source_copies(sources: Sequence[NewSource]) -> list[Copy]:
    """New sources in the order they were made, with their aliases, name index, the name index's
    deletion pairs (staged, for ``write`` to add where missing) and affiliations."""
    if not sources:
        return []
    uuid, text = binary_copy.uuid, binary_copy.text
    pairs = {pair for s in sources for pair in s.token_deletes}
    return [
        Copy(
            "sources",
            SOURCE_COLUMNS,
            payload(
                row(
                    uuid(s.id),
                    text(s.made.kind),
                    text(s.made.name),
                    text(s.made.name_key),
                    text(s.made.description),
                    _identifiers(s),
                )
                for s in sources
            ),
        ),
        Copy(
            "source_aliases",
            ALIAS_COLUMNS,
            payload(row(uuid(s.id), text(alias), text(key)) for s in sources for alias, key in s.made.aliases),
        ),
        Copy("source_name_tokens", TOKEN_COLUMNS, payload(row(uuid(s.id), text(t)) for s in sources for t in s.tokens)),
        Copy(STAGED_TOKEN_DELETES, TOKEN_DELETE_COLUMNS, payload(row(text(key), text(t)) for key, t in pairs)),
        Copy(
            "affiliations",
            AFFILIATION_COLUMNS,
            payload(
                row(uuid(s.id), uuid(org), text(role), date_(since), date_(until))
                for s in sources
                for org, role, since, until in s.affiliations
            ),
        ),
    ]


_CLAIM_ROW, _HOP_ROW, _REVISION_ROW = count(len(CLAIM_COLUMNS)), count(len(HOP_COLUMNS)), count(len(REVISION_COLUMNS))
_POSITIONS = [int2(position) for position in range(64)]


def claim_copies(claims: Sequence[NewClaim], snapshots: Sequence[bytes], actor: str | None) -> list[Copy]:
    """Claims in file order with their hops and first revisions (each claim's snapshot as encoded JSON,
    in the same order)."""
    if not claims:
        return []
    uuid, text, word, timestamptz = binary_copy.uuid, binary_copy.text, binary_copy.word, binary_copy.timestamptz
    created, by_actor = word("create"), word(actor)
    source_fields: dict[UUID, bytes] = {}  # a few sources are on most hops
    claim_rows, hop_rows, revision_rows = [], [], []
    for claim, snapshot in zip(claims, snapshots, strict=True):
        claim_id, r = uuid(claim.id), claim.row
        claim_rows.append(
            b"".join((
                _CLAIM_ROW, claim_id, text(r.text), word(r.kind), word(r.language), text(r.url), text(r.title),
                text(r.author), word(r.outlet), timestamptz(r.published_at), timestamptz(r.stated_at),
                uuid(r.origin_source_id), uuid_array(r.relay_source_ids), text(r.search_text),
            ))
        )  # fmt: skip
        for position, (source, cue, role, upstream) in enumerate(claim.hops):
            source_field = source_fields.get(source) or source_fields.setdefault(source, uuid(source))
            hop_rows.append(
                b"".join(
                    (_HOP_ROW, claim_id, _POSITIONS[position], source_field, word(cue), word(role), uuid(upstream))
                )
            )
        revision_rows.append(b"".join((_REVISION_ROW, claim_id, FIRST_REVISION, created, json(snapshot), by_actor)))
    return [
        Copy("claims", CLAIM_COLUMNS, payload(claim_rows)),
        Copy("hops", HOP_COLUMNS, payload(hop_rows)),
        Copy("claim_revisions", REVISION_COLUMNS, payload(revision_rows)),
    ]


async def stage(conn: asyncpg.Connection) -> None:
    """Make the session's table of staged deletion pairs, empty."""
    await conn.execute(STAGE_TOKEN_DELETES)
    await conn.execute(EMPTY_STAGED_TOKEN_DELETES)


async def merge_staged(conn: asyncpg.Connection) -> None:
    """Add the deletion pairs staged (since ``stage``) to the shared name index where missing."""
    await conn.execute(MERGE_TOKEN_DELETES)


async def write(conn: asyncpg.Connection, copies: Sequence[Copy], *, merge: bool = True) -> None:
    """Store the copies in order; the deletion pairs go to the staging table (made by ``stage``), merged
    into the shared name index at once unless ``merge`` is False (an initial load merges at its end)."""
    for copy in copies:
        await send(conn, copy)
        if copy.table == STAGED_TOKEN_DELETES and merge:
            await merge_staged(conn)
