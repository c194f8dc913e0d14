"""A batch of claims resolved in memory by the rules of ``POST /claims``, into the rows a bulk import copies.

``POST /claims`` stores one claim at a time (``service.domain.claims``): it resolves each hop's
source (an inline source matching one stored source by name or alias is reused, none creates it,
several is a 422), follows the upstream link, and writes the claim, its hops, any new sources and
the first revision. A bulk import does the same for thousands of lines at once. What the lines of
a batch may need of the stored data is read beforehand in a few set-based queries (``StoredFacts``:
the sources under the batch's name keys, the survivors of the source ids named, the upstream
claims, the Wikidata identifiers taken); ``Batch`` then applies the rules line after line, in file
order, to those facts and to what the earlier lines of the batch made, so that each line meets
exactly the sources and claims it would have met had every line been POSTed in turn. The checks run
in the order ``POST /claims`` runs them, so a refused line gets the same first error. A refused line
leaves nothing behind: the sources it would have made are forgotten with it.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from uuid import UUID

import msgspec

from service.domain.claims import check_text, claim_row
from service.domain.ids import field_id
from service.domain.names import deletes, name_key, name_tokens
from service.domain.sources import AFFILIABLE_KINDS
from service.errors import AmbiguousSource, Conflict, InvalidInput
from service.model import AffiliationIn, ClaimIn, HopIn, SourceIn
from service.repositories.imports import NewClaim, NewSource, SourceRef, StoredFacts, UpstreamRef

_NO_SOURCES: list[SourceRef] = []  # never changed


def _key(name: str, field: str) -> str:
    key = name_key(name)
    if not key:
        raise InvalidInput.field(field, "a name needs at least one letter or digit")
    return key


def _moment(value: datetime | None) -> Any:
    """A time as a claim's snapshot records it: as stored (in UTC), then encoded."""
    return msgspec.to_builtins(value.astimezone(UTC)) if value is not None else None


