"""The history of claims: edits under ``If-Match``, retraction, and the revisions both leave.

Nothing is deleted: an edit keeps the old values in its revision (a replaced chain included), and a
retracted claim stays, marked with its reason. Each change bumps the claim's version, which is its
``ETag`` and the number of the revision that made it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from msgspec import UnsetType

from service.db import retrying
from service.domain import audit, claims, rules
from service.domain.ids import field_id
from service.domain.versions import Precondition
from service.errors import Conflict, InvalidInput, NotFound
from service.model import Claim, ClaimPatch, HopIn, RetractionIn, Revision
from service.repositories import claims as claims_repo
from service.repositories import history as repo
from service.repositories.claims import NewHop


async def _lock(conn: asyncpg.Connection, claim_id: UUID, precondition: Precondition, doing: str) -> asyncpg.Record:
    """Lock an active claim whose version the precondition allows; 404, 409, 412 or 428 otherwise."""
    current = await repo.lock(conn, claim_id)
    if current is None:
        raise NotFound(f"no claim has the id {str(claim_id)!r}")
    if current["status"] == "retracted":
        raise Conflict(f"the claim is retracted: it cannot be {doing}")
    precondition.check("claim", current["version"])
    return current


async def _refuse_cycle(conn: asyncpg.Connection, claim_id: UUID, chain: list[HopIn]) -> None:
    """409 when the chain's upstream link would lead back to this claim."""
    last, linked = len(chain) - 1, chain[-1].upstream_claim_id
    if linked is None:
        return
    upstream_id = field_id(linked, f"chain[{last}].upstream_claim_id")
    if await repo.on_upstream_path(conn, claim_id, upstream_id):
        raise Conflict(
            f"chain[{last}].upstream_claim_id: claim {upstream_id} traces back to this claim, "
            "so linking it upstream would make a cycle"
        )


def _same_chain(current: Claim, hops: list[NewHop]) -> bool:
    stored = [(h.source.id, h.cue, h.role, h.upstream_claim_id) for h in current.chain]
    wanted = [
        (str(h.source_id), h.cue, h.role, str(h.upstream_claim_id) if h.upstream_claim_id else None) for h in hops
    ]
    return stored == wanted


def _own_fields(current: Claim, patch: ClaimPatch) -> dict[str, Any]:
    """The claim's own columns with the patch applied; with an empty patch, as they are."""
    appeared = current.appeared_in if isinstance(patch.appeared_in, UnsetType) else patch.appeared_in
    return {
        "text": current.text if isinstance(patch.text, UnsetType) else patch.text,
        "kind": current.kind if isinstance(patch.kind, UnsetType) else patch.kind,
        "language": current.language if isinstance(patch.language, UnsetType) else patch.language,
        **msgspec.structs.asdict(appeared),
        "stated_at": current.stated_at if isinstance(patch.stated_at, UnsetType) else patch.stated_at,
    }


@retrying
async def edit(
    conn: asyncpg.Connection,
    claim_id: UUID,
    patch: ClaimPatch,
    precondition: Precondition,
    *,
    actor: str | None = None,
) -> None:
    """Apply a patch to an active claim if the precondition allows its current version; a change writes a
    revision."""
    if not isinstance(patch.text, UnsetType):
        rules.check_text(patch.text)
    async with conn.transaction():
        if not isinstance(patch.chain, UnsetType):
            # Before the row lock and any source, in the order creating a claim takes its locks.
            await claims_repo.lock_chains(conn, shared=False)
        locked = await _lock(conn, claim_id, precondition, "edited")
        current = await claims.stored(conn, claim_id)
        fields = _own_fields(current, patch)
        origin, relays = locked["origin_source_id"], list(locked["relay_source_ids"])
        new_hops: list[NewHop] | None = None
        if not isinstance(patch.chain, UnsetType):
            await _refuse_cycle(conn, claim_id, patch.chain)
            hops, origin, relays, *_ = await claims.resolve_hops(conn, patch.chain)
            new_hops = None if _same_chain(current, hops) else hops
        if new_hops is None and fields == _own_fields(current, ClaimPatch()):
            return
        if new_hops is not None and str(new_hops[0].source_id) != current.chain[0].source.id:
            # Claims linking this one name its first source in their last hop: they would no longer hold.
            linking = await repo.linked_by(conn, claim_id)
            if linking:
                raise Conflict(
                    "chain[0]: other claims link this one upstream through its first source; edit their chains first",
                    linked_by=[str(c) for c in linking],
                )
        version = await repo.update(conn, claim_id, claims.claim_row(fields, origin, relays))
        if new_hops is not None:
            await repo.delete_hops(conn, claim_id)
            await claims_repo.insert_hops(conn, claim_id, new_hops)
            await repo.propagate_origin(conn, claim_id)
        edited = audit.changes(claims.snapshot(current), claims.snapshot(await claims.stored(conn, claim_id)))
        await claims.record(conn, claim_id, number=version, action="edit", changes=edited, actor=actor)


@retrying
async def retract(
    conn: asyncpg.Connection,
    claim_id: UUID,
    body: RetractionIn,
    precondition: Precondition,
    *,
    actor: str | None = None,
) -> None:
    """Mark an active claim retracted for a reason; it stays stored and readable."""
    reason = body.reason.strip()
    if not reason:
        raise InvalidInput.field("reason", "the reason is blank")
    async with conn.transaction():
        await _lock(conn, claim_id, precondition, "retracted again")
        version = await repo.retract(conn, claim_id, reason)
        retraction = {"status": {"from": "active", "to": "retracted"}, "reason": reason}
        await claims.record(conn, claim_id, number=version, action="retract", changes=retraction, actor=actor)


async def revisions(conn: asyncpg.Connection, claim_id: UUID) -> list[Revision]:
    """Every revision of a stored claim, oldest first."""
    if not await claims_repo.exists(conn, claim_id):
        raise NotFound(f"no claim has the id {str(claim_id)!r}")
    return [msgspec.convert(dict(r.items()), Revision, strict=False) for r in await repo.revisions(conn, claim_id)]
