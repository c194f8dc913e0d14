"""The tamper-evident audit log: appending an entry per write, reading entries, and verifying the chain.

After Certificate Transparency and Rekor, the log is a hash chain. An entry's body is the canonical
JSON of ``{seq, at, actor, action, entity_type, entity_id, change}`` (keys sorted, ``at`` in RFC 3339
UTC with microseconds) and its hash is ``sha256(previous hash + body)``, the previous hash being empty
for entry 1. The body is stored as the very bytes hashed, so verifying never re-encodes anything: a
changed byte, a changed link, a missing or a reordered entry shows as the first entry that no longer
holds. Publishing the head (``GET /audit/head``) elsewhere also pins the entries after which a log
cut short would otherwise look whole.

A claim's change is stored once: its revision (``claim_revisions``) keeps the canonical bytes of the
change, and the claim's entry stores no body but the number of that revision. Its body is rebuilt,
byte for byte, from the entry's fields and those bytes whenever it is read or verified, so the hash
commits to the revision as much as to the entry: a changed byte of either, or either row deleted,
breaks the chain at that entry.

A write records its entry in its own transaction, in ``audit_pending``, without any lock; sealing then
chains pending entries in the order they were written, one sealer at a time. So writes commit side by
side instead of queueing behind the chain, and an entry is sealed milliseconds after its write (the
app's sealer wakes after every write; readers of the log seal first).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from service.model import AuditAction, AuditEntityType, AuditEntry, AuditHead, AuditVerification
from service.repositories import audit as repo
from service.repositories.binary_copy import Copy

HASHED_FIELDS = ("seq", "at", "actor", "action", "entity_type", "entity_id", "change")
SEAL_BATCH = 5000


def moment(at: datetime) -> str:
    """``at`` as the body writes it: RFC 3339 in UTC with microseconds, always."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(entry: dict[str, Any]) -> bytes:
    """The bytes an entry is hashed and stored as: its JSON with every object's keys sorted."""
    return msgspec.json.encode(entry, order="sorted")


def chain_hash(prev_hash: bytes | None, body: bytes) -> bytes:
    """The hash of an entry: SHA-256 over the previous entry's hash (nothing for the first) and its body."""
    return hashlib.sha256((prev_hash or b"") + body).digest()


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{field: {"from": old, "to": new}}`` for each field of two snapshots that differs."""
    return {field: {"from": before[field], "to": after[field]} for field in before if before[field] != after[field]}


async def append(
    conn: asyncpg.Connection,
    *,
    actor: str | None,
    action: AuditAction,
    entity_type: AuditEntityType,
    entity_id: UUID,
    change: dict[str, Any],
) -> None:
    """Record the entry of a write inside that write's transaction: it commits (or rolls back) with it.

    No lock is taken: the entry waits in ``audit_pending`` until :func:`seal` gives it its place in
    the chain, so concurrent writes commit side by side rather than one at a time.
    """
    await repo.insert_pending(
        conn,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        change=pending_change(conn, change),
    )


def pending_change(conn: asyncpg.Connection, change: dict[str, Any]) -> bytes:
    """The bytes a write's entry stores of its change (its canonical JSON); refused outside a transaction.

    For ``append``, and for writes that store their entry with a statement of their own (claim revisions).
    """
    if not conn.is_in_transaction():
        raise RuntimeError("an audit entry must be appended in the transaction of its write")
    return canonical(change)


async def seal(conn: asyncpg.Connection, batch: int = SEAL_BATCH) -> int:
    """Move every committed pending entry into the chain, oldest first; returns how many were sealed.

    Under the sealers' lock each entry gets the next seq, its canonical body (its time is when its
    write happened) and its hash over the previous hash; the entries are stored and their pending rows
    deleted in one transaction, ``batch`` at a time.
    """
    if not await repo.any_pending(conn):
        return 0
    sealed = 0
    while True:
        async with conn.transaction():
            await repo.lock_appenders(conn)
            pending = await repo.oldest_pending(conn, batch)
            if not pending:
                return sealed
            last = await repo.head(conn)
            seq, prev_hash = (last["seq"], last["hash"]) if last else (0, None)
            written = []
            for row in pending:
                if row["change"] is None:  # revisions are append-only: only a hand in the database gets here
                    raise RuntimeError(f"the revision {row['revision']} of claim {row['entity_id']} is missing")
                written.append((row["actor"], row["at"], row["action"], row["entity_type"], row["entity_id"],
                                row["change"], row["revision"]))  # fmt: skip
            entries = chained(seq, prev_hash, written)
            await repo.seal(conn, entries, [row["id"] for row in pending])
        sealed += len(pending)
        if len(pending) < batch:
            return sealed


Written = tuple[str | None, datetime, str, str, UUID, bytes, int | None]
"""A write's entry before its place in the chain: ``(actor, at, action, entity_type, entity_id, change,
revision)``, ``change`` its canonical bytes, ``revision`` the number of the claim revision keeping them."""


def body_of(
    seq: int, stamp: str, actor: str | None, action: str, entity_type: str, entity_id: UUID, change: bytes
) -> bytes:
    """An entry's body, the bytes its hash covers: ``stamp`` is its time as ``moment`` writes it."""
    return canonical(
        {
            "seq": seq,
            "at": stamp,
            "actor": actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "change": msgspec.Raw(change),
        }
    )


