"""Sources: creation with aliases and affiliations, and resolution of inline sources by name."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from msgspec import UnsetType

from service import documents
from service.db import retrying
from service.domain import audit
from service.domain.ids import field_id
from service.domain.names import deletes, name_key, name_similarity, name_tokens
from service.errors import (
    AmbiguousSource,
    Conflict,
    InvalidInput,
    Moved,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from service.model import AffiliationIn, MergeIn, SourceIn, SourcePatch, SourceSummary
from service.repositories import sources as repo

AFFILIABLE_KINDS = frozenset({"organization", "outlet"})


def _key(name: str, field: str) -> str:
    key = name_key(name)
    if not key:
        raise InvalidInput.field(field, "a name needs at least one letter or digit")
    return key


async def create(conn: asyncpg.Connection, source: SourceIn, *, field: str = "", id: UUID | None = None) -> UUID:
    """Store a new source with its aliases and affiliations (inside the caller's transaction)."""
    prefix = f"{field}." if field else ""
    key = _key(source.name, f"{prefix}name")
    aliases = [(alias.strip(), _key(alias, f"{prefix}aliases[{i}]")) for i, alias in enumerate(source.aliases)]
    source_id = await repo.insert(
        conn,
        id=id,
        kind=source.kind,
        name=source.name.strip(),
        name_key=key,
        description=source.description,
        identifiers=source.identifiers,
    )
    await repo.insert_aliases(conn, source_id, [(a, k) for a, k in aliases if k != key])
    await index_names(conn, source_id)
    for i, affiliation in enumerate(source.affiliations):
        await affiliate(conn, source_id, affiliation, f"{prefix}affiliations[{i}]")
    return source_id


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


async def index_names(conn: asyncpg.Connection, source_id: UUID) -> None:
    """Index a source's names and aliases for finding it under spelling variants."""
    tokens = {token for name in await repo.names_of(conn, source_id) for token in name_tokens(name)}
    pairs = sorted({(key, token) for token in tokens for key in deletes(token)})
    await repo.replace_name_tokens(conn, source_id, sorted(tokens), pairs)


async def find(
    conn: asyncpg.Connection,
    q: str,
    *,
    kind: str | None,
    member_of: UUID | None,
    after: tuple[float, int] | None,
    limit: int,
    candidates: int = 500,
) -> list[tuple[float, asyncpg.Record]]:
    """Sources a name may mean, best first, as ``(score, record)``: 1.0 for an exact name or alias,
    less for a spelling variant, a transliteration, initials or part of the name.

    Keyset pagination on ``(score, seq)`` happens here, over at most ``candidates`` sources.
    """
    key = name_key(q)
    tokens = name_tokens(q)
    delete_keys = sorted({k for token in tokens for k in deletes(token)})
    ids = await repo.candidates(
        conn, key=key, delete_keys=delete_keys, kind=kind, member_of=member_of, limit=candidates
    )
    scored: list[tuple[float, asyncpg.Record]] = []
    for record in await repo.documents(conn, ids):
        names = [record["name"], *record["aliases"]]
        if key in {name_key(n) for n in names}:
            score = 1.0
        else:
            score = max(name_similarity(tokens, name_tokens(n)) for n in names)
        if score > 0:
            scored.append((round(score, 6), record))
    scored.sort(key=lambda pair: (pair[0], pair[1]["seq"]), reverse=True)
    if after is not None:
        scored = [(s, r) for s, r in scored if (s, r["seq"]) < after]
    return scored[:limit]


async def affiliate(conn: asyncpg.Connection, source_id: UUID, affiliation: AffiliationIn, field: str) -> None:
    """Record that ``source_id`` belongs to an organization or outlet (by id or inline)."""
    if (affiliation.organization_id is None) == (affiliation.organization is None):
        raise InvalidInput.field(field, "give exactly one of organization_id and organization")
    if affiliation.since and affiliation.until and affiliation.since > affiliation.until:
        raise InvalidInput.field(f"{field}.until", "until is before since")
    if affiliation.organization_id is not None:
        survivor = await repo.survivor(conn, field_id(affiliation.organization_id, f"{field}.organization_id"))
        if survivor is None:
            raise InvalidInput.field(f"{field}.organization_id", "no source has this id")
        org_id = survivor
    else:
        assert affiliation.organization is not None
        inline = SourceIn(name=affiliation.organization.name, kind=affiliation.organization.kind)
        org_id = await resolve(conn, inline, f"{field}.organization")
    org = await repo.summary(conn, org_id)
    assert org is not None
    if org["kind"] not in AFFILIABLE_KINDS:
        raise InvalidInput.field(field, f"{org['name']!r} is a {org['kind']}, not an organization or outlet")
    if org_id == source_id:
        raise InvalidInput.field(field, "a source cannot be affiliated to itself")
    await repo.insert_affiliation(conn, source_id, org_id, affiliation.role, affiliation.since, affiliation.until)


def _decide(source: SourceIn, matches: list[asyncpg.Record], field: str) -> UUID | None:
    """The stored source among ``matches`` an inline source names; None when there is none (to create it).

    Several matches are narrowed to those of the requested kind; if still several, the request is
    ambiguous and the problem lists the candidates.
    """
    if len(matches) > 1:
        same_kind = [m for m in matches if m["kind"] == source.kind]
        matches = same_kind or matches
    if len(matches) == 1:
        matched: UUID = matches[0]["id"]
        return matched
    if not matches:
        return None
    candidates = [msgspec.to_builtins(SourceSummary(id=str(m["id"]), name=m["name"], kind=m["kind"])) for m in matches]
    raise AmbiguousSource(
        f"{field}: {source.name!r} matches {len(matches)} stored sources; name one by source_id",
        errors=[InvalidInput.field(f"{field}.name", "matches several sources").errors[0]],
        candidates=candidates,
    )


class InlineSources:
    """Resolves the inline sources of one request, one after another, reading their names' matches together.

    One match reuses it, none creates it, several are narrowed by kind or refused (``_decide``).
    The matches of every name are read in one query, before any lock: a name that matches committed
    sources is decided from that read alone, since what is committed cannot be created twice. Only
    the names matching nothing are locked: the shared lock keeps them apart from a bulk import's
    batch, which creates sources under the same lock held exclusively; the name-key locks, taken
    together in one order, make concurrent requests naming the same new source create it once.
    They are read again after the locks, in a statement of their own, whose snapshot then shows
    what an earlier holder committed. A source created here makes every name read again before the
    next is resolved, as it may have taken that name or an alias of it.
    """

    def __init__(self, conn: asyncpg.Connection, sources: list[SourceIn]) -> None:
        self.conn = conn
        # A name without a letter or digit has no key: ``resolve`` refuses it when its turn comes.
        self.keys = sorted({key for source in sources if (key := name_key(source.name))})
        self.locked: set[str] = set()
        # The matches of ``keys`` as last read; None before the first read and after a source was created.
        self.matches: dict[str, list[asyncpg.Record]] | None = None

    async def _read(self) -> dict[str, list[asyncpg.Record]]:
        matches = await repo.matching_keys(self.conn, self.keys)
        unlocked = [key for key in self.keys if not matches[key] and key not in self.locked]
        if unlocked:
            if not self.locked:
                await repo.lock_source_creation(self.conn, shared=True)
            await repo.lock_name_keys(self.conn, unlocked)
            self.locked.update(unlocked)
            matches |= await repo.matching_keys(self.conn, unlocked)
        self.matches = matches
        return matches

    async def resolve(self, source: SourceIn, field: str) -> UUID:
        """The stored source an inline source names, created if none matches it."""
        key = _key(source.name, f"{field}.name")
        if key not in self.keys:
            self.keys.append(key)
            self.matches = None
        matches = self.matches if self.matches is not None else await self._read()
        found = _decide(source, matches[key], field)
        if found is not None:
            return found
        self.matches = None
        return await create(self.conn, source, field=field)


async def resolve(conn: asyncpg.Connection, source: SourceIn, field: str) -> UUID:
    """The stored source an inline source names: one match reuses it, none creates it (see ``InlineSources``)."""
    return await InlineSources(conn, [source]).resolve(source, field)


# --- edits and merges ----------------------------------------------------------------------------


def etag(version: int) -> str:
    """The strong ``ETag`` of a source at ``version``."""
    return f'"{version}"'


def if_match_allows(if_match: str, version: int) -> bool:
    """Whether an `If-Match` header (a list of tags, or `*`) names ``version``."""
    tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    return "*" in tags or etag(version) in tags


async def _moved(conn: asyncpg.Connection, source_id: UUID, suffix: str = "") -> Moved:
    survivor = await repo.survivor(conn, source_id)
    return Moved(f"/sources/{survivor}{suffix}")


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
    conn: asyncpg.Connection, source_id: UUID, patch: SourcePatch, if_match: str | None, *, actor: str | None = None
) -> None:
    """Apply a patch to a source if ``if_match`` names its current version; the audit log keeps what changed."""
    async with conn.transaction():
        current = (await repo.lock(conn, [source_id])).get(source_id)
        if current is None:
            raise NotFound(f"no source has the id {str(source_id)!r}")
        await redirect_if_merged(conn, current)
        if if_match is None:
            raise PreconditionRequired("send If-Match with the ETag of the source as you read it")
        if not if_match_allows(if_match, current["version"]):
            raise PreconditionFailed(
                f"the source is at {etag(current['version'])}, not {if_match}: read it again and retry"
            )
        before = await _snapshot(conn, source_id)
        name = current["name"] if isinstance(patch.name, UnsetType) else patch.name.strip()
        key = _key(name, "name")
        await repo.update(
            conn,
            source_id,
            name=name,
            name_key=key,
            description=current["description"] if isinstance(patch.description, UnsetType) else patch.description,
            identifiers=current["identifiers"] if isinstance(patch.identifiers, UnsetType) else patch.identifiers,
        )
        if not isinstance(patch.aliases, UnsetType):
            aliases = [(alias.strip(), _key(alias, f"aliases[{i}]")) for i, alias in enumerate(patch.aliases)]
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