@dataclass
class _Made:
    """What the line being resolved has made so far: kept if it is stored, forgotten if refused."""

    sources: list[NewSource] = field(default_factory=list)
    by_key: dict[str, list[SourceRef]] = field(default_factory=dict)
    wikidata: set[str] = field(default_factory=set)

    def add(self, source: NewSource, keys: list[str]) -> SourceRef:
        ref = SourceRef(source.id, source.name, source.kind)
        self.sources.append(source)
        for key in keys:
            self.by_key.setdefault(key, []).append(ref)
        if "wikidata" in source.identifiers:
            self.wikidata.add(source.identifiers["wikidata"])
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
        """Resolve one line's claim: True if it is to be stored, False if its id already is.

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

    # --- sources, as service.domain.sources resolves and creates them ----------------------------

    def _matching(self, key: str) -> list[SourceRef]:
        """Sources named or aliased ``key``, oldest first: stored ones, then those of the batch, then the line's."""
        stored = self.facts.sources_by_key.get(key, _NO_SOURCES)
        made = self._by_key.get(key), self._made.by_key.get(key)
        if made == (None, None):
            return stored
        return stored + (made[0] or []) + (made[1] or [])

    def _survivor(self, source_id: UUID) -> SourceRef | None:
        return self.facts.survivors.get(source_id)

    def _resolve(self, source: SourceIn, field: str) -> SourceRef:
        key = _key(source.name, f"{field}.name")
        matches = self._matching(key)
        if len(matches) > 1:
            matches = [m for m in matches if m.kind == source.kind] or matches
        if len(matches) == 1:
            return matches[0]
        if not matches:
            return self._create(source, field)
        candidates = [{"id": str(m.id), "name": m.name, "kind": m.kind} for m in matches]  # as SourceSummary
        raise AmbiguousSource(
            f"{field}: {source.name!r} matches {len(matches)} stored sources; name one by source_id",
            errors=[InvalidInput.field(f"{field}.name", "matches several sources").errors[0]],
            candidates=candidates,
        )

    def _create(self, source: SourceIn, field: str) -> SourceRef:
        prefix = f"{field}." if field else ""
        key = _key(source.name, f"{prefix}name")
        keyed = [(alias.strip(), _key(alias, f"{prefix}aliases[{i}]")) for i, alias in enumerate(source.aliases)]
        wikidata = source.identifiers.get("wikidata")
        if wikidata is not None and (
            wikidata in self.facts.wikidata_taken or wikidata in self._wikidata or wikidata in self._made.wikidata
        ):
            raise Conflict("another source already has this Wikidata identifier", constraint="sources_wikidata_key")
        # An alias under the name's key is not stored, nor a second alias under one key.
        aliases: list[tuple[str, str]] = []
        seen = {key}
        for alias, alias_key in keyed:
            if alias_key not in seen:
                seen.add(alias_key)
                aliases.append((alias, alias_key))
        name = source.name.strip()
        tokens = sorted({token for n in [name, *(a for a, _ in aliases)] for token in name_tokens(n)})
        new = NewSource(
            id=uuid.uuid4(),
            kind=source.kind,
            name=name,
            name_key=key,
            description=source.description,
            identifiers=source.identifiers,
            aliases=aliases,
            tokens=tokens,
            token_deletes=[(k, token) for token in tokens for k in deletes(token)],  # unique: tokens are
            affiliations=[],
        )
        ref = self._made.add(new, [key, *(k for _, k in aliases)])
        members: set[tuple[UUID, str | None, date | None]] = set()
        for i, affiliation in enumerate(source.affiliations):
            org_id = self._affiliate(ref, affiliation, f"{prefix}affiliations[{i}]")
            member = (org_id, affiliation.role, affiliation.since)
            if member in members:
                raise Conflict("this affiliation is already recorded", constraint="affiliations_unique")
            members.add(member)
            new.affiliations.append((org_id, affiliation.role, affiliation.since, affiliation.until))
        return ref

    def _affiliate(self, source: SourceRef, affiliation: AffiliationIn, field: str) -> UUID:
        if (affiliation.organization_id is None) == (affiliation.organization is None):
            raise InvalidInput.field(field, "give exactly one of organization_id and organization")
        if affiliation.since and affiliation.until and affiliation.since > affiliation.until:
            raise InvalidInput.field(f"{field}.until", "until is before since")
        if affiliation.organization_id is not None:
            found = self._survivor(field_id(affiliation.organization_id, f"{field}.organization_id"))
            if found is None:
                raise InvalidInput.field(f"{field}.organization_id", "no source has this id")
            org = found
        else:
            assert affiliation.organization is not None
            inline = SourceIn(name=affiliation.organization.name, kind=affiliation.organization.kind)
            org = self._resolve(inline, f"{field}.organization")
        if org.kind not in AFFILIABLE_KINDS:
            raise InvalidInput.field(field, f"{org.name!r} is a {org.kind}, not an organization or outlet")
        if org.id == source.id:
            raise InvalidInput.field(field, "a source cannot be affiliated to itself")
        return org.id

    # --- the chain, as service.domain.claims resolves it -----------------------------------------

    def _hop_source(self, hop: HopIn, field: str) -> SourceRef | None:
        if hop.source_id is not None and hop.source is not None:
            raise InvalidInput.field(field, "give one of source_id and source, not both")
        if hop.source_id is not None:
            survivor = self._survivor(field_id(hop.source_id, f"{field}.source_id"))
            if survivor is None:
                raise InvalidInput.field(f"{field}.source_id", "no source has this id")
            return survivor
        if hop.source is not None:
            return self._resolve(hop.source, f"{field}.source")
        return None

    def _upstream(self, hop: HopIn, field: str, is_last: bool) -> tuple[UUID, UpstreamRef] | None:
        if hop.upstream_claim_id is None:
            return None
        if not is_last:
            raise InvalidInput.field(
                f"{field}.upstream_claim_id", "only the last hop of a chain may link an upstream claim"
            )
        upstream_id = field_id(hop.upstream_claim_id, f"{field}.upstream_claim_id")
        found = self._stored.get(upstream_id) or self.facts.upstreams.get(upstream_id)
        if found is None:
            raise InvalidInput.field(f"{field}.upstream_claim_id", "no claim has this id")
        return upstream_id, found

    def _claim(self, claim: ClaimIn, claim_id: UUID) -> tuple[NewClaim, UpstreamRef]:
        """The claim to store, and what a claim linking it upstream will need of it."""
        check_text(claim.text)
        hops: list[tuple[SourceRef, str, str | None, UUID | None]] = []
        linked: UpstreamRef | None = None
        for i, hop in enumerate(claim.chain):
            field = f"chain[{i}]"
            if not hop.cue.strip():
                raise InvalidInput.field(f"{field}.cue", "the cue is blank")
            source = self._hop_source(hop, field)
            upstream = self._upstream(hop, field, is_last=i == len(claim.chain) - 1)
            upstream_id = None
            if upstream is not None:
                upstream_id, linked = upstream
                if source is None:
                    source = linked.first_source
                elif source.id != linked.first_source.id:
                    raise InvalidInput.field(
                        field, "the hop linking an upstream claim must name that claim's first source"
                    )
            if source is None:
                raise InvalidInput.field(field, "give source_id or source")
            hops.append((source, hop.cue.strip(), hop.role, upstream_id))

        on_path = [source.id for source, _, _, _ in hops]
        if linked is None:
            origin, relays = on_path[-1], on_path[:-1]
        else:
            origin, relays = linked.origin_source_id, on_path[:-1] + list(linked.relay_source_ids)
        relays = list(dict.fromkeys(relays))
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
            row=claim_row(own, origin, relays),
            hops=[(source.id, cue, role, upstream_id) for source, cue, role, upstream_id in hops],
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
                        "source_id": self._id_texts.get(source.id)
                        or self._id_texts.setdefault(source.id, str(source.id)),
                        "source_name": source.name,
                        "cue": cue,
                        "role": role,
                        "upstream_claim_id": str(upstream_id) if upstream_id is not None else None,
                    }
                    for source, cue, role, upstream_id in hops
                ],
            },
        )
        return new, UpstreamRef(hops[0][0], origin, relays)


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
        known.survivors.update((s.id, SourceRef(s.id, s.name, s.kind)) for s in batch.sources)
        known.wikidata_taken |= batch.created_wikidata()
        stored = batch.stored()
        known.stored_claim_ids.update(stored)
        known.upstreams.update(stored)
