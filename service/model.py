"""The public model: request and response bodies of PRODUCT.md section 3, as msgspec Structs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

SourceKind = Literal["person", "organization", "outlet", "anonymous"]
ClaimKind = Literal["quote", "paraphrase"]
ClaimStatus = Literal["active", "retracted"]

Name = Annotated[str, Meta(min_length=1, max_length=300, description="A name as written.")]
Label = Annotated[str, Meta(min_length=1, max_length=300)]
ClaimText = Annotated[str, Meta(min_length=1, max_length=10_000, description="The statement as it appeared.")]
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
Language = Annotated[
    str,
    Meta(
        pattern=LANGUAGE_PATTERN,
        max_length=35,
        description="BCP 47 language tag, lower-case primary subtag.",
        examples=["en"],
    ),
]
Id = Annotated[str, Meta(description="An opaque id.", examples=["0b5e4a5c-8d0e-4f43-9c52-2d5c7e0b9f10"])]
AwareDateTime = Annotated[datetime, Meta(tz=True, description="RFC 3339 with an offset.")]


class Base(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know."""


class Out(msgspec.Struct, kw_only=True):
    """Response bodies."""


# --- sources -----------------------------------------------------------------------------------


class OrganizationRef(Base):
    """An organization or outlet named inline inside an affiliation."""

    name: Name
    kind: Literal["organization", "outlet"] = "organization"


class AffiliationIn(Base):
    """Membership of an organization or outlet, by id or inline."""

    organization_id: Id | None = None
    organization: OrganizationRef | None = None
    role: Label | None = None
    since: date | None = None
    until: date | None = None


class SourceIn(Base):
    """A source to create, as a body of ``POST /sources`` or inline in a hop."""

    name: Name
    kind: SourceKind
    aliases: Annotated[list[Name], Meta(max_length=100)] = msgspec.field(default_factory=list)
    description: Annotated[str, Meta(max_length=2_000)] | None = None
    identifiers: Annotated[
        dict[
            Annotated[str, Meta(min_length=1, max_length=50)],
            Annotated[str, Meta(min_length=1, max_length=500)],
        ],
        Meta(max_length=20, description='External identifiers, e.g. {"wikidata": "Q42"}.'),
    ] = msgspec.field(default_factory=dict)
    affiliations: Annotated[list[AffiliationIn], Meta(max_length=50)] = msgspec.field(default_factory=list)


class SourceSummary(Out):
    """A source in brief, as it appears inside claims and traces."""

    id: Id
    name: str
    kind: SourceKind


class Affiliation(Out):
    """A membership: ``role`` at ``organization`` from ``since`` to ``until``."""

    organization: SourceSummary
    role: str | None
    since: date | None
    until: date | None


class Source(Out):
    """A source with its aliases, identifiers and affiliations."""

    id: Id
    name: str
    kind: SourceKind
    aliases: list[str]
    description: str | None
    identifiers: dict[str, str]
    affiliations: list[Affiliation]
    created_at: datetime
    score: float | None = None
    """How well the source matches ``q`` in [0, 1]; null when listing without ``q``."""


class SourcePatch(Base):
    """Fields to change; each given one replaces the stored value (aliases and affiliations whole)."""

    name: Name | UnsetType = UNSET
    aliases: Annotated[list[Name], Meta(max_length=100)] | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=2000)] | UnsetType | None = UNSET
    identifiers: (
        Annotated[
            dict[Annotated[str, Meta(min_length=1, max_length=50)], Annotated[str, Meta(min_length=1, max_length=500)]],
            Meta(max_length=20),
        ]
        | UnsetType
    ) = UNSET
    affiliations: Annotated[list[AffiliationIn], Meta(max_length=50)] | UnsetType = UNSET


class MergeIn(Base):
    """Fold this source into ``into``."""

    into: Id


class SourcePage(Out):
    """One page of sources."""

    items: list[Source]
    next_cursor: str | None


# --- claims ------------------------------------------------------------------------------------


