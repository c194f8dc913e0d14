"""A batch of claims resolved in memory by the rules of ``POST /claims`` (``service.domain.rules``),
into the rows a bulk import copies.

What the lines of a batch may need of the stored data is read beforehand in a few set-based queries
(``StoredFacts``: the sources under the batch's name keys, the survivors of the source ids named,
the upstream claims, the Wikidata identifiers taken). ``Batch`` answers the rules' ``Facts`` from
those and from what the earlier lines of the batch made, line after line in file order, so that each
line meets exactly the sources and claims it would have met had every line been POSTed in turn, and
gets the same first error. A refused line leaves nothing behind: the sources it would have made are
forgotten with it.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

import msgspec

from service.domain import rules
from service.domain.claims import claim_row
from service.domain.names import deletes, name_key, name_tokens
from service.domain.rules import Membership, SourceRef, SourceToMake, UpstreamRef, at_once
from service.imports.store import NewClaim, NewSource, StoredFacts
from service.model import ClaimIn

_NO_SOURCES: list[SourceRef] = []  # never changed


def _moment(value: datetime | None) -> Any:
    """A time as a claim's snapshot records it: as stored (in UTC), then encoded."""
    return msgspec.to_builtins(value.astimezone(UTC)) if value is not None else None


@dataclass
class _Made:
    """What the line being resolved has made so far: kept if it is stored, forgotten if refused."""

    sources: list[NewSource] = field(default_factory=list)
    by_key: dict[str, list[SourceRef]] = field(default_factory=dict)
    by_id: dict[UUID, NewSource] = field(default_factory=dict)
    wikidata: set[str] = field(default_factory=set)

    def add(self, source: NewSource, keys: list[str]) -> SourceRef:
        ref = source.ref
        self.sources.append(source)
        self.by_id[source.id] = source
        for key in keys:
            self.by_key.setdefault(key, []).append(ref)
        if "wikidata" in source.made.identifiers:
            self.wikidata.add(source.made.identifiers["wikidata"])
        return ref


class Batch:
    """Lines resolved in file order against the stored facts and each other; what to store piles up."""

    def __init__(self, facts: StoredFacts) -> None:
        self.facts = facts
        self.sources: list[NewSource] = []
        self.claims: list[NewClaim] = []
        self._by_key: dict[str, list[SourceRef]] = {}
        self._wikidata: set[str] = set()
        self._stored: dict[UUID, UpstreamRef] = {}
        """The claims of the batch so far, for the lines after them to link upstream."""
        self._made = _Made()
        self._id_texts: dict[UUID, str] = {}
        """Source ids as the snapshots write them: a few sources are on most hops."""

    def created_by_key(self) -> dict[str, list[SourceRef]]:
        """The sources the batch creates, under each key they will be found by, in creation order."""
        return self._by_key

    def created_wikidata(self) -> set[str]:
        """The Wikidata identifiers of the sources the batch creates."""
        return self._wikidata

    def stored(self) -> dict[UUID, UpstreamRef]:
        """The claims the batch stores, as a later claim linking one upstream needs it."""
        return self._stored

    def add(self, claim: ClaimIn, claim_id: UUID | None) -> bool:
        """Request one line's claim: True if it is to be stored, False if its id already is.

        Raises what ``POST /claims`` would answer for it (``ProvenanceError``); nothing of it stays then.
        """
        if claim_id is not None and (claim_id in self.facts.stored_claim_ids or claim_id in self._stored):
            return False
        self._made = _Made()
        new, upstream = self._claim(claim, claim_id or uuid.uuid4())
        # Stored: what the line made is now there for the lines after it.
        self.sources += self._made.sources
        for key, refs in self._made.by_key.items():
            self._by_key.setdefault(key, []).extend(refs)
        self._wikidata |= self._made.wikidata
        self._stored[new.id] = upstream
        self.claims.append(new)
        return True

    # --- rules.Facts, answered from the facts read before the batch and what its lines made ----------

    async def named(self, key: str) -> list[SourceRef]:
        """Sources named or aliased ``key``, oldest first: stored ones, then those of the batch, then the line's."""
        stored = self.facts.sources_by_key.get(key, _NO_SOURCES)
        made = self._by_key.get(key), self._made.by_key.get(key)
        if made == (None, None):
            return stored
        return stored + (made[0] or []) + (made[1] or [])

    async def survivor(self, source_id: UUID) -> SourceRef | None:
        return self.facts.survivors.get(source_id)

    async def upstream(self, claim_id: UUID) -> UpstreamRef | None:
        return self._stored.get(claim_id) or self.facts.upstreams.get(claim_id)

    async def wikidata_taken(self, wikidata: str) -> bool:
        return wikidata in self.facts.wikidata_taken or wikidata in self._wikidata or wikidata in self._made.wikidata

    async def create(self, source: SourceToMake) -> SourceRef:
        names = [source.name, *(alias for alias, _ in source.aliases)]
        tokens = sorted({token for name in names for token in name_tokens(name)})
        new = NewSource(
            id=source.id or uuid.uuid4(),
            made=source,
            tokens=tokens,
            token_deletes=[(k, token) for token in tokens for k in deletes(token)],  # unique: tokens are
            affiliations=[],
        )
        return self._made.add(new, [source.name_key, *(key for _, key in source.aliases)])

    async def affiliate(self, source: SourceRef, membership: Membership) -> None:
        self._made.by_id[source.id].affiliations.append(
            (membership.organization_id, membership.role, membership.since, membership.until)
        )

    # --- the claim, from its chain as the rules resolved it --------------------------------------

    def _claim(self, claim: ClaimIn, claim_id: UUID) -> tuple[NewClaim, UpstreamRef]:
        """The claim to store, and what a claim linking it upstream will need of it."""
        chain = at_once(rules.resolve_chain(self, claim))
        appeared = claim.appeared_in
        own = {
            "text": claim.text,
            "kind": claim.kind,
            "language": claim.language,
            **msgspec.structs.asdict(appeared),
            "stated_at": claim.stated_at,
        }
        new = NewClaim(
            id=claim_id,
            row=claim_row(own, chain.origin, chain.relays),
            hops=[(hop.source.id, hop.cue, hop.role, hop.upstream_claim_id) for hop in chain.hops],
            # What service.domain.claims.snapshot records of the stored claim, made from what is stored.
            snapshot={
                "text": claim.text,
                "kind": claim.kind,
                "language": claim.language,
                "appeared_in": {
                    "url": appeared.url,
                    "title": appeared.title,
                    "author": appeared.author,
                    "outlet": appeared.outlet,
                    "published_at": _moment(appeared.published_at),
                },
                "stated_at": _moment(claim.stated_at),
                "chain": [
                    {
                        "source_id": self._id_texts.get(hop.source.id)
                        or self._id_texts.setdefault(hop.source.id, str(hop.source.id)),
                        "source_name": hop.source.name,
                        "cue": hop.cue,
                        "role": hop.role,
                        "upstream_claim_id": str(hop.upstream_claim_id) if hop.upstream_claim_id is not None else None,
                    }
                    for hop in chain.hops
                ],
            },
        )
        return new, UpstreamRef(chain.hops[0].source, chain.origin, chain.relays)


