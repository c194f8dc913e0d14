"""The rules' facts as the database holds them (``rules.Facts`` for ``POST /claims``, ``POST /sources``,
source edits and reviews), read and written inside the caller's transaction.

The matches of every inline name of a request are read in one query, before any lock: a name that
matches committed sources is decided from that read alone, since what is committed cannot be created
twice. Only the names matching nothing are locked: the shared lock keeps them apart from a bulk
import's batch, which creates sources under the same lock held exclusively; the name-key locks,
taken together in one order, make concurrent requests naming the same new source create it once.
They are read again after the locks, in a statement of their own, whose snapshot then shows what an
earlier holder committed. A source created here makes every name read again before the next is
resolved, as it may have taken that name or an alias of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from service.domain.names import deletes, name_key, name_tokens
from service.domain.rules import Membership, SourceRef, SourceToMake, UpstreamRef, untitled
from service.model import SourceIn
from service.repositories import claims as claims_repo
from service.repositories import sources as repo


def _names(source: SourceIn) -> list[str]:
    """The names the rules will look an inline source up by: its name, else without its title, and the
    organization the title names."""
    found = untitled(source)
    return [source.name] if found is None else [found.name, *([found.organization] if found.organization else [])]


class WouldWrite(Exception):
    """Read-only facts were asked to lock a name or make a source or a membership."""


class DatabaseFacts:
    """The stored facts of one request; ``inline`` names the sources it names inline, read together.

    ``writes=False`` reads only: where the rules would lock a name that matches nothing, or make a source
    or a membership, it raises ``WouldWrite`` instead, before anything is locked or written, so that a
    request whose names all match stored sources needs no transaction of its own (``claims.create``)."""

    def __init__(self, conn: asyncpg.Connection, inline: Sequence[SourceIn] = (), *, writes: bool = True) -> None:
        self.conn = conn
        self.writes = writes
        # A name without a letter or digit has no key: the rules refuse it when its turn comes.
        names = [name for source in inline for name in _names(source)]
        self.keys = sorted({key for name in names if (key := name_key(name))})
        self.locked: set[str] = set()
        # The matches of ``keys`` as last read; None before the first read and after a source was created.
        self.matches: dict[str, list[SourceRef]] | None = None
        self.created: list[UUID] = []
        """The sources made for this request, in order."""

    async def _read(self) -> dict[str, list[SourceRef]]:
        matches = await repo.matching_keys(self.conn, self.keys)
        unlocked = [key for key in self.keys if not matches[key] and key not in self.locked]
        if unlocked:
            if not self.writes:
                raise WouldWrite
            if not self.locked:
                await repo.lock_source_creation(self.conn, shared=True)
            await repo.lock_name_keys(self.conn, unlocked)
            self.locked.update(unlocked)
            matches |= await repo.matching_keys(self.conn, unlocked)
        refs = {key: [SourceRef(r["id"], r["name"], r["kind"]) for r in records] for key, records in matches.items()}
        self.matches = refs
        return refs

    async def named(self, key: str) -> Sequence[SourceRef]:
        if key not in self.keys:
            self.keys.append(key)
            self.matches = None
        matches = self.matches if self.matches is not None else await self._read()
        return matches[key]

    async def survivor(self, source_id: UUID) -> SourceRef | None:
        found = await repo.survivor_summary(self.conn, source_id)
        return SourceRef(found["id"], found["name"], found["kind"]) if found is not None else None

    async def upstream(self, claim_id: UUID) -> UpstreamRef | None:
        return await claims_repo.upstream(self.conn, claim_id)

    async def wikidata_taken(self, wikidata: str) -> bool:
        return await repo.wikidata_taken(self.conn, wikidata)

    async def create(self, source: SourceToMake) -> SourceRef:
        if not self.writes:
            raise WouldWrite
        source_id = await repo.insert(
            self.conn,
            id=source.id,
            kind=source.kind,
            name=source.name,
            name_key=source.name_key,
            description=source.description,
            identifiers=source.identifiers,
        )
        await repo.insert_aliases(self.conn, source_id, source.aliases)
        await index_names(self.conn, source_id)
        self.matches = None
        self.created.append(source_id)
        return SourceRef(source_id, source.name, source.kind)

    async def affiliate(self, source: SourceRef, membership: Membership) -> None:
        if not self.writes:
            raise WouldWrite
        await repo.insert_affiliation(self.conn, source.id, *membership)


async def index_names(conn: asyncpg.Connection, source_id: UUID) -> None:
    """Index a source's names and aliases for finding it under spelling variants."""
    tokens = {token for name in await repo.names_of(conn, source_id) for token in name_tokens(name)}
    pairs = sorted({(key, token) for token in tokens for key in deletes(token)})
    await repo.replace_name_tokens(conn, source_id, sorted(tokens), pairs)