class AppearedIn(Base):
    """The published piece a claim appeared in."""

    url: Annotated[str, Meta(max_length=2_000)] | None = None
    title: Annotated[str, Meta(max_length=1_000)] | None = None
    author: Annotated[str, Meta(max_length=300)] | None = None
    outlet: Annotated[str, Meta(max_length=300)] | None = None
    published_at: AwareDateTime | None = None


class HopIn(Base):
    """One hop of a chain: a source by ``source_id`` or inline ``source``, and its cue."""

    cue: Annotated[str, Meta(min_length=1, max_length=300, examples=["citing"])]
    source_id: Id | None = None
    source: SourceIn | None = None
    role: Label | None = None
    upstream_claim_id: Id | None = None


class ClaimIn(Base):
    """A claim to create with its chain, outermost reporter first, origin last."""

    text: ClaimText
    kind: ClaimKind
    chain: Annotated[list[HopIn], Meta(min_length=1, max_length=16)]
    language: Language = "en"
    appeared_in: AppearedIn = msgspec.field(default_factory=AppearedIn)
    stated_at: AwareDateTime | None = None


class Hop(Out):
    """A stored hop."""

    position: int
    source: SourceSummary
    cue: str
    role: str | None
    upstream_claim_id: Id | None


class AppearedInOut(Out):
    """Where a claim appeared."""

    url: str | None
    title: str | None
    author: str | None
    outlet: str | None
    published_at: datetime | None


class Claim(Out):
    """A stored claim with its own chain and its traced origin."""

    id: Id
    text: str
    kind: ClaimKind
    language: str
    appeared_in: AppearedInOut
    stated_at: datetime | None
    chain: list[Hop]
    origin: SourceSummary
    created_at: datetime
    status: ClaimStatus
    """``retracted`` claims stay readable but leave statement traces unless asked for."""
    retraction: Retraction | None
    """Why and when the claim was retracted; null while it is active."""


class ClaimPage(Out):
    """One page of claims."""

    items: list[Claim]
    next_cursor: str | None


# --- traces ------------------------------------------------------------------------------------


class ClaimSummary(Out):
    """The traced claim in brief."""

    id: Id
    text: str
    kind: ClaimKind
    language: str
    appeared_in: AppearedInOut
    stated_at: datetime | None
    status: ClaimStatus


class PathHop(Out):
    """A hop of a trace path; ``claim_id`` is the stored claim it was recorded in."""

    position: int
    source: SourceSummary
    cue: str
    role: str | None
    claim_id: Id


class Origin(Out):
    """Who first said it, in which role, on whose behalf."""

    source: SourceSummary
    role: str | None
    on_behalf_of: SourceSummary | None


class Trace(Out):
    """The full provenance of one claim: the path with upstream claims expanded, and its origin."""

    claim: ClaimSummary
    path: list[PathHop]
    origin: Origin
    hops: int
    anonymous_origin: bool
    upstream_depth: int
    """How many upstream links the path followed."""
    truncated: bool
    """True when the upstream links went deeper than the service follows."""
    related: list[Relation] = msgspec.field(default_factory=list)
    """Claims that say the same, support, contradict or correct this one, each with its origin."""


class StatementMatch(Out):
    """A stored claim matching a free-text statement, with its trace."""

    score: Annotated[float, Meta(ge=0, le=1)]
    trace: Trace


class StatementTrace(Out):
    """The stored claims that best match a statement, best first."""

    statement: str
    items: list[StatementMatch]


# --- relations ---------------------------------------------------------------------------------

RelationType = Literal["same_as", "supports", "contradicts", "corrects"]


class RelationIn(Base):
    """A relation from this claim to ``target_id``; same_as and contradicts are symmetric."""

    type: RelationType
    target_id: Id
    note: Annotated[str, Meta(max_length=2_000)] | None = None
    asserted_by: Annotated[str, Meta(min_length=1, max_length=300)] | None = None
    """Who asserts the relation; authentication will fill it."""


class RelatedClaim(Out):
    """The other claim of a relation, with its traced origin."""

    id: Id
    text: str
    kind: ClaimKind
    origin: SourceSummary


