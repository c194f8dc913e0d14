"""Sources: creation with aliases and affiliations, and resolution of inline sources by name."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from service.domain.ids import field_id
from service.domain.names import deletes, name_key, name_similarity, name_tokens
from service.errors import AmbiguousSource, InvalidInput
from service.model import AffiliationIn, SourceIn, SourceSummary
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
        org_id = field_id(affiliation.organization_id, f"{field}.organization_id")
        org = await repo.summary(conn, org_id)
        if org is None:
            raise InvalidInput.field(f"{field}.organization_id", "no source has this id")
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


async def resolve(conn: asyncpg.Connection, source: SourceIn, field: str) -> UUID:
    """The stored source an inline source names: one match reuses it, none creates it.

    Several matches are narrowed to those of the requested kind; if still several, the request is
    ambiguous and the problem lists the candidates. An advisory lock on the name key makes
    concurrent requests naming the same new source create it once.
    """
    key = _key(source.name, f"{field}.name")
    await repo.lock_name_key(conn, key)
    matches = await repo.matching(conn, key)
    if len(matches) > 1:
        same_kind = [m for m in matches if m["kind"] == source.kind]
        matches = same_kind or matches
    if len(matches) == 1:
        matched: UUID = matches[0]["id"]
        return matched
    if not matches:
        return await create(conn, source, field=field)
    candidates = [msgspec.to_builtins(SourceSummary(id=str(m["id"]), name=m["name"], kind=m["kind"])) for m in matches]
    raise AmbiguousSource(
        f"{field}: {source.name!r} matches {len(matches)} stored sources; name one by source_id",
        errors=[InvalidInput.field(f"{field}.name", "matches several sources").errors[0]],
        candidates=candidates,
    )
