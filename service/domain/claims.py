"""Claims: stored with their chains (resolved by ``rules``) and first revision in one go, and read back as
the model's Structs with the version and place each answer needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast
from uuid import UUID

import asyncpg
import msgspec

from service import documents
from service.db import retrying
from service.domain import audit, rules
from service.domain.names import searchable
from service.domain.stored import DatabaseFacts, WouldWrite
from service.errors import NotFound
from service.model import AppearedInOut, Claim, ClaimIn, ClaimState, Hop, HopIn, RevisionAction, SourceSummary
from service.repositories import claims as repo
from service.repositories import history as history_repo
from service.repositories.claims import ClaimFilters, ClaimRow, NewHop

__all__ = ["ClaimFilters", "StoredClaim", "create", "page", "read", "read_many", "state"]


class StoredClaim(NamedTuple):
    """A claim as read, with its version (its ``ETag``) and its place among the claims (a page's cursor);
    as just created, with the sources its chain created."""

    claim: Claim
    version: int
    seq: int
    created_sources: list[UUID] = []


def _stored(document: Mapping[str, Any]) -> StoredClaim:
    return StoredClaim(documents.claim(document), document["version"], document["seq"])


async def read(conn: asyncpg.Connection, claim_id: UUID) -> StoredClaim:
    """One claim with its chain and traced origin; 404 if there is none."""
    found = await repo.documents(conn, [claim_id])
    if not found:
        raise NotFound(f"no claim has the id {str(claim_id)!r}")
    return _stored(found[0])


async def read_many(conn: asyncpg.Connection, claim_ids: Sequence[UUID]) -> list[Claim]:
    """The claims of these ids that are stored, in their order."""
    return [documents.claim(document) for document in await repo.documents(conn, claim_ids)] if claim_ids else []


async def page(
    conn: asyncpg.Connection, filters: ClaimFilters, before_seq: int | None, limit: int
) -> list[StoredClaim]:
    """Claims passing ``filters``, newest first, from before ``before_seq``: at most ``limit``."""
    return [_stored(record) for record in await repo.page(conn, filters, before_seq=before_seq, limit=limit)]


async def state(conn: asyncpg.Connection, claim_id: UUID) -> ClaimState:
    """A claim's status and version alone; 404 if there is none."""
    record = await repo.state(conn, claim_id)
    if record is None:
        raise NotFound(f"no claim has the id {str(claim_id)!r}")
    return ClaimState(id=str(record["id"]), status=record["status"], version=record["version"])


class Resolved(NamedTuple):
    """A chain as it is to be stored: its hops, its traced origin and relays, the sources it created, and
    each hop's source as stored."""

    hops: list[NewHop]
    origin: UUID
    relays: list[UUID]
    created: list[UUID]
    sources: list[rules.SourceRef]


async def resolve_chain(conn: asyncpg.Connection, claim: ClaimIn, *, writes: bool = True) -> Resolved:
    """The stored hops of a claim's chain, its origin and its relays, by the rules (``rules.resolve_chain``)."""
    rules.check_text(claim.text)
    return await resolve_hops(conn, claim.chain, writes=writes)


async def resolve_hops(conn: asyncpg.Connection, chain: Sequence[HopIn], *, writes: bool = True) -> Resolved:
    """The stored hops of a chain, its origin and its relays (following the upstream link), by the rules
    over the stored facts; inline sources that match nothing are created (with ``writes=False``, any
    lock or source to make raises ``WouldWrite`` instead)."""
    if any(hop.upstream_claim_id is not None for hop in chain):
        if not writes:
            raise WouldWrite
        # Before any source is resolved: chain edits take this lock first too.
        await repo.lock_chains(conn, shared=True)
    inline = [hop.source for hop in chain if hop.source and hop.source_id is None]
    facts = DatabaseFacts(conn, inline, writes=writes)
    resolved = await rules.resolve_hops(facts, chain)
    hops = [NewHop(hop.source.id, hop.cue, hop.role, hop.upstream_claim_id) for hop in resolved.hops]
    return Resolved(hops, resolved.origin, resolved.relays, facts.created, [hop.source for hop in resolved.hops])


def snapshot(claim: Claim) -> dict[str, Any]:
    """What revisions record of a claim: its own fields as stored, and its chain with source ids and names."""
    return _snapshot(claim.text, claim.kind, claim.language, claim.appeared_in, claim.stated_at, claim.chain)


def _snapshot(
    text: str, kind: str, language: str, appeared_in: AppearedInOut, stated_at: datetime | None, chain: list[Hop]
) -> dict[str, Any]:
    return {
        "text": text,
        "kind": kind,
        "language": language,
        "appeared_in": msgspec.to_builtins(appeared_in),
        "stated_at": msgspec.to_builtins(stated_at),
        "chain": [
            {
                "source_id": hop.source.id,
                "source_name": hop.source.name,
                "cue": hop.cue,
                "role": hop.role,
                "upstream_claim_id": hop.upstream_claim_id,
            }
            for hop in chain
        ],
    }


def _summary(source: rules.SourceRef) -> SourceSummary:
    """A source in brief; its kind as the database's check constrains it to the model's values."""
    return SourceSummary(id=str(source.id), name=source.name, kind=cast(Any, source.kind))


def _as_stored(moment: datetime | None) -> datetime | None:
    """A moment as PostgreSQL gives it back from a ``timestamptz``: the same instant, in UTC."""
    return None if moment is None else moment.astimezone(UTC)


async def stored(conn: asyncpg.Connection, claim_id: UUID) -> Claim:
    """A claim as stored, within the caller's transaction."""
    [record] = await repo.documents(conn, [claim_id])
    return documents.claim(record)


async def record(
    conn: asyncpg.Connection,
    claim_id: UUID,
    *,
    number: int,
    action: RevisionAction,
    changes: dict[str, Any],
    actor: str | None,
) -> None:
    """Record a change of a claim as its revision ``number`` and, in the same statement, in the audit log:
    the revision keeps the change's canonical bytes, and the entry, to be sealed, hashes those bytes."""
    change = audit.pending_change(conn, changes)
    await history_repo.insert_revision(conn, claim_id, number=number, action=action, change=change, actor=actor)


def claim_row(own: Mapping[str, Any], origin: UUID, relays: list[UUID]) -> ClaimRow:
    """A claim's stored row: its own fields, its traced origin and relays, and its folded text."""
    return ClaimRow(**own, origin_source_id=origin, relay_source_ids=relays, search_text=searchable(own["text"]))


@retrying
async def create(
    conn: asyncpg.Connection, claim: ClaimIn, *, id: UUID | None = None, actor: str | None = None
) -> StoredClaim:
    """Store a claim with its chain and any sources it creates, and its first revision, all or nothing;
    the claim as stored.

    Its chain resolved, the claim, its hops, its first revision and that revision's audit entry are one
    statement (``repo.INSERT_CLAIM``), and the claim is answered from what was stored and what that
    statement gave back (its id, place, time, version, status and traced origin), not read again: the
    revision records the same fields, as stored (times in UTC), as a claim read back would give
    (``tests/test_claims.py`` holds the two equal).

    When every source of the chain is stored already and no hop links an upstream claim, that statement
    is the only write and the only lock-free step after one read of the names, so it runs on its own,
    outside a transaction: atomic as any statement is, and two round trips (``BEGIN``, ``COMMIT``)
    fewer. Each statement reads its own snapshot under READ COMMITTED either way. A chain that makes a
    source or links upstream is resolved again, from the start, in one transaction with its locks."""
    if not conn.is_in_transaction():
        try:
            return await _create(conn, claim, id, actor, writes=False)
        except WouldWrite:
            pass
    async with conn.transaction():
        return await _create(conn, claim, id, actor, writes=True)


async def _create(
    conn: asyncpg.Connection, claim: ClaimIn, id: UUID | None, actor: str | None, *, writes: bool
) -> StoredClaim:
    hops, origin, relays, created_sources, sources = await resolve_chain(conn, claim, writes=writes)
    where = msgspec.structs.asdict(claim.appeared_in)
    appeared_in = documents.appeared_in({**where, "published_at": _as_stored(claim.appeared_in.published_at)})
    stated_at = _as_stored(claim.stated_at)
    chain = [
        Hop(
            position=position,
            source=_summary(source),
            cue=hop.cue,
            role=hop.role,
            upstream_claim_id=None if hop.upstream_claim_id is None else str(hop.upstream_claim_id),
        )
        for position, (hop, source) in enumerate(zip(hops, sources, strict=True))
    ]
    # The entry is written by the claim's own statement: in its transaction, whether or not one was opened.
    change = audit.canonical(_snapshot(claim.text, claim.kind, claim.language, appeared_in, stated_at, chain))
    own = {"text": claim.text, "kind": claim.kind, "language": claim.language, **where, "stated_at": claim.stated_at}
    inserted = await repo.insert(
        conn,
        claim_row(own, origin, relays),
        id=id,
        hops=hops,
        extracted_by=claim.extracted_by,
        change=change,
        actor=actor,
    )
    stored = Claim(
        id=str(inserted.id),
        text=claim.text,
        kind=claim.kind,
        language=claim.language,
        appeared_in=appeared_in,
        stated_at=stated_at,
        chain=chain,
        origin=_summary(inserted.origin),
        created_at=inserted.created_at,
        status=cast(Any, inserted.status),  # the database's check allows the model's values only
        retraction=None,
        # Who accepted it is its first revision's actor.
        made=documents.made({"extracted_by": claim.extracted_by, "accepted_by": actor}),
    )
    return StoredClaim(stored, inserted.version, inserted.seq, created_sources)