class Relation(Out):
    """A relation seen from one claim: ``mutual`` (symmetric), ``outgoing`` or ``incoming``."""

    id: Id
    type: RelationType
    direction: Literal["mutual", "outgoing", "incoming"]
    claim: RelatedClaim
    note: str | None
    asserted_by: str | None
    created_at: datetime


class RelationList(Out):
    """Every relation of one claim, oldest first."""

    items: list[Relation]


# --- propagation and networks ------------------------------------------------------------------


class PropagationNode(Out):
    """A source on the traced path of at least one claim of the group."""

    source: SourceSummary
    is_origin: bool
    """It is the origin of at least one claim of the group."""
    claims: list[Id]
    """The group's claims whose path it is on."""


class PropagationEdge(Out, rename={"from_": "from"}):
    """Source ``to`` took the statement from source ``from``, as the paths of ``claims`` show."""

    from_: Id
    """The source that gave it (nearer the origin)."""
    to: Id
    """The source that relayed it (nearer the reader)."""
    cues: list[str]
    """The attribution words naming ``from`` on those paths ("citing", "told reporters")."""
    claims: list[Id]
    """The group's claims whose path shows this step."""


class FirstSaid(Out):
    """Who said it first: the origin of the group's earliest dated claim."""

    source: SourceSummary
    role: str | None
    on_behalf_of: SourceSummary | None
    claim_id: Id
    """The claim of the group this origin and date come from."""
    said_at: datetime | None
    """That claim's ``stated_at``, else its ``appeared_in.published_at``; null when no claim is dated."""


class Propagation(Out):
    """How one statement spread: the traces of a claim's ``same_as`` group merged into a graph by source."""

    claim_id: Id
    claims: list[Id]
    """The group: this claim first, then every claim linked to it by ``same_as``, directly or not."""
    nodes: list[PropagationNode]
    """Every source on a path, origins' side first."""
    edges: list[PropagationEdge]
    """Who took it from whom, once per pair of sources, origins' side first."""
    first: FirstSaid
    truncated: bool
    """True when the group or an upstream chain was larger than the service follows."""


class NetworkLink(Out):
    """Another source, and in how many claims' chains it stands next to this one."""

    source: SourceSummary
    claims: int


class SourceNetwork(Out):
    """Whom a source cites and who cites it, in the chains of stored claims, most claims first."""

    source: SourceSummary
    cites: list[NetworkLink]
    """Sources right after it in a chain: those it took statements from."""
    cited_by: list[NetworkLink]
    """Sources right before it in a chain: those that took statements from it."""
    cites_total: int
    """How many sources it cites in all; ``cites`` stops at ``limit``."""
    cited_by_total: int
    """How many sources cite it in all; ``cited_by`` stops at ``limit``."""


# --- reviews -----------------------------------------------------------------------------------

WebUrl = Annotated[
    str,
    Meta(pattern=r"^https?://[^\s/?#]+\S*$", max_length=2_000, description="An http or https URL."),
]


class RatingIn(Base):
    """A verdict: a label, and optionally a value on the scale from ``worst`` to ``best``."""

    label: Annotated[str, Meta(min_length=1, max_length=100, examples=["False"])]
    value: float | None = None
    """Needs ``best`` and ``worst``, and lies between them."""
    best: float | None = None
    """The best value of the scale; given with ``worst``, and above it."""
    worst: float | None = None
    """The worst value of the scale; given with ``best``, and below it."""


class ReviewIn(Base):
    """A fact-checker's verdict on a claim: the reviewer by ``reviewer_id`` or inline ``reviewer``."""

    rating: RatingIn
    reviewed_at: AwareDateTime
    reviewer_id: Id | None = None
    reviewer: SourceIn | None = None
    """Resolved like an inline source of a hop: one match reuses it, none creates it."""
    url: WebUrl | None = None
    """Where the review is published."""
    summary: Annotated[str, Meta(max_length=5_000)] | None = None


class Rating(Out):
    """A stored verdict: its label, and its value on a scale when one was given."""

    label: str
    value: float | None
    best: float | None
    worst: float | None


