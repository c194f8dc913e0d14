"""Relations between claims: which say the same, support, contradict or correct which."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from service.db import retrying
from service.domain import audit
from service.domain.ids import field_id
from service.errors import InvalidInput, NotFound
from service.model import Relation, RelationIn
from service.repositories import claims as claims_repo
from service.repositories import relations as repo

SYMMETRIC = frozenset({"same_as", "contradicts"})


def stored_order(claim_id: UUID, target_id: UUID, type: str) -> tuple[UUID, UUID]:
    """The order a relation is stored in: symmetric ones with the lesser id first."""
    if type in SYMMETRIC and target_id < claim_id:
        return target_id, claim_id
    return claim_id, target_id


def relation(record: asyncpg.Record) -> Relation:
    """A relation row of ``claim_links`` as a Struct."""
    return msgspec.convert({**dict(record.items()), "id": str(record["id"])}, Relation, strict=False)


@retrying
async def create(conn: asyncpg.Connection, claim_id: UUID, body: RelationIn, *, actor: str | None = None) -> Relation:
    """Relate ``claim_id`` to ``body.target_id``; symmetric types are stored once in canonical order.

    The relation is asserted by ``body.asserted_by`` when given (a desk speaking for someone), else by ``actor``.
    """
    target_id = field_id(body.target_id, "target_id")
    async with conn.transaction():
        if not await claims_repo.exists(conn, claim_id):
            raise NotFound(f"no claim has the id {str(claim_id)!r}")
        if target_id == claim_id:
            raise InvalidInput.field("target_id", "a claim cannot be related to itself")
        if not await claims_repo.exists(conn, target_id):
            raise InvalidInput.field("target_id", "no claim has this id")
        first, second = stored_order(claim_id, target_id, body.type)
        asserted_by = body.asserted_by or actor
        relation_id = await repo.insert(conn, first, second, body.type, body.note, asserted_by)
        await record_in_audit(conn, relation_id, first, second, body.type, body.note, asserted_by, actor=actor)
    [record] = await repo.links_of(conn, claim_id, relation_id)
    return relation(record)


async def record_in_audit(
    conn: asyncpg.Connection,
    relation_id: UUID,
    claim_id: UUID,
    target_id: UUID,
    type: str,
    note: str | None,
    asserted_by: str | None,
    *,
    actor: str | None,
) -> None:
    """Append the audit entry of a relation just stored (in the order it is stored)."""
    change = {
        "claim_id": str(claim_id),
        "target_id": str(target_id),
        "type": type,
        "note": note,
        "asserted_by": asserted_by,
    }
    await audit.append(conn, actor=actor, action="create", entity_type="relation", entity_id=relation_id, change=change)


async def of_claim(conn: asyncpg.Connection, claim_id: UUID) -> list[Relation]:
    """Every relation of a stored claim, seen from it."""
    if not await claims_repo.exists(conn, claim_id):
        raise NotFound(f"no claim has the id {str(claim_id)!r}")
    return [relation(r) for r in await repo.links_of(conn, claim_id)]
