"""The audit log: pending entries, taking the appenders' lock, sealing, entries as COPY rows, paging and streaming
entries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from service.repositories import binary_copy, cursors
from service.repositories.binary_copy import Copy, int8, payload, row, send, timestamptz

# One lock for every sealer, held until its transaction ends: seals happen one at a time, each
# reading the head the previous one left.
LOCK_APPENDERS = "SELECT pg_advisory_xact_lock(hashtextextended('audit-log', 0))"

# A claim revision's change as the bytes its audit entry hashed: json keeps them as they were written.
REVISION_BYTES = "convert_to(r.changes::text, 'UTF8')"

# A write's entry, in the write's transaction; its time is the database's clock.
INSERT_PENDING = """
INSERT INTO audit_pending (actor, action, entity_type, entity_id, change) VALUES ($1, $2, $3, $4, $5)
"""

ANY_PENDING = "SELECT EXISTS (SELECT 1 FROM audit_pending)"

# The oldest pending entries, in the order they were written (read under the sealers' lock), each
# with its change's bytes: its own, or those its claim's revision keeps.
OLDEST_PENDING = f"""
SELECT p.id, p.actor, p.at, p.action, p.entity_type, p.entity_id, p.revision,
       coalesce(p.change, {REVISION_BYTES}) AS change
  FROM audit_pending p
  LEFT JOIN claim_revisions r ON r.claim_id = p.entity_id AND r.number = p.revision
 ORDER BY p.id LIMIT $1
"""

DELETE_PENDING = "DELETE FROM audit_pending WHERE id = ANY($1::bigint[])"

ENTRY_COLUMNS = ("seq", "actor", "at", "action", "entity_type", "entity_id", "body", "prev_hash", "hash", "revision")

HEAD = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"

# Entries with what their bodies are made of: a claim's entry stores no body but the number of the
# revision whose bytes it hashed (migration 0014), NULL in ``change`` should that revision be gone.
ENTRIES = f"""
SELECT a.seq, a.actor, a.at, a.action, a.entity_type, a.entity_id, a.body, a.revision, a.prev_hash, a.hash,
       {REVISION_BYTES} AS change
  FROM audit_log a
  LEFT JOIN claim_revisions r ON a.revision IS NOT NULL AND r.claim_id = a.entity_id AND r.number = a.revision
"""

# Oldest first after a seq, on the primary key. Two queries rather than one with "$2 IS NULL OR",
# whose generic plan would walk the whole log for one entity.
PAGE = ENTRIES + " WHERE a.seq > $1 ORDER BY a.seq LIMIT $2"

# The same for one entity, on audit_log_entity_idx (entity_id, seq).
PAGE_OF_ENTITY = ENTRIES + " WHERE a.entity_id = $1 AND a.seq > $2 ORDER BY a.seq LIMIT $3"

EVERY_ENTRY = ENTRIES + " ORDER BY a.seq"


async def insert_pending(
    conn: asyncpg.Connection, *, actor: str | None, action: str, entity_type: str, entity_id: UUID, change: bytes
) -> None:
    """Store a write's entry, to be sealed after the write commits."""
    await conn.execute(INSERT_PENDING, actor, action, entity_type, entity_id, change)


async def any_pending(conn: asyncpg.Connection) -> bool:
    """Whether some committed entry waits to be sealed."""
    found: bool = await conn.fetchval(ANY_PENDING)
    return found


async def lock_appenders(conn: asyncpg.Connection) -> None:
    """Wait for, then hold until commit, the one lock every sealer takes."""
    await conn.execute(LOCK_APPENDERS)


async def oldest_pending(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Up to ``limit`` pending entries, oldest first."""
    return list(await conn.fetch(OLDEST_PENDING, limit))


async def seal(conn: asyncpg.Connection, entries: Sequence[tuple[Any, ...]], pending_ids: Sequence[int]) -> None:
    """Store sealed entries (rows of ``ENTRY_COLUMNS``) through COPY and drop their pending rows."""
    await send(conn, entries_copy(entries))
    await conn.execute(DELETE_PENDING, list(pending_ids))


def entries_copy(entries: Sequence[tuple[Any, ...]]) -> Copy:
    """Sealed entries (rows of ``ENTRY_COLUMNS``) as a COPY into the log; an entry naming its claim's
    revision stores no body (its bytes are the revision's)."""
    uuid, word, bytea, int4 = binary_copy.uuid, binary_copy.word, binary_copy.bytea, binary_copy.int4
    return Copy(
        "audit_log",
        ENTRY_COLUMNS,
        payload(
            row(int8(seq), word(actor), timestamptz(at), word(action), word(kind), uuid(entity),
                bytea(None if revision is not None else body), bytea(prev_hash), bytea(hash), int4(revision))
            for seq, actor, at, action, kind, entity, body, prev_hash, hash, revision in entries
        ),
    )  # fmt: skip


async def clock(conn: asyncpg.Connection) -> datetime:
    """The database's time now (as an entry written now records it)."""
    now: datetime = await conn.fetchval("SELECT clock_timestamp()")
    return now


PENDING_COLUMNS = ("actor", "action", "entity_type", "entity_id", "change", "revision")


def pending_copy(rows: Sequence[tuple[str | None, str, str, UUID, bytes, int | None]]) -> Copy:
    """Writes' entries (rows of ``PENDING_COLUMNS``) as a COPY, to be sealed after commit; an entry naming
    its claim's revision stores no change (its bytes are the revision's)."""
    uuid, word, bytea, int4 = binary_copy.uuid, binary_copy.word, binary_copy.bytea, binary_copy.int4
    return Copy(
        "audit_pending",
        PENDING_COLUMNS,
        payload(row(word(actor), word(action), word(kind), uuid(entity),
                    bytea(None if revision is not None else change), int4(revision))
                for actor, action, kind, entity, change, revision in rows),
    )  # fmt: skip


async def head(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The last entry's seq and hash; None in an empty log."""
    record: asyncpg.Record | None = await conn.fetchrow(HEAD)
    return record


async def page(conn: asyncpg.Connection, *, entity_id: UUID | None, after_seq: int, limit: int) -> list[asyncpg.Record]:
    """Up to ``limit`` entries after ``after_seq``, oldest first, of one entity when given."""
    if entity_id is None:
        return list(await conn.fetch(PAGE, after_seq, limit))
    return list(await conn.fetch(PAGE_OF_ENTITY, entity_id, after_seq, limit))


async def every_entry(conn: asyncpg.Connection, batch: int = 1000) -> AsyncIterator[asyncpg.Record]:
    """Every entry in seq order through a server-side cursor, ``batch`` rows at a time (needs a transaction)."""
    async for record in cursors.rows_in_batches(conn, "every_entry", EVERY_ENTRY, batch):
        yield record


PENDING_STATE = "SELECT count(*), extract(epoch FROM now() - min(at))::float8 FROM audit_pending"


async def pending_state(conn: asyncpg.Connection) -> tuple[int, float | None]:
    """How many entries wait to be sealed, and for how many seconds the oldest has waited."""
    record = await conn.fetchrow(PENDING_STATE)
    assert record is not None
    return record[0], record[1]