class Wanted(NamedTuple):
    """What a batch needs to read of the stored data."""

    claim_ids: list[UUID]
    keys: list[str]
    source_ids: list[UUID]
    upstream_ids: list[UUID]
    wikidata: list[str]


def wanted(claims: list[tuple[ClaimIn, UUID | None]]) -> Wanted:
    """What to read of the stored data for these claims (with their ids): their ids, name keys, source
    ids, upstream claim ids and Wikidata identifiers."""
    keys: set[str] = set()
    source_ids: set[UUID] = set()
    upstream_ids: set[UUID] = set()
    wikidata: set[str] = set()

    def add_id(into: set[UUID], value: str | None) -> None:
        if value is not None:
            with contextlib.suppress(ValueError):  # not an id: the rules refuse it, naming the field
                into.add(UUID(value))

    for claim, _ in claims:
        for hop in claim.chain:
            add_id(source_ids, hop.source_id)
            add_id(upstream_ids, hop.upstream_claim_id)
            if hop.source is None:
                continue
            keys.add(name_key(hop.source.name))
            if "wikidata" in hop.source.identifiers:
                wikidata.add(hop.source.identifiers["wikidata"])
            for affiliation in hop.source.affiliations:
                add_id(source_ids, affiliation.organization_id)
                if affiliation.organization is not None:
                    keys.add(name_key(affiliation.organization.name))
    keys.discard("")
    return Wanted(
        claim_ids=list({claim_id for _, claim_id in claims if claim_id is not None}),
        keys=list(keys),
        source_ids=list(source_ids),
        upstream_ids=list(upstream_ids),
        wikidata=list(wikidata),
    )


def after(facts: StoredFacts, earlier: Batch, want: Wanted) -> StoredFacts:
    """``facts`` read before ``earlier`` was stored, as they will read once it is: what the next batch
    may be resolved against while ``earlier`` is being written."""
    made: dict[str, list[SourceRef]] = {}
    for key, refs in earlier.created_by_key().items():
        if key in facts.sources_by_key:
            made[key] = refs
    claim_ids = set(want.claim_ids)
    upstream_ids = set(want.upstream_ids)
    wikidata = set(want.wikidata)
    return StoredFacts(
        stored_claim_ids=facts.stored_claim_ids | {c.id for c in earlier.claims if c.id in claim_ids},
        sources_by_key={key: refs + made.get(key, []) for key, refs in facts.sources_by_key.items()},
        survivors=facts.survivors,
        upstreams=facts.upstreams | {i: ref for i, ref in earlier.stored().items() if i in upstream_ids},
        wikidata_taken=facts.wikidata_taken | {w for w in earlier.created_wikidata() if w in wikidata},
    )


class Known:
    """Everything stored that a batch could look up (``StoredFacts`` of every name key, source, claim and
    Wikidata identifier), kept up to date with what each batch stores: an initial load's memory, for
    the load is the only writer while it runs, so that its batches need not read the database.

    ``everything`` is what a batch is resolved against (``Batch(known.everything)``); ``add`` takes in
    what a batch stores, as ``after`` does for one batch. What is stored any other way (a line stored
    on its own) is not known here: the load then reads everything again.
    """

    def __init__(self, everything: StoredFacts) -> None:
        self.everything = everything

    def add(self, batch: Batch) -> None:
        """Take in what ``batch`` stores: its sources (each its own survivor, found under its keys after
        those stored before it) and its claims."""
        known = self.everything
        for key, refs in batch.created_by_key().items():
            known.sources_by_key.setdefault(key, []).extend(refs)
        known.survivors.update((s.id, s.ref) for s in batch.sources)
        known.wikidata_taken |= batch.created_wikidata()
        stored = batch.stored()
        known.stored_claim_ids.update(stored)
        known.upstreams.update(stored)
