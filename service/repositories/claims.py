"""Claims and their hops."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from uuid import UUID

import asyncpg
import msgspec

from service.domain.rules import SourceRef, UpstreamRef

# A new claim in one statement: its row, its hops, its first revision (the change's canonical bytes) and
# the audit entry naming that revision. The foreign keys to the claim are checked at the statement's
# end, when the claim is there, and the chain at commit, by the deferred triggers. It answers what the
# new row got from the database, and its traced origin, so that nothing is read back.
INSERT_CLAIM = """
WITH claim AS (
    INSERT INTO claims (id, text, kind, language, url, title, author, outlet, published_at, stated_at,
                        origin_source_id, relay_source_ids, search_text, extracted_by)
    VALUES (coalesce($1, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $19)
    RETURNING id, seq, created_at, version, status, origin_source_id
), chain AS (
    INSERT INTO hops (claim_id, position, source_id, cue, role, upstream_claim_id)
    SELECT claim.id, h.position, h.source_id, h.cue, h.role, h.upstream_claim_id
      FROM claim, unnest($14::smallint[], $15::uuid[], $16::text[], $17::text[], $18::uuid[])
                  AS h(position, source_id, cue, role, upstream_claim_id)
), revision AS (
    INSERT INTO claim_revisions (claim_id, number, action, changes, actor)
    SELECT claim.id, 1, 'create', $20, $21 FROM claim
), entry AS (
    INSERT INTO audit_pending (actor, action, entity_type, entity_id, revision)
    SELECT $21, 'create', 'claim', claim.id, 1 FROM claim
)
SELECT claim.id, claim.seq, claim.created_at, claim.version, claim.status,
       o.id AS origin_id, o.name AS origin_name, o.kind AS origin_kind
  FROM claim JOIN sources o ON o.id = claim.origin_source_id
"""

INSERT_HOPS = """
INSERT INTO hops (claim_id, position, source_id, cue, role, upstream_claim_id)
SELECT $1, position, source_id, cue, role, upstream_claim_id
  FROM unnest($2::smallint[], $3::uuid[], $4::text[], $5::text[], $6::uuid[])
       AS h(position, source_id, cue, role, upstream_claim_id)
"""

CLAIM_STATE = "SELECT id, status, version FROM claims WHERE id = $1"

CLAIM_EXISTS = "SELECT EXISTS (SELECT 1 FROM claims WHERE id = $1)"

# Chain edits take this lock exclusively and chains linking an upstream claim take it shared, so an
# edit never checks for a cycle, or reads an origin to copy downstream, while another link is made.
LOCK_CHAINS = "SELECT pg_advisory_xact_lock(hashtextextended('claim-chains', 0))"
LOCK_CHAINS_SHARED = "SELECT pg_advisory_xact_lock_shared(hashtextextended('claim-chains', 0))"

UPSTREAM = """
SELECT c.origin_source_id, c.relay_source_ids, s.id, s.name, s.kind
  FROM claims c JOIN hops h ON h.claim_id = c.id AND h.position = 0 JOIN sources s ON s.id = h.source_id
 WHERE c.id = $1
"""

# What a claim's summary shows of its row of claim_documents (a trace's claim): the view's columns
# left unread, its chain above all (an aggregate of its own), are never computed.
SUMMARY = """d.id, d.text, d.kind, d.language, d.url, d.title, d.author, d.outlet, d.published_at, d.stated_at,
       d.status, d.extracted_by, d.accepted_by"""

# A claim document as ``documents.claim`` reads it: its chain and origin as JSON text, which it decodes
# straight into the model's Structs. Read as json, asyncpg would build dicts and lists of them first,
# for msgspec to convert again: a quarter of a filtered page's instructions (bench/README.md, "Why the
# code is as it is").
DOCUMENT = f"""{SUMMARY}, d.seq, d.created_at, d.origin::text AS origin, d.chain::text AS chain,
       d.version, d.retraction_reason, d.retracted_at"""

CLAIM_DOCUMENTS = f"""
SELECT {DOCUMENT} FROM claim_documents d JOIN unnest($1::uuid[]) WITH ORDINALITY AS k(id, n) ON k.id = d.id
 ORDER BY k.n
"""

# One static query for every combination of filters: a NULL parameter switches its filter off.
LIST_CLAIMS = f"""
SELECT {DOCUMENT}
  FROM claim_documents d
 WHERE d.id IN (
        SELECT c.id FROM claims c
         WHERE ($1::uuid IS NULL OR c.origin_source_id = $1)
           AND ($2::uuid IS NULL OR c.relay_source_ids @> ARRAY[$2::uuid])
           AND ($3::uuid IS NULL OR c.origin_source_id = $3 OR c.relay_source_ids @> ARRAY[$3::uuid])
           AND ($4::timestamptz IS NULL OR c.published_at >= $4)
           AND ($5::timestamptz IS NULL OR c.published_at < $5)
           AND ($6::text IS NULL OR c.search_vector @@ plainto_tsquery('english', $6))
           AND ($7::text IS NULL OR c.kind = $7)
           AND ($8::text IS NULL OR c.language = $8)
           AND ($9::boolean IS NULL
                OR $9 = EXISTS (SELECT 1 FROM sources s WHERE s.id = c.origin_source_id AND s.kind = 'anonymous'))
           AND ($10::boolean IS NULL
                OR $10 = EXISTS (SELECT 1 FROM claim_links l WHERE l.subject_id = c.id AND l.type = 'contradicts'))
           AND ($11::bigint IS NULL OR c.seq < $11)
         ORDER BY c.seq DESC
         LIMIT $12)
 ORDER BY d.seq DESC
"""

# GET /claims with a bounded time range (since and until): for each calendar month (UTC) the range
# touches ($13, from months_of), the newest claims of that month passing the filters, read in order
# from claims_published_month_idx; then the newest of those. A month's claims sit anywhere in seq
# (claims are stored in no order of publication), so walking claims_seq_key reads claims of every
# month to fill a page of one, and an index on published_at can only read the whole range and sort
# it; here each month gives at most a page, and a month without claims costs one index descent
# (figures in bench/README.md, "Why the code is as it is").
LIST_CLAIMS_BY_MONTH = LIST_CLAIMS.replace(
    "SELECT c.id FROM claims c\n         WHERE",
    """SELECT m.id FROM unnest($13::timestamp[]) AS b(month) CROSS JOIN LATERAL (
        SELECT c.id, c.seq FROM claims c
         WHERE date_trunc('month', c.published_at AT TIME ZONE 'UTC') = b.month
           AND""",
).replace(
    "ORDER BY c.seq DESC\n         LIMIT $12)",
    "ORDER BY c.seq DESC\n         LIMIT $12) AS m\n         ORDER BY m.seq DESC\n         LIMIT $12)",
)

MONTHS_BY_MONTH = 1_200
"""The most months a range is listed month by month; a wider one (over a century) holds nearly every
claim, and walking claims_seq_key with the range as a filter fills a page at once."""


def _month_number(moment: datetime) -> int:
    """The UTC month of ``moment``, numbered year * 12 + month - 1; an instant past either end of
    Python's datetimes in UTC (year 1 at a positive offset, year 9999 at a negative one) counts as
    that end's month."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = datetime.min if moment.year == 1 else datetime.max
    return utc.year * 12 + utc.month - 1


def _month_numbers(since: datetime, until: datetime) -> range:
    """The months that ``since`` to ``until`` (exclusive) touches in UTC, numbered year * 12 + month - 1."""
    if until <= since:  # an empty range touches no month (and until may be the first instant there is)
        return range(0)
    return range(_month_number(since), _month_number(until - timedelta(microseconds=1)) + 1)


def months_of(since: datetime, until: datetime) -> list[datetime]:
    """The calendar months (UTC) that ``since`` to ``until`` (exclusive) touches, as the month index keys
    them (the first instant, without a zone), oldest first."""
    return [datetime(n // 12, n % 12 + 1, 1) for n in _month_numbers(since, until)]


class ClaimRow(NamedTuple):
    """A claim's own columns, in the order INSERT_CLAIM and history's UPDATE_CLAIM bind them."""

    text: str
    kind: str
    language: str
    url: str | None
    title: str | None
    author: str | None
    outlet: str | None
    published_at: datetime | None
    stated_at: datetime | None
    origin_source_id: UUID
    relay_source_ids: list[UUID]
    search_text: str


class NewHop(NamedTuple):
    """A resolved hop, ready to store."""

    source_id: UUID
    cue: str
    role: str | None
    upstream_claim_id: UUID | None


class ClaimFilters(NamedTuple):
    """Filters of ``GET /claims``, in the order LIST_CLAIMS binds them ($1 to $10); ``None`` switches one off."""

    origin: UUID | None = None
    via: UUID | None = None
    origin_or_via: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    kind: str | None = None
    language: str | None = None
    anonymous_origin: bool | None = None
    contradicted: bool | None = None


async def upstream(conn: asyncpg.Connection, claim_id: UUID) -> UpstreamRef | None:
    """The first source, origin and relays of a stored claim, or ``None`` if there is none."""
    row = await conn.fetchrow(UPSTREAM, claim_id)
    if row is None:
        return None
    return UpstreamRef(SourceRef(row["id"], row["name"], row["kind"]), row["origin_source_id"], row["relay_source_ids"])


HopColumns = tuple[list[int], list[UUID], list[str], list[str | None], list[UUID | None]]


def _hop_columns(hops: Sequence[NewHop]) -> HopColumns:
    """Hops as the arrays INSERT_CLAIM and INSERT_HOPS unnest: positions 0..n-1, sources, cues, roles, links."""
    return (
        list(range(len(hops))),
        [h.source_id for h in hops],
        [h.cue for h in hops],
        [h.role for h in hops],
        [h.upstream_claim_id for h in hops],
    )


class Inserted(NamedTuple):
    """What a new claim's row got from the database, and its traced origin."""

    id: UUID
    seq: int
    created_at: datetime
    version: int
    status: str
    origin: SourceRef


async def insert(
    conn: asyncpg.Connection,
    row: ClaimRow,
    *,
    id: UUID | None,
    hops: Sequence[NewHop],
    extracted_by: str | None,
    change: bytes,
    actor: str | None,
) -> Inserted:
    """Store a claim, its hops, its first revision (``change``, its canonical bytes) and that revision's
    audit entry, in one statement; the chain is checked by the database at commit."""
    record = await conn.fetchrow(INSERT_CLAIM, id, *row, *_hop_columns(hops), extracted_by, msgspec.Raw(change), actor)
    origin = SourceRef(record["origin_id"], record["origin_name"], record["origin_kind"])
    return Inserted(record["id"], record["seq"], record["created_at"], record["version"], record["status"], origin)


async def insert_hops(conn: asyncpg.Connection, claim_id: UUID, hops: Sequence[NewHop]) -> None:
    """Store a claim's hops at positions 0..n-1; the chain is checked by the database at commit."""
    await conn.execute(INSERT_HOPS, claim_id, *_hop_columns(hops))


async def lock_chains(conn: asyncpg.Connection, *, shared: bool) -> None:
    """Until commit, keep chain edits (``shared=False``) apart from each other and from new upstream links."""
    await conn.execute(LOCK_CHAINS_SHARED if shared else LOCK_CHAINS)


async def exists(conn: asyncpg.Connection, claim_id: UUID) -> bool:
    """Whether a claim is stored under ``claim_id``."""
    return bool(await conn.fetchval(CLAIM_EXISTS, claim_id))


async def documents(conn: asyncpg.Connection, ids: Sequence[UUID]) -> list[asyncpg.Record]:
    """Whole claims with their chains, in the order of ``ids``."""
    return list(await conn.fetch(CLAIM_DOCUMENTS, list(ids)))


async def page(
    conn: asyncpg.Connection, filters: ClaimFilters, *, before_seq: int | None, limit: int
) -> list[asyncpg.Record]:
    """Newest claims first that pass ``filters``, keyset-paginated on ``seq``; a bounded time range of at
    most MONTHS_BY_MONTH months month by month (LIST_CLAIMS_BY_MONTH)."""
    args = (*filters, before_seq, limit)
    since, until = filters.since, filters.until
    if since is not None and until is not None and len(_month_numbers(since, until)) <= MONTHS_BY_MONTH:
        return list(await conn.fetch(LIST_CLAIMS_BY_MONTH, *args, months_of(since, until)))
    return list(await conn.fetch(LIST_CLAIMS, *args))


async def state(conn: asyncpg.Connection, claim_id: UUID) -> asyncpg.Record | None:
    """A claim's id, status and version, by primary key; None when no claim has that id."""
    return await conn.fetchrow(CLAIM_STATE, claim_id)
