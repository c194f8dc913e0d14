"""Claims: stored with their chains (resolved by ``rules``) and first revision in one go, and read back as
the model's Structs with the version and place each answer needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import msgspec

from service import documents
from service.db import retrying
from service.domain import audit, rules
from service.domain.names import searchable
from service.domain.stored import DatabaseFacts
from service.errors import NotFound
from service.model import Claim, ClaimIn, ClaimState, HopIn, RevisionAction
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
    """A chain as it is to be stored: its hops, its traced origin and relays, the sources it created."""

    hops: list[NewHop]
    origin: UUID
    relays: list[UUID]
    created: list[UUID]


async def resolve_chain(conn: asyncpg.Connection, claim: ClaimIn) -> Resolved:
    """The stored hops of a claim's chain, its origin and its relays, by the rules (``rules.resolve_chain``)."""
    rules.check_text(claim.text)
    return await resolve_hops(conn, claim.chain)


async def resolve_hops(conn: asyncpg.Connection, chain: Sequence[HopIn]) -> Resolved:
    """The stored hops of a chain, its origin and its relays (following the upstream link), by the rules
    over the stored facts; inline sources that match nothing are created."""
    if any(hop.upstream_claim_id is not None for hop in chain):
        # Before any source is resolved: chain edits take this lock first too.
        await repo.lock_chains(conn, shared=True)
    facts = DatabaseFacts(conn, [hop.source for hop in chain if hop.source and hop.source_id is None])
    resolved = await rules.resolve_hops(facts, chain)
    hops = [NewHop(hop.source.id, hop.cue, hop.role, hop.upstream_claim_id) for hop in resolved.hops]
    return Resolved(hops, resolved.origin, resolved.relays, facts.created)


def snapshot(claim: Claim) -> dict[str, Any]:
    """What revisions record of a claim: its own fields as stored, and its chain with source ids and names."""
    return {
        "text": claim.text,
        "kind": claim.kind,
        "language": claim.language,
        "appeared_in": msgspec.to_builtins(claim.appeared_in),
        "stated_at": msgspec.to_builtins(claim.stated_at),
        "chain": [
            {
                "source_id": hop.source.id,
                "source_name": hop.source.name,
                "cue": hop.cue,
                "role": hop.role,
                "upstream_claim_id": hop.upstream_claim_id,
            }
            for hop in claim.chain
        ],
    }


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
    the claim as stored, read before commit."""
    async with conn.transaction():
        hops, origin, relays, created_sources = await resolve_chain(conn, claim)
        own = {
            "text": claim.text,
            "kind": claim.kind,
            "language": claim.language,
            **msgspec.structs.asdict(claim.appeared_in),
            "stated_at": claim.stated_at,
        }
        claim_id = await repo.insert(conn, claim_row(own, origin, relays), id=id, hops=hops)
        if claim.extracted_by is not None:
            await repo.set_extracted_by(conn, claim_id, claim.extracted_by)
        [document] = await repo.documents(conn, [claim_id])
        created = snapshot(documents.claim(document))
        await record(conn, claim_id, number=1, action="create", changes=created, actor=actor)
        # Read before its first revision was written: who accepted it is that revision's actor.
        return _stored({**document, "accepted_by": actor})._replace(created_sources=created_sources)
