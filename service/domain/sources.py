"""Sources: creation with aliases and affiliations, and resolution of inline sources by name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import msgspec
from msgspec import UnsetType

from service import documents
from service.db import retrying
from service.domain import audit, rules, titles
from service.domain.ids import field_id
from service.domain.names import deletes, name_key, name_similarity, name_tokens
from service.domain.stored import DatabaseFacts, index_names
from service.domain.versions import Precondition
from service.errors import (
    Conflict,
    InvalidInput,
    Moved,
    NotFound,
)
from service.model import AffiliationIn, MergeIn, Source, SourceIn, SourcePatch
from service.repositories import sources as repo


class StoredSource(NamedTuple):
    """A source as read, with its version (its ``ETag``), its place among the sources (a page's cursor)
    and, when it was found by name, its score."""

    source: Source
    version: int
    seq: int


def _stored(record: asyncpg.Record, score: float | None = None) -> StoredSource:
    return StoredSource(documents.source(record, score), record["version"], record["seq"])


async def read(conn: asyncpg.Connection, source_id: UUID, suffix: str = "") -> StoredSource:
    """One unmerged source; 404 if unknown, ``Moved`` to its survivor (with ``suffix``) if merged."""
    found = await repo.documents(conn, [source_id])
    if not found:
        raise NotFound(f"no source has the id {str(source_id)!r}")
    await redirect_if_merged(conn, found[0], suffix)
    return _stored(found[0])


async def read_many(conn: asyncpg.Connection, source_ids: Sequence[UUID]) -> list[Source]:
    """The sources of these ids that are stored, in their order."""
    return [documents.source(record) for record in await repo.documents(conn, source_ids)] if source_ids else []


async def page(
    conn: asyncpg.Connection, *, kind: str | None, member_of: UUID | None, before_seq: int | None, limit: int
) -> list[StoredSource]:
    """Unmerged sources, newest first, from before ``before_seq``: at most ``limit``."""
    records = await repo.page(conn, kind=kind, member_of=member_of, before_seq=before_seq, limit=limit)
    return [_stored(record) for record in records]


async def create(conn: asyncpg.Connection, source: SourceIn, *, field: str = "", id: UUID | None = None) -> UUID:
    """Store a new source with its aliases and affiliations (inside the caller's transaction), by the rules."""
    made = await rules.create_source(DatabaseFacts(conn), source, field, id=id)
    return made.id


@retrying
async def add(
    conn: asyncpg.Connection, source: SourceIn, *, actor: str | None, field: str = "", id: UUID | None = None
) -> UUID:
    """Store a new source as ``POST /sources`` and seeds do: in one transaction with its audit entry."""
    async with conn.transaction():
        source_id = await create(conn, source, field=field, id=id)
        change = msgspec.to_builtins(source)
        await audit.append(conn, actor=actor, action="create", entity_type="source", entity_id=source_id, change=change)
    return source_id


async def filter_id(conn: asyncpg.Connection, value: str | None, field: str) -> UUID | None:
    """A source id given as a filter, followed to its survivor if it was merged."""
    if value is None:
        return None
    source_id = field_id(value, field)
    return await repo.survivor(conn, source_id) or source_id


async def find(
    conn: asyncpg.Connection,
    q: str,
    *,
    kind: str | None,
    member_of: UUID | None,
    after: tuple[float, int] | None,
    limit: int,
    candidates: int = 500,
) -> list[StoredSource]:
    """Sources a name may mean, best first, each with its ``score``: 1.0 for an exact name or alias,
    less for a spelling variant, a transliteration, initials or part of the name.

    Keyset pagination on ``(score, seq)`` happens here, over at most ``candidates`` sources.
    """
    # "President Buhari" is looked for as written and without its title, each name scored by the better.
    bare = titles.split(q).name
    queries = [q] if not bare or bare == q.strip() else [q, bare]
    keyed = [(name_key(query), name_tokens(query)) for query in queries]
    ids: list[UUID] = []
    for key, tokens in keyed:
        delete_keys = sorted({k for token in tokens for k in deletes(token)})
        found = await repo.candidates(
            conn, key=key, delete_keys=delete_keys, kind=kind, member_of=member_of, limit=candidates
        )
        ids.extend(i for i in found if i not in ids)
    scored: list[tuple[float, asyncpg.Record]] = []
    for record in await repo.documents(conn, ids):
        names = [record["name"], *record["aliases"]]
        keys = {name_key(n) for n in names}
        score = max(
            1.0 if key in keys else max(name_similarity(tokens, name_tokens(n)) for n in names) for key, tokens in keyed
        )
        if score > 0:
            scored.append((round(score, 6), record))
    scored.sort(key=lambda pair: (pair[0], pair[1]["seq"]), reverse=True)
    if after is not None:
        scored = [(s, r) for s, r in scored if (s, r["seq"]) < after]
    return [_stored(record, score) for score, record in scored[:limit]]


async def resolve(conn: asyncpg.Connection, source: SourceIn, field: str) -> UUID:
    """The stored source an inline source names: one match reuses it, none creates it, several is a 422."""
    found: UUID = (await rules.resolve_source(DatabaseFacts(conn, [source]), source, field)).id
    return found


async def affiliate(conn: asyncpg.Connection, source_id: UUID, affiliation: AffiliationIn, field: str) -> None:
    """Record that a stored source belongs to an organization or outlet (by id or inline), by the rules."""
    summary = await repo.summary(conn, source_id)
    assert summary is not None
    source = rules.SourceRef(source_id, summary["name"], summary["kind"])
    facts = DatabaseFacts(conn)
    await facts.affiliate(source, await rules.member_of(facts, source, affiliation, field))


# --- edits and merges ----------------------------------------------------------------------------


async def _moved(conn: asyncpg.Connection, source_id: UUID, suffix: str = "") -> Moved:
    survivor = await repo.survivor(conn, source_id)
    assert survivor is not None  # a merged source's survivor is stored
    return Moved(survivor, suffix)


async def redirect_if_merged(conn: asyncpg.Connection, record: asyncpg.Record, suffix: str = "") -> None:
    """Raise ``Moved`` towards the survivor when ``record`` is a merged source."""
    if record["merged_into"] is not None:
        raise await _moved(conn, record["id"], suffix)


async def _snapshot(conn: asyncpg.Connection, source_id: UUID) -> dict[str, Any]:
    """What an edit may change of a source, as stored: the fields its audit entry compares."""
    [record] = await repo.documents(conn, [source_id])
    stored = msgspec.to_builtins(documents.source(record))
    return {field: stored[field] for field in ("name", "aliases", "description", "identifiers", "affiliations")}


@retrying
async def edit(
    conn: asyncpg.Connection,
    source_id: UUID,
    patch: SourcePatch,
    precondition: Precondition,
    *,
    actor: str | None = None,
) -> None:
    """Apply a patch to a source if the precondition allows its current version; the audit log keeps what
    changed."""
    async with conn.transaction():
        current = (await repo.lock(conn, [source_id])).get(source_id)
        if current is None:
            raise NotFound(f"no source has the id {str(source_id)!r}")
        await redirect_if_merged(conn, current)
        precondition.check("source", current["version"])
        before = await _snapshot(conn, source_id)
        name = current["name"] if isinstance(patch.name, UnsetType) else patch.name.strip()
        key = rules.key_of(name, "name")
        await repo.update(
            conn,
            source_id,
            name=name,
            name_key=key,
            description=current["description"] if isinstance(patch.description, UnsetType) else patch.description,
            identifiers=current["identifiers"] if isinstance(patch.identifiers, UnsetType) else patch.identifiers,
        )
        if not isinstance(patch.aliases, UnsetType):
            aliases = [(alias.strip(), rules.key_of(alias, f"aliases[{i}]")) for i, alias in enumerate(patch.aliases)]
            await repo.delete_aliases(conn, source_id)
            await repo.insert_aliases(conn, source_id, [(a, k) for a, k in aliases if k != key])
        if not isinstance(patch.affiliations, UnsetType):
            await repo.delete_affiliations(conn, source_id)
            for i, affiliation in enumerate(patch.affiliations):
                await affiliate(conn, source_id, affiliation, f"affiliations[{i}]")
        await index_names(conn, source_id)
        change = audit.changes(before, await _snapshot(conn, source_id))
        await audit.append(conn, actor=actor, action="edit", entity_type="source", entity_id=source_id, change=change)


@retrying
async def merge(conn: asyncpg.Connection, source_id: UUID, body: MergeIn, *, actor: str | None = None) -> UUID:
    """Fold ``source_id`` into ``body.into`` in one transaction; returns the survivor's id."""
    into = field_id(body.into, "into")
    async with conn.transaction():
        locked = await repo.lock(conn, [source_id, into])
        duplicate = locked.get(source_id)
        if duplicate is None:
            raise NotFound(f"no source has the id {str(source_id)!r}")
        if duplicate["merged_into"] is not None:
            survivor = await repo.survivor(conn, source_id)
            raise Conflict(f"this source was already merged into {survivor}", survivor=str(survivor))
        if into == source_id:
            raise InvalidInput.field("into", "a source cannot be merged into itself")
        target = locked.get(into)
        if target is None:
            raise InvalidInput.field("into", "no source has this id")
        if target["merged_into"] is not None:
            survivor = await repo.survivor(conn, into)
            raise InvalidInput.field("into", f"this source was itself merged into {survivor}; merge into that one")
        await repo.merge(conn, source_id, into, duplicate["identifiers"])
        await index_names(conn, into)
        change = {"into": str(into)}
        await audit.append(conn, actor=actor, action="merge", entity_type="source", entity_id=source_id, change=change)
    return into