def chained(seq: int, prev_hash: bytes | None, written: Sequence[Written]) -> list[tuple[Any, ...]]:
    """Entries given their place in the chain after ``seq`` and ``prev_hash``: each written entry as a
    row of the log (``repo.ENTRY_COLUMNS``)."""
    entries = []
    stamps: dict[datetime, str] = {}  # a batch's entries share one time
    for actor, at, action, entity_type, entity_id, change, revision in written:
        seq += 1
        stamp = stamps.get(at) or stamps.setdefault(at, moment(at))
        body = body_of(seq, stamp, actor, action, entity_type, entity_id, change)
        hash = chain_hash(prev_hash, body)
        entries.append((seq, actor, at, action, entity_type, entity_id, body, prev_hash, hash, revision))
        prev_hash = hash
    return entries


def stored_body(record: asyncpg.Record) -> bytes | None:
    """A stored entry's body: as stored, or rebuilt from its fields and its claim revision's bytes;
    None when that revision is gone."""
    if record["revision"] is None:
        body: bytes = record["body"]
        return body
    if record["change"] is None:
        return None
    return body_of(
        record["seq"],
        moment(record["at"]),
        record["actor"],
        record["action"],
        record["entity_type"],
        record["entity_id"],
        record["change"],
    )


async def head_for_appending(conn: asyncpg.Connection) -> tuple[int, bytes | None]:
    """For a transaction that chains entries itself (an initial load): take the sealers' lock (held until
    commit), seal whatever is pending, and the head to chain after: its seq and hash (0 and None when
    the log is empty)."""
    if not conn.is_in_transaction():
        raise RuntimeError("audit entries must be appended in the transaction of their writes")
    await repo.lock_appenders(conn)
    await seal(conn)
    last = await repo.head(conn)
    return (last["seq"], last["hash"]) if last else (0, None)


async def clock(conn: asyncpg.Connection) -> datetime:
    """The database's time now, as an entry written now records it."""
    return await repo.clock(conn)


def sealed_copy(
    head: tuple[int, bytes | None],
    at: datetime,
    *,
    actor: str | None,
    action: AuditAction,
    entity_type: AuditEntityType,
    changes: Sequence[tuple[UUID, bytes]],
    revision: int | None = None,
) -> tuple[Copy, tuple[int, bytes | None]]:
    """One entry per ``(entity_id, change)`` (its ``canonical`` bytes, kept by each claim's ``revision``
    when given), chained in order after ``head`` at time ``at``, as a COPY into the log (for a
    transaction holding the sealers' lock since it read ``head``); and the head after them."""
    seq, prev_hash = head
    written = [(actor, at, action, entity_type, entity_id, change, revision) for entity_id, change in changes]
    entries = chained(seq, prev_hash, written)
    if entries:
        seq, prev_hash = entries[-1][0], entries[-1][8]  # seq and hash (repo.ENTRY_COLUMNS)
    return repo.entries_copy(entries), (seq, prev_hash)