class Review(Out):
    """A stored review of a claim."""

    id: Id
    claim_id: Id
    reviewer: SourceSummary
    rating: Rating
    url: str | None
    summary: str | None
    reviewed_at: datetime
    created_at: datetime


class ReviewList(Out):
    """Every review of one claim, oldest first."""

    items: list[Review]


class SchemaOrgNode(Out, rename="camel", omit_defaults=True):
    """A schema.org node of JSON-LD: camelCase terms, absent values left out."""


class SchemaOrgPerson(SchemaOrgNode, tag_field="@type", tag="Person"):
    """A person, by name."""

    name: str


class SchemaOrgOrganization(SchemaOrgNode, tag_field="@type", tag="Organization"):
    """An organization, outlet or anonymous source, by name."""

    name: str


class SchemaOrgCreativeWork(SchemaOrgNode, tag_field="@type", tag="CreativeWork"):
    """A published piece a claim appeared in."""

    url: str | None = None
    headline: str | None = None
    author: SchemaOrgPerson | None = None
    publisher: SchemaOrgOrganization | None = None
    date_published: datetime | None = None


class SchemaOrgClaim(SchemaOrgNode, tag_field="@type", tag="Claim"):
    """The claim reviewed: its traced origin and the pieces it appeared in."""

    author: SchemaOrgPerson | SchemaOrgOrganization
    appearance: list[SchemaOrgCreativeWork] = msgspec.field(default_factory=list)
    first_appearance: SchemaOrgCreativeWork | None = None


class SchemaOrgRating(SchemaOrgNode, tag_field="@type", tag="Rating"):
    """A rating: ``alternateName`` is the label."""

    alternate_name: str
    rating_value: float | None = None
    best_rating: float | None = None
    worst_rating: float | None = None


class SchemaOrgClaimReview(SchemaOrgNode, tag_field="@type", tag="ClaimReview"):
    """One review as a schema.org ClaimReview."""

    author: SchemaOrgPerson | SchemaOrgOrganization
    claim_reviewed: str
    review_rating: SchemaOrgRating
    item_reviewed: SchemaOrgClaim
    date_published: datetime
    """When it was reviewed (``reviewed_at``), in UTC."""
    url: str | None = None
    description: str | None = None


class ClaimReviewDocument(Out, rename={"context": "@context", "graph": "@graph"}):
    """A JSON-LD document: the reviews of one claim as schema.org ClaimReviews."""

    context: Literal["https://schema.org"]
    graph: list[SchemaOrgClaimReview]


# --- history -----------------------------------------------------------------------------------

RevisionAction = Literal["create", "edit", "retract"]


class Retraction(Out):
    """Why and when a claim was retracted."""

    reason: str
    retracted_at: datetime


class ClaimPatch(Base):
    """Fields to change; each given one replaces the stored value (``appeared_in`` and ``chain`` whole)."""

    text: ClaimText | UnsetType = UNSET
    kind: ClaimKind | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    appeared_in: AppearedIn | UnsetType = UNSET
    stated_at: AwareDateTime | UnsetType | None = UNSET
    chain: Annotated[list[HopIn], Meta(min_length=1, max_length=16)] | UnsetType = UNSET


class RetractionIn(Base):
    """Why a claim is retracted."""

    reason: Annotated[str, Meta(min_length=1, max_length=2_000, examples=["The quote was misattributed."])]


class Revision(Out):
    """One change of a claim: ``create`` holds the whole claim, ``edit`` each changed field as
    ``{"from": ..., "to": ...}``, ``retract`` the status change and the reason."""

    number: int
    """The claim's version after this change (its ``ETag``)."""
    action: RevisionAction
    changes: dict[str, Any]
    actor: str | None
    """Who made the change; authentication will fill it."""
    created_at: datetime


class RevisionList(Out):
    """Every revision of one claim, oldest first."""

    items: list[Revision]


# --- health ------------------------------------------------------------------------------------


class Health(Out):
    """Liveness or readiness."""

    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"] | None = None
