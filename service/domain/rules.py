"""The rules of a claim and its chain, in one place: every check ``POST /claims``, ``POST /sources``
and the bulk import make, and every error they give, with the field it names.

The rules read what is stored through ``Facts``, a small protocol: ``service.domain.stored`` answers
it from the database (a request), ``service.imports.resolve`` from memory (a batch of an import,
whose facts were read beforehand). This module does no I/O of its own, so the two cannot drift
apart. ``Facts`` is asynchronous because the database's answers are; the in-memory facts never
wait, and ``at_once`` runs the rules over them without an event loop.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from datetime import date
from typing import Any, NamedTuple, Protocol, TypeVar
from uuid import UUID

import msgspec

from service.domain import titles
from service.domain.ids import field_id
from service.domain.names import name_key
from service.errors import CONSTRAINT_PROBLEMS, AmbiguousSource, Conflict, InvalidInput
from service.model import AffiliationIn, ClaimIn, HopIn, SourceIn

AFFILIABLE_KINDS = frozenset({"organization", "outlet"})

T = TypeVar("T")


class SourceRef(NamedTuple):
    """A source as the rules need it: its id, name and kind."""

    id: UUID
    name: str
    kind: str


class UpstreamRef(NamedTuple):
    """What a hop linking an upstream claim needs of it."""

    first_source: SourceRef
    origin_source_id: UUID
    relay_source_ids: list[UUID]


class SourceToMake(NamedTuple):
    """A source the rules decided to create: its name and key, and its aliases with theirs (none under
    the name's key, one per key); ``id`` when the caller chose it (seeds)."""

    id: UUID | None
    kind: str
    name: str
    name_key: str
    description: str | None
    identifiers: dict[str, str]
    aliases: list[tuple[str, str]]


class Membership(NamedTuple):
    """An affiliation the rules decided to record."""

    organization_id: UUID
    role: str | None
    since: date | None
    until: date | None


class Hop(NamedTuple):
    """A hop as it is stored."""

    source: SourceRef
    cue: str
    role: str | None
    upstream_claim_id: UUID | None


class Chain(NamedTuple):
    """A resolved chain: its hops, its traced origin and its relays (following the upstream link)."""

    hops: list[Hop]
    origin: UUID
    relays: list[UUID]


class Facts(Protocol):
    """What the rules read of the stored data, and the two things they make: sources and memberships."""

    async def named(self, key: str) -> Sequence[SourceRef]:
        """Unmerged sources whose name or an alias folds to ``key``, oldest first (those made so far too)."""
        ...

    async def survivor(self, source_id: UUID) -> SourceRef | None:
        """The unmerged source ``source_id`` is or was merged into; None if it names none."""
        ...

    async def upstream(self, claim_id: UUID) -> UpstreamRef | None:
        """The stored claim ``claim_id`` as a hop linking it needs it; None if there is none."""
        ...

    async def wikidata_taken(self, wikidata: str) -> bool:
        """Whether a source already has this Wikidata identifier."""
        ...

    async def create(self, source: SourceToMake) -> SourceRef:
        """Make the source (found by ``named`` under its keys from then on)."""
        ...

    async def affiliate(self, source: SourceRef, membership: Membership) -> None:
        """Record the source's membership."""
        ...


def at_once(rules: Coroutine[Any, Any, T]) -> T:
    """The rules' answer over facts that never wait (in memory), without an event loop."""
    try:
        rules.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    rules.close()
    raise RuntimeError("the rules waited on facts that were to be in memory")


def key_of(name: str, field: str) -> str:
    """The key a name is found by; a name without a letter or digit has none and is refused."""
    key = name_key(name)
    if not key:
        raise InvalidInput.field(field, "a name needs at least one letter or digit")
    return key


def check_text(text: str) -> None:
    """A claim's text must say something."""
    if not text.strip():
        raise InvalidInput.field("text", "the text is blank")


def conflict(constraint: str) -> Conflict:
    """The 409 the database's own constraint would give."""
    return Conflict(CONSTRAINT_PROBLEMS[constraint][1], constraint=constraint)


# --- sources -------------------------------------------------------------------------------------


def decide(source: SourceIn, matches: Sequence[SourceRef], field: str) -> SourceRef | None:
    """The stored source among ``matches`` an inline source names; None when there is none (to create it).

    Several matches are narrowed to those of the requested kind; if still several, the request is
    ambiguous and the problem lists the candidates, never choosing one.
    """
    if len(matches) > 1:
        matches = [m for m in matches if m.kind == source.kind] or matches
    if len(matches) == 1:
        return matches[0]
    if not matches:
        return None
    candidates = [{"id": str(m.id), "name": m.name, "kind": m.kind} for m in matches]  # as SourceSummary
    raise AmbiguousSource(
        f"{field}: {source.name!r} matches {len(matches)} stored sources; name one by source_id",
        errors=[InvalidInput.field(f"{field}.name", "matches several sources").errors[0]],
        candidates=candidates,
    )


async def resolve_source(facts: Facts, source: SourceIn, field: str) -> SourceRef:
    """The stored source an inline source names: one match reuses it, none creates it, several is a 422."""
    key = key_of(source.name, f"{field}.name")
    found = decide(source, await facts.named(key), field)
    return found if found is not None else await create_source(facts, source, field)


async def create_source(facts: Facts, source: SourceIn, field: str = "", *, id: UUID | None = None) -> SourceRef:
    """Make a new source with its aliases and affiliations (under ``id`` if given)."""
    prefix = f"{field}." if field else ""
    key = key_of(source.name, f"{prefix}name")
    keyed = [(alias.strip(), key_of(alias, f"{prefix}aliases[{i}]")) for i, alias in enumerate(source.aliases)]
    wikidata = source.identifiers.get("wikidata")
    if wikidata is not None and await facts.wikidata_taken(wikidata):
        raise conflict("sources_wikidata_key")
    aliases: list[tuple[str, str]] = []
    seen = {key}
    for alias, alias_key in keyed:
        if alias_key not in seen:
            seen.add(alias_key)
            aliases.append((alias, alias_key))
    new = SourceToMake(id, source.kind, source.name.strip(), key, source.description, source.identifiers, aliases)
    ref = await facts.create(new)
    members: set[tuple[UUID, str | None, date | None]] = set()
    for i, affiliation in enumerate(source.affiliations):
        membership = await member_of(facts, ref, affiliation, f"{prefix}affiliations[{i}]")
        if membership[:3] in members:
            raise conflict("affiliations_unique")
        members.add(membership[:3])
        await facts.affiliate(ref, membership)
    return ref


async def member_of(facts: Facts, source: SourceRef, affiliation: AffiliationIn, field: str) -> Membership:
    """The membership an affiliation records: its organization (by id, or inline: resolved like a hop's
    source) must be an organization or outlet, and not the source itself."""
    if (affiliation.organization_id is None) == (affiliation.organization is None):
        raise InvalidInput.field(field, "give exactly one of organization_id and organization")
    if affiliation.since and affiliation.until and affiliation.since > affiliation.until:
        raise InvalidInput.field(f"{field}.until", "until is before since")
    if affiliation.organization_id is not None:
        found = await facts.survivor(field_id(affiliation.organization_id, f"{field}.organization_id"))
        if found is None:
            raise InvalidInput.field(f"{field}.organization_id", "no source has this id")
        organization = found
    else:
        assert affiliation.organization is not None
        inline = SourceIn(name=affiliation.organization.name, kind=affiliation.organization.kind)
        organization = await resolve_source(facts, inline, f"{field}.organization")
    if organization.kind not in AFFILIABLE_KINDS:
        raise InvalidInput.field(
            field, f"{organization.name!r} is a {organization.kind}, not an organization or outlet"
        )
    if organization.id == source.id:
        raise InvalidInput.field(field, "a source cannot be affiliated to itself")
    return Membership(organization.id, affiliation.role, affiliation.since, affiliation.until)


# --- the chain -----------------------------------------------------------------------------------


def untitled(source: SourceIn) -> titles.Titled | None:
    """A person's inline name with a title or role around it ("Pentagon spokesman Patrick Ryder"), split;
    None for a name without one, for a name that is only a title ("the spokesman": matched whole), and
    for organizations, outlets and anonymous sources (whose names may well begin with "General")."""
    if source.kind != "person":
        return None
    found = titles.split(source.name)
    return found if found.name and found.name != source.name.strip() else None


async def _titled(facts: Facts, source: SourceIn, found: titles.Titled) -> SourceIn:
    """The inline source named without its title; should it be created, it belongs to the organization
    its title names when exactly one stored organization or outlet has that name."""
    affiliations = list(source.affiliations)
    if found.organization and (key := name_key(found.organization)):
        organizations = [m for m in await facts.named(key) if m.kind in AFFILIABLE_KINDS]
        if len(organizations) == 1:
            affiliations.append(AffiliationIn(organization_id=str(organizations[0].id), role=found.role))
    return msgspec.structs.replace(source, name=found.name, affiliations=affiliations)


async def _hop_source(facts: Facts, hop: HopIn, field: str) -> tuple[SourceRef | None, str | None]:
    """The hop's source, and the role a title in its inline name gave (when the hop names none)."""
    if hop.source_id is not None and hop.source is not None:
        raise InvalidInput.field(field, "give one of source_id and source, not both")
    if hop.source_id is not None:
        # A merged source's id still names it: the hop goes to the survivor.
        survivor = await facts.survivor(field_id(hop.source_id, f"{field}.source_id"))
        if survivor is None:
            raise InvalidInput.field(f"{field}.source_id", "no source has this id")
        return survivor, None
    if hop.source is not None:
        if (found := untitled(hop.source)) is not None:
            source = await _titled(facts, hop.source, found)
            return await resolve_source(facts, source, f"{field}.source"), found.role
        return await resolve_source(facts, hop.source, f"{field}.source"), None
    return None, None


async def _upstream(facts: Facts, hop: HopIn, field: str, is_last: bool) -> tuple[UUID, UpstreamRef]:
    """The upstream claim a hop links (it links one), checked: only from the last hop, to a stored claim."""
    assert hop.upstream_claim_id is not None
    if not is_last:
        raise InvalidInput.field(
            f"{field}.upstream_claim_id", "only the last hop of a chain may link an upstream claim"
        )
    upstream_id = field_id(hop.upstream_claim_id, f"{field}.upstream_claim_id")
    found = await facts.upstream(upstream_id)
    if found is None:
        raise InvalidInput.field(f"{field}.upstream_claim_id", "no claim has this id")
    return upstream_id, found


async def resolve_chain(facts: Facts, claim: ClaimIn) -> Chain:
    """A claim's chain as stored: each hop's source (by id, or inline: reused or created), its cue and
    role, the upstream claim its last hop may link; and the traced origin and relays."""
    check_text(claim.text)
    return await resolve_hops(facts, claim.chain)


async def resolve_hops(facts: Facts, chain: Sequence[HopIn]) -> Chain:
    """The stored hops of a chain, outermost first, its origin and its relays (following the upstream link)."""
    hops: list[Hop] = []
    linked: UpstreamRef | None = None
    for i, hop in enumerate(chain):
        field = f"chain[{i}]"
        if not hop.cue.strip():
            raise InvalidInput.field(f"{field}.cue", "the cue is blank")
        source, titled_role = await _hop_source(facts, hop, field)
        upstream_id = None
        # Most hops link no claim: their check is not awaited at all (an import resolves millions of hops).
        if hop.upstream_claim_id is not None:
            upstream_id, linked = await _upstream(facts, hop, field, is_last=i == len(chain) - 1)
            if source is None:
                source = linked.first_source
            elif source.id != linked.first_source.id:
                raise InvalidInput.field(field, "the hop linking an upstream claim must name that claim's first source")
        if source is None:
            raise InvalidInput.field(field, "give source_id or source")
        hops.append(Hop(source, hop.cue.strip(), hop.role if hop.role is not None else titled_role, upstream_id))
    on_path = [hop.source.id for hop in hops]
    if linked is None:
        origin, relays = on_path[-1], on_path[:-1]
    else:
        # The upstream path starts with the linking hop's source, so its relays include it.
        origin, relays = linked.origin_source_id, on_path[:-1] + list(linked.relay_source_ids)
    return Chain(hops, origin, list(dict.fromkeys(relays)))