def pending_copy(
    *,
    actor: str | None,
    action: AuditAction,
    entity_type: AuditEntityType,
    changes: Sequence[tuple[UUID, bytes]],
    revision: int | None = None,
) -> Copy:
    """One entry per ``(entity_id, change)`` (its ``canonical`` bytes, kept by each claim's ``revision``
    when given), in order, as ``append`` would store them one after the other, as one COPY (for bulk
    imports): sealed, in this order, after commit."""
    rows = [(actor, action, entity_type, entity_id, change, revision) for entity_id, change in changes]
    return repo.pending_copy(rows)


def entry(record: asyncpg.Record) -> AuditEntry:
    """A stored entry as served: the fields of its body, and its hashes in hex."""
    stored = stored_body(record)
    if stored is None:
        raise RuntimeError(f"the claim revision of audit entry {record['seq']} is missing: verify the log")
    body = msgspec.json.decode(stored)
    return AuditEntry(
        seq=record["seq"],
        at=datetime.fromisoformat(body["at"]),
        actor=body["actor"],
        action=body["action"],
        entity_type=body["entity_type"],
        entity_id=body["entity_id"],
        change=body["change"],
        prev_hash=record["prev_hash"].hex() if record["prev_hash"] is not None else None,
        hash=record["hash"].hex(),
    )


async def page(conn: asyncpg.Connection, *, entity_id: UUID | None, after_seq: int, limit: int) -> list[AuditEntry]:
    """Up to ``limit`` entries after ``after_seq``, oldest first, of one entity when given."""
    return [entry(r) for r in await repo.page(conn, entity_id=entity_id, after_seq=after_seq, limit=limit)]


async def head(conn: asyncpg.Connection) -> AuditHead:
    """The size of the log and its last hash, to publish elsewhere."""
    last = await repo.head(conn)
    if last is None:
        return AuditHead(entries=0, head=None)
    return AuditHead(entries=last["seq"], head=last["hash"].hex())


def _breaks(record: asyncpg.Record, expected_seq: int, prev_hash: bytes | None) -> str | None:
    """Why the stored entry that should be ``expected_seq`` does not hold, or None when it does."""
    seq = record["seq"]
    if seq != expected_seq:
        return f"entry {expected_seq} is missing: the entry after {expected_seq - 1} is {seq}"
    if record["prev_hash"] != prev_hash:
        return "its prev_hash is not the hash of the entry before it"
    stored_bytes = stored_body(record)
    if stored_bytes is None:
        return f"the revision {record['revision']} of claim {record['entity_id']}, whose bytes it hashed, is missing"
    if chain_hash(prev_hash, stored_bytes) != record["hash"]:
        if record["revision"] is not None:
            revision = record["revision"]
            return f"its hash is not the hash of the entry before it, its fields and claim revision {revision}'s bytes"
        return "its hash is not the hash of the entry before it and its stored body"
    try:
        body = msgspec.json.decode(stored_bytes)
    except msgspec.DecodeError:
        return "its stored body is not JSON"
    if not isinstance(body, dict) or sorted(body) != sorted(HASHED_FIELDS):
        return "its stored body does not have the fields of an entry"
    stored = {
        "seq": seq,
        "at": moment(record["at"]),
        "actor": record["actor"],
        "action": record["action"],
        "entity_type": record["entity_type"],
        "entity_id": str(record["entity_id"]),
    }
    differing = [field for field, value in stored.items() if body[field] != value]
    if differing:
        return f"its stored {', '.join(differing)} differ from its hashed body"
    return None


async def verify(conn: asyncpg.Connection) -> AuditVerification:
    """Recompute the chain from the stored bodies, oldest first, in one snapshot; the first entry that breaks it."""
    count, prev_hash = 0, None
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        async for record in repo.every_entry(conn):
            reason = _breaks(record, count + 1, prev_hash)
            if reason is not None:
                return AuditVerification(ok=False, entries=count, broken_at=count + 1, reason=reason)
            count, prev_hash = count + 1, record["hash"]
    return AuditVerification(ok=True, entries=count, head=prev_hash.hex() if prev_hash is not None else None)
