"""The public model: request and response bodies of the HTTP contract (docs/contract.md), as msgspec Structs.

Class docstrings describe the schemas of the OpenAPI document; field descriptions and examples live
in ``Meta`` annotations (attribute docstrings do not reach it), shared through the aliases below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

SourceKind = Literal["person", "organization", "outlet", "anonymous"]
ClaimKind = Literal["quote", "paraphrase"]
ClaimStatus = Literal["active", "retracted"]

# --- field types shared by several bodies ------------------------------------------------------

# Patterns mean the same to the service (Python's re, searching) and to the OpenAPI document's
# readers (ECMA-262): no \s, \S or \w, whose sets differ, and no bare `$`, which Python also lets
# match before a final line feed.
WHITE_SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Python's white space (``str.isspace``) as the inside of a character class."""
END = r"$(?!\n)"
"""The end of the text, and only there."""
NOT_BLANK = rf"[^{WHITE_SPACE}]"
"""Text that is not only white space."""

Name = Annotated[
    str,
    Meta(min_length=1, max_length=300, description="A name as written, with a letter or digit at least."),
]
ClaimText = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=10_000,
        pattern=NOT_BLANK,
        description="The statement as it appeared.",
        examples=["Austin initiated the conversation and it was the first such call since March 2023"],
    ),
]
LANGUAGE_PATTERN = rf"^[a-z]{{2,3}}(-[A-Za-z0-9]{{1,8}})*{END}"
Language = Annotated[
    str,
    Meta(
        pattern=LANGUAGE_PATTERN,
        max_length=35,
        description="BCP 47 language tag, lower-case primary subtag.",
        examples=["en"],
    ),
]
StatementText = Annotated[
    str, Meta(description="The statement as it appeared.", examples=["Austin initiated the conversation"])
]
LanguageTag = Annotated[str, Meta(description="BCP 47 language tag.", examples=["en"])]
Id = Annotated[
    str,
    Meta(
        description="An opaque id.",
        examples=["0b5e4a5c-8d0e-4f43-9c52-2d5c7e0b9f10"],
        extra_json_schema={"format": "uuid"},
    ),
]
SourceId = Annotated[Id, Meta(description="A stored source's id.", examples=["9062f0c0-9021-5499-9d41-d89165299f5f"])]
ClaimId = Annotated[Id, Meta(description="A stored claim's id.", examples=["628da9bb-78db-5b7e-81c0-506713da09c8"])]
AwareDateTime = Annotated[
    datetime, Meta(tz=True, description="RFC 3339 with an offset, from 0001-01-02 to 9999-12-30 in UTC.")
]
EARLIEST, LATEST = datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC)


def check_moments(**moments: datetime | UnsetType | None) -> None:
    """Refuse a time PostgreSQL and Python cannot both hold: the very first and last instants of
    Python's range are PostgreSQL's -infinity and infinity, and read back without their offset."""
    for name, moment in moments.items():
        if isinstance(moment, datetime) and not EARLIEST <= moment <= LATEST:
            raise ValueError(f"{name}: a time from 0001-01-02 to 9999-12-30 in UTC")


CreatedAt = Annotated[datetime, Meta(description="When the service stored it (RFC 3339).")]
NextCursor = Annotated[
    str | None,
    Meta(description="Pass it as `cursor` to read the next page; null on the last page."),
]

SourceKindField = Annotated[
    SourceKind,
    Meta(
        description="What the source is: a `person`, an `organization`, an `outlet` (agency, newspaper, "
        'broadcaster, channel), or `anonymous` ("Pentagon sources", "a spokesman for the National '
        'Security Council").'
    ),
]
ClaimKindField = Annotated[ClaimKind, Meta(description="`quote` for verbatim words, `paraphrase` otherwise.")]
ClaimStatusField = Annotated[
    ClaimStatus,
    Meta(description="`active`, or `retracted`: a retracted claim stays readable but leaves statement traces."),
]
SourceName = Annotated[str, Meta(description="The source's canonical name.", examples=["Patrick Ryder"])]
Cue = Annotated[
    str,
    Meta(
        description='The attribution words as written: "reports", "citing", "told reporters", "said in a '
        'statement on Telegram".',
        examples=["citing"],
    ),
]
SpokenRole = Annotated[
    str,
    Meta(description="The role in which the source spoke, as written.", examples=["spokesman"]),
]
MemberRole = Annotated[
    str,
    Meta(description="The source's role in the organization, as written.", examples=["spokesman"]),
]
Since = Annotated[date, Meta(description="The first day of the membership (inclusive); null when not known.")]
Until = Annotated[date, Meta(description="The last day of the membership (inclusive); null while it lasts.")]
Identifiers = Annotated[
    dict[
        Annotated[str, Meta(min_length=1, max_length=50)],
        Annotated[str, Meta(min_length=1, max_length=500)],
    ],
    Meta(
        max_length=20,
        description="External identifiers by scheme, e.g. a Wikidata QID or a home page.",
        examples=[{"homepage": "https://www.defense.gov/"}],
    ),
]
Aliases = Annotated[
    list[Name],
    Meta(
        max_length=100,
        description="Other names it goes by: spellings, transliterations, short forms.",
        examples=[["Pat Ryder", "Maj. Gen. Patrick Ryder"]],
    ),
]
SourceDescription = Annotated[
    str,
    Meta(max_length=2_000, description="Who or what the source is, in a sentence."),
]
Url = Annotated[str, Meta(max_length=2_000, description="The piece's address.")]


class Base(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse fields they do not know."""


class Out(msgspec.Struct, kw_only=True):
    """Response bodies."""


# --- sources -----------------------------------------------------------------------------------


class OrganizationRef(Base):
    """An organization or outlet named inline inside an affiliation, resolved like an inline source
    of a hop: one stored source matching the name or an alias is reused, none is created, several is
    a 422."""

    name: Annotated[Name, Meta(description="The organization's name or an alias.", examples=["Pentagon"])]
    kind: Annotated[
        Literal["organization", "outlet"],
        Meta(description="`organization`, or `outlet` for a news medium; used when it is created."),
    ] = "organization"


class AffiliationIn(Base):
    """Membership of an organization or outlet, by id or inline: exactly one of `organization_id`
    and `organization`."""

    given_at_most_one: ClassVar = ("organization_id", "organization")
    given_at_least_one: ClassVar = ("organization_id", "organization")

    organization_id: (
        Annotated[SourceId, Meta(description="The organization's or outlet's id; or name it inline in `organization`.")]
        | None
    ) = None
    organization: (
        Annotated[
            OrganizationRef, Meta(description="The organization or outlet named inline; or give `organization_id`.")
        ]
        | None
    ) = None
    role: Annotated[MemberRole, Meta(min_length=1, max_length=300)] | None = None
    since: Since | None = None
    until: Until | None = None


class SourceIn(Base):
    """A source to create, as a body of `POST /sources` or inline in a hop."""

    name: Annotated[Name, Meta(description="The canonical name.", examples=["Patrick Ryder"])]
    kind: SourceKindField
    aliases: Aliases = msgspec.field(default_factory=list)
    description: SourceDescription | None = None
    identifiers: Identifiers = msgspec.field(default_factory=dict)
    affiliations: Annotated[
        list[AffiliationIn],
        Meta(max_length=50, description="Organizations and outlets it belongs to, with its role there."),
    ] = msgspec.field(default_factory=list)


class SourceSummary(Out):
    """A source in brief, as it appears inside claims and traces."""

    id: SourceId
    name: SourceName
    kind: SourceKindField


class Affiliation(Out):
    """A membership: `role` at `organization` from `since` to `until`."""

    organization: Annotated[SourceSummary, Meta(description="The organization or outlet.")]
    role: MemberRole | None
    since: Since | None
    until: Until | None


class Source(Out):
    """A source with its aliases, identifiers and affiliations."""

    id: SourceId
    name: SourceName
    kind: SourceKindField
    aliases: Annotated[list[str], Meta(description="Other names it goes by, sorted.")]
    description: Annotated[str, Meta(description="Who or what the source is.")] | None
    identifiers: Annotated[dict[str, str], Meta(description="External identifiers by scheme.")]
    affiliations: Annotated[list[Affiliation], Meta(description="Organizations and outlets it belongs to.")]
    created_at: CreatedAt
    score: (
        Annotated[
            float, Meta(description="How well the source matches `q`, from 0 to 1 (1 is an exact name or alias).")
        ]
        | None
    ) = None


class SourcePatch(Base):
    """Fields to change; each given one replaces the stored value (aliases and affiliations whole)."""

    name: Annotated[Name, Meta(description="The new canonical name.")] | UnsetType = UNSET
    aliases: Annotated[Aliases, Meta(description="The new aliases, replacing all of them.")] | UnsetType = UNSET
    description: (
        Annotated[SourceDescription, Meta(description="The new description; null clears it.")] | UnsetType | None
    ) = UNSET
    identifiers: Annotated[Identifiers, Meta(description="The new identifiers, replacing all of them.")] | UnsetType = (
        UNSET
    )
    affiliations: (
        Annotated[
            list[AffiliationIn],
            Meta(max_length=50, description="The new affiliations, replacing all of them."),
        ]
        | UnsetType
    ) = UNSET


class MergeIn(Base):
    """Fold this source into `into`."""

    into: Annotated[SourceId, Meta(description="The id of the source that survives the merge.")]


class SourcePage(Out):
    """One page of sources."""

    items: Annotated[list[Source], Meta(description="The sources of this page.")]
    next_cursor: NextCursor


DuplicateReason = Literal[
    "same name",
    "alias overlap",
    "title variant",
    "transliteration",
    "shared given name and surname",
    "shared surname and initial",
    "shared surname",
    "short form of the given name",
    "same affiliations",
]


class LikelyDuplicate(Out):
    """A stored source that is likely the same person or body as another, and why."""

    source: Annotated[SourceSummary, Meta(description="The likely duplicate.")]
    score: Annotated[float, Meta(ge=0, le=1, description="How likely the two are one, from 0 to 1.")]
    reasons: Annotated[
        list[DuplicateReason],
        Meta(description="What the two share: a name or alias, a name but for a title, a spelling, a surname...)"),
    ]


class LikelyDuplicates(Out):
    """The stored sources likely to be this one again, best first; nothing is merged."""

    items: Annotated[list[LikelyDuplicate], Meta(description="Best first.")]


# --- claims ------------------------------------------------------------------------------------


class AppearedIn(Base):
    """The published piece a claim appeared in."""

    url: Url | None = None
    title: Annotated[str, Meta(max_length=1_000, description="The piece's headline.")] | None = None
    author: Annotated[str, Meta(max_length=300, description="Who wrote the piece.")] | None = None
    outlet: Annotated[str, Meta(max_length=300, description="Where it was published.")] | None = None
    published_at: Annotated[AwareDateTime, Meta(description="When the piece was published.")] | None = None

    def __post_init__(self) -> None:
        check_moments(published_at=self.published_at)


ExtractedBy = Annotated[
    str,
    Meta(
        pattern=rf"^[a-z0-9][a-z0-9.-]{{0,99}}{END}",
        description="The extraction model whose proposal this is, as `POST /extract` names it in `model`; "
        "leave it out for a claim written by hand.",
        examples=["attribution-en-1.1.0"],
    ),
]


class HopIn(Base):
    """One hop of a chain: a source by `source_id` or inline `source` (not both), and its cue. Only a
    hop linking an upstream claim may leave out its source."""

    given_at_most_one: ClassVar = ("source_id", "source")
    given_at_least_one: ClassVar = ("source_id", "source", "upstream_claim_id")

    cue: Annotated[Cue, Meta(min_length=1, max_length=300, pattern=NOT_BLANK)]
    source_id: (
        Annotated[SourceId, Meta(description="The hop's source by id; or name it inline in `source`.")] | None
    ) = None
    source: (
        Annotated[
            SourceIn,
            Meta(
                description="The hop's source named inline: one stored source matching its name or an alias "
                "is reused, none is created, several is a 422 listing the candidates."
            ),
        ]
        | None
    ) = None
    role: Annotated[SpokenRole, Meta(min_length=1, max_length=300)] | None = None
    upstream_claim_id: (
        Annotated[
            ClaimId,
            Meta(
                description="The stored claim this hop stands for (only on the last hop), whose chain the trace "
                "follows on; the hop may then leave out its source."
            ),
        ]
        | None
    ) = None


ChainIn = Annotated[
    list[HopIn],
    Meta(
        min_length=1,
        max_length=16,
        description="The hops from the outermost reporter (position 0) to the origin (last), 1 to 16.",
    ),
]


class ClaimIn(Base):
    """A claim to create with its chain, outermost reporter first, origin last."""

    text: ClaimText
    kind: ClaimKindField
    chain: ChainIn
    language: Language = "en"
    appeared_in: Annotated[AppearedIn, Meta(description="The published piece it appeared in.")] = msgspec.field(
        default_factory=AppearedIn
    )
    stated_at: Annotated[AwareDateTime, Meta(description="When the origin said it, if known.")] | None = None
    extracted_by: ExtractedBy | None = None

    def __post_init__(self) -> None:
        check_moments(stated_at=self.stated_at)


class Hop(Out):
    """A stored hop."""

    position: Annotated[int, Meta(description="Its place in the chain: 0 is the outermost reporter.")]
    source: Annotated[SourceSummary, Meta(description="Who said or relayed it at this hop.")]
    cue: Cue
    role: SpokenRole | None
    upstream_claim_id: Annotated[ClaimId, Meta(description="The stored claim this hop stands for, if any.")] | None


class AppearedInOut(Out):
    """Where a claim appeared."""

    url: Annotated[str, Meta(description="The piece's address.")] | None
    title: Annotated[str, Meta(description="The piece's headline.")] | None
    author: Annotated[str, Meta(description="Who wrote the piece.")] | None
    outlet: Annotated[str, Meta(description="Where it was published.")] | None
    published_at: Annotated[datetime, Meta(description="When the piece was published.")] | None


class Made(Out):
    """How a claim came to be stored: written by hand, or extracted from an article and accepted."""

    method: Annotated[
        Literal["by hand", "extraction"],
        Meta(description="`extraction` when it was stored from a `POST /extract` proposal, else `by hand`."),
    ]
    model: Annotated[str | None, Meta(description="The extraction model and version, for an extracted claim.")]
    accepted_by: Annotated[
        str | None,
        Meta(description="The name of the API key that stored it (`seed` for seeded claims); null if none was."),
    ]


class Claim(Out):
    """A stored claim with its own chain and its traced origin."""

    id: ClaimId
    text: StatementText
    kind: ClaimKindField
    language: LanguageTag
    appeared_in: Annotated[AppearedInOut, Meta(description="The published piece it appeared in.")]
    stated_at: Annotated[datetime, Meta(description="When the origin said it, if known.")] | None
    chain: Annotated[list[Hop], Meta(description="Its own hops, outermost reporter first, origin last.")]
    origin: Annotated[SourceSummary, Meta(description="Who first said it, following upstream claims to the end.")]
    created_at: CreatedAt
    status: ClaimStatusField
    retraction: (
        Annotated[Retraction, Meta(description="Why and when the claim was retracted; null while it is active.")] | None
    )
    made: Annotated[Made, Meta(description="How it was made: by hand, or extracted by which model; who stored it.")]


class ClaimState(Out):
    """A claim's status and version alone: whether it is still active, and whether it changed since read."""

    id: ClaimId
    status: ClaimStatusField
    version: Annotated[int, Meta(description="Bumped by every edit and retraction; the `ETag` is this number quoted.")]


class ClaimPage(Out):
    """One page of claims."""

    items: Annotated[list[Claim], Meta(description="The claims of this page, newest first.")]
    next_cursor: NextCursor


# --- traces ------------------------------------------------------------------------------------


class ClaimSummary(Out):
    """The traced claim in brief."""

    id: ClaimId
    text: StatementText
    kind: ClaimKindField
    language: LanguageTag
    appeared_in: Annotated[AppearedInOut, Meta(description="The published piece it appeared in.")]
    stated_at: Annotated[datetime, Meta(description="When the origin said it, if known.")] | None
    status: ClaimStatusField
    made: Annotated[Made, Meta(description="How it was made: by hand, or extracted by which model; who stored it.")]


class PathHop(Out):
    """A hop of a trace path; `claim_id` is the stored claim it was recorded in."""

    position: Annotated[int, Meta(description="Its place in the path: 0 is the outermost reporter.")]
    source: Annotated[SourceSummary, Meta(description="Who said or relayed it at this hop.")]
    cue: Cue
    role: SpokenRole | None
    claim_id: Annotated[ClaimId, Meta(description="The stored claim whose chain holds this hop.")]


class Origin(Out):
    """Who first said it, in which role, on whose behalf."""

    source: Annotated[SourceSummary, Meta(description="The last hop's source: who first said it.")]
    role: Annotated[str, Meta(description="The role it spoke in: the hop's, else its affiliation's.")] | None
    on_behalf_of: (
        Annotated[
            SourceSummary,
            Meta(description="The organization it spoke for, from the hop's role or an affiliation valid then."),
        ]
        | None
    )


class Trace(Out):
    """The full provenance of one claim: the path with upstream claims expanded, and its origin."""

    claim: Annotated[ClaimSummary, Meta(description="The traced claim.")]
    path: Annotated[
        list[PathHop],
        Meta(description="The chain with every upstream claim expanded in place, outermost reporter first."),
    ]
    origin: Annotated[Origin, Meta(description="Who first said it, in which role, on whose behalf.")]
    hops: Annotated[int, Meta(description="How many hops the path has.")]
    anonymous_origin: Annotated[bool, Meta(description="True when the origin is an `anonymous` source.")]
    upstream_depth: Annotated[int, Meta(description="How many upstream links the path followed.")]
    truncated: Annotated[bool, Meta(description="True when the upstream links went deeper than the service follows.")]
    related: Annotated[
        list[Relation],
        Meta(description="Claims that say the same, support, contradict or correct this one, each with its origin."),
    ] = msgspec.field(default_factory=list)


class StatementMatch(Out):
    """A stored claim matching a free-text statement, with its trace."""

    score: Annotated[float, Meta(ge=0, le=1, description="How well the claim matches, from 0 to 1.")]
    trace: Annotated[Trace, Meta(description="The matching claim's full trace.")]


class StatementTrace(Out):
    """The stored claims that best match a statement, best first."""

    statement: Annotated[str, Meta(description="The statement as asked.")]
    items: Annotated[list[StatementMatch], Meta(description="The best matches, best first; empty when none.")]


# --- relations ---------------------------------------------------------------------------------

RelationType = Literal["same_as", "supports", "contradicts", "corrects"]
RelationTypeField = Annotated[
    RelationType,
    Meta(
        description="`same_as` (the same statement reported elsewhere) and `contradicts` are symmetric; "
        "`supports` and `corrects` go from one claim to the other."
    ),
]
RelationNote = Annotated[str, Meta(description="A short note on why they are related.")]
AssertedBy = Annotated[
    str, Meta(description="Who asserts the relation; left out, the name of the API key that records it.")
]


class RelationIn(Base):
    """A relation from this claim to `target_id`; same_as and contradicts are symmetric."""

    type: RelationTypeField
    target_id: Annotated[ClaimId, Meta(description="The other claim's id.")]
    note: Annotated[RelationNote, Meta(max_length=2_000)] | None = None
    asserted_by: Annotated[AssertedBy, Meta(min_length=1, max_length=300)] | None = None


class RelatedClaim(Out):
    """The other claim of a relation, with its traced origin."""

    id: ClaimId
    text: StatementText
    kind: ClaimKindField
    origin: Annotated[SourceSummary, Meta(description="Who first said the other claim.")]


class Relation(Out):
    """A relation seen from one claim: `mutual` (symmetric), `outgoing` or `incoming`."""

    id: Annotated[Id, Meta(description="The relation's id.")]
    type: RelationTypeField
    direction: Annotated[
        Literal["mutual", "outgoing", "incoming"],
        Meta(
            description="`mutual` for a symmetric type, `outgoing` when this claim supports or corrects the "
            "other, `incoming` the reverse."
        ),
    ]
    claim: Annotated[RelatedClaim, Meta(description="The other claim.")]
    note: RelationNote | None
    asserted_by: AssertedBy | None
    created_at: CreatedAt


class RelationList(Out):
    """Every relation of one claim, oldest first."""

    items: Annotated[list[Relation], Meta(description="The relations, oldest first.")]


# --- propagation and networks ------------------------------------------------------------------


class PropagationNode(Out):
    """A source on the traced path of at least one claim of the group."""

    source: Annotated[SourceSummary, Meta(description="The source.")]
    is_origin: Annotated[bool, Meta(description="It is the origin of at least one claim of the group.")]
    claims: Annotated[list[Id], Meta(description="The group's claims whose path it is on.")]


class PropagationEdge(Out, rename={"from_": "from"}):
    """Source `to` took the statement from source `from`, as the paths of `claims` show."""

    from_: Annotated[SourceId, Meta(description="The source that gave it (nearer the origin).")]
    to: Annotated[SourceId, Meta(description="The source that relayed it (nearer the reader).")]
    cues: Annotated[
        list[str],
        Meta(description='The attribution words naming `from` on those paths ("citing", "told reporters").'),
    ]
    claims: Annotated[list[Id], Meta(description="The group's claims whose path shows this step.")]


class FirstSaid(Out):
    """Who said it first: the origin of the group's earliest dated claim."""

    source: Annotated[SourceSummary, Meta(description="That claim's origin.")]
    role: Annotated[str, Meta(description="The role the origin spoke in.")] | None
    on_behalf_of: Annotated[SourceSummary, Meta(description="The organization the origin spoke for.")] | None
    claim_id: Annotated[ClaimId, Meta(description="The claim of the group this origin and date come from.")]
    said_at: (
        Annotated[
            datetime,
            Meta(description="That claim's `stated_at`, else its `appeared_in.published_at`; null if undated."),
        ]
        | None
    )


class Propagation(Out):
    """How one statement spread: the traces of a claim's `same_as` group merged into a graph by source."""

    claim_id: Annotated[ClaimId, Meta(description="The claim asked about.")]
    claims: Annotated[
        list[Id],
        Meta(description="The group: this claim first, then every claim linked to it by `same_as`, directly or not."),
    ]
    nodes: Annotated[list[PropagationNode], Meta(description="Every source on a path, origins' side first.")]
    edges: Annotated[
        list[PropagationEdge], Meta(description="Who took it from whom, once per pair of sources, origins' side first.")
    ]
    first: Annotated[FirstSaid, Meta(description="Who said it first.")]
    truncated: Annotated[
        bool, Meta(description="True when the group or an upstream chain was larger than the service follows.")
    ]


class NetworkLink(Out):
    """Another source, and in how many claims' chains it stands next to this one."""

    source: Annotated[SourceSummary, Meta(description="The other source.")]
    claims: Annotated[int, Meta(description="In how many claims' chains the two stand next to each other.")]


class SourceNetwork(Out):
    """Whom a source cites and who cites it, in the chains of stored claims, most claims first."""

    source: Annotated[SourceSummary, Meta(description="The source asked about.")]
    cites: Annotated[
        list[NetworkLink], Meta(description="Sources right after it in a chain: those it took statements from.")
    ]
    cited_by: Annotated[
        list[NetworkLink], Meta(description="Sources right before it in a chain: those that took statements from it.")
    ]
    cites_total: Annotated[int, Meta(description="How many sources it cites in all; `cites` stops at `limit`.")]
    cited_by_total: Annotated[int, Meta(description="How many sources cite it in all; `cited_by` stops at `limit`.")]


# --- reviews -----------------------------------------------------------------------------------

WebUrl = Annotated[
    str,
    Meta(
        pattern=rf"^https?://[^{WHITE_SPACE}/?#]+[^{WHITE_SPACE}]*{END}",
        max_length=2_000,
        description="An http or https URL.",
    ),
]
RatingLabel = Annotated[str, Meta(description="The verdict in words.", examples=["Accurate"])]
RatingValue = Annotated[float, Meta(description="The verdict on the scale from `worst` to `best`.", examples=[5])]
BestRating = Annotated[float, Meta(description="The best value of the scale.", examples=[5])]
WorstRating = Annotated[float, Meta(description="The worst value of the scale.", examples=[1])]
ReviewSummary = Annotated[str, Meta(description="The review's conclusion in a few sentences.")]


class RatingIn(Base):
    """A verdict: a label, and optionally a value on the scale from `worst` to `best`."""

    label: Annotated[RatingLabel, Meta(min_length=1, max_length=100, pattern=NOT_BLANK)]
    value: Annotated[RatingValue, Meta(description="Needs `best` and `worst`, and lies between them.")] | None = None
    best: Annotated[BestRating, Meta(description="The best value of the scale; given with `worst`, and above it.")] | (
        None
    ) = None
    worst: (
        Annotated[WorstRating, Meta(description="The worst value of the scale; given with `best`, and below it.")]
        | None
    ) = None


class ReviewIn(Base):
    """A fact-checker's verdict on a claim: the reviewer by `reviewer_id` or inline `reviewer`."""

    given_at_most_one: ClassVar = ("reviewer_id", "reviewer")
    given_at_least_one: ClassVar = ("reviewer_id", "reviewer")

    rating: Annotated[RatingIn, Meta(description="The verdict.")]
    reviewed_at: Annotated[AwareDateTime, Meta(description="When the claim was reviewed.")]
    reviewer_id: (
        Annotated[SourceId, Meta(description="The reviewer by id; or name it inline in `reviewer`.")] | None
    ) = None
    reviewer: (
        Annotated[
            SourceIn,
            Meta(
                description="The reviewer named inline, resolved like an inline source of a hop: one match "
                "reuses it, none creates it, several is a 422."
            ),
        ]
        | None
    ) = None
    url: Annotated[WebUrl, Meta(description="Where the review is published (http or https).")] | None = None
    summary: Annotated[ReviewSummary, Meta(max_length=5_000)] | None = None

    def __post_init__(self) -> None:
        check_moments(reviewed_at=self.reviewed_at)


class Rating(Out):
    """A stored verdict: its label, and its value on a scale when one was given."""

    label: RatingLabel
    value: RatingValue | None
    best: BestRating | None
    worst: WorstRating | None


class Review(Out):
    """A stored review of a claim."""

    id: Annotated[Id, Meta(description="The review's id.")]
    claim_id: Annotated[ClaimId, Meta(description="The reviewed claim's id.")]
    reviewer: Annotated[SourceSummary, Meta(description="Who reviewed it: a source, usually a fact-checker.")]
    rating: Annotated[Rating, Meta(description="The verdict.")]
    url: Annotated[str, Meta(description="Where the review is published.")] | None
    summary: ReviewSummary | None
    reviewed_at: Annotated[datetime, Meta(description="When the claim was reviewed.")]
    created_at: CreatedAt


class ReviewList(Out):
    """Every review of one claim, oldest first."""

    items: Annotated[list[Review], Meta(description="The reviews, oldest first.")]


class SchemaOrgNode(Out, rename="camel", omit_defaults=True):
    """A schema.org node of JSON-LD: camelCase terms, absent values left out."""


NodeName = Annotated[str, Meta(description="The name.", examples=["Patrick Ryder"])]


class SchemaOrgPerson(SchemaOrgNode, tag_field="@type", tag="Person"):
    """A person, by name."""

    name: NodeName


class SchemaOrgOrganization(SchemaOrgNode, tag_field="@type", tag="Organization"):
    """An organization, outlet or anonymous source, by name."""

    name: NodeName


SchemaOrgAgent = SchemaOrgPerson | SchemaOrgOrganization


class SchemaOrgCreativeWork(SchemaOrgNode, tag_field="@type", tag="CreativeWork"):
    """A published piece a claim appeared in."""

    url: Annotated[str, Meta(description="The piece's address.")] | None = None
    headline: Annotated[str, Meta(description="The piece's title.")] | None = None
    author: Annotated[SchemaOrgPerson, Meta(description="Who wrote the piece.")] | None = None
    publisher: Annotated[SchemaOrgOrganization, Meta(description="The outlet that published it.")] | None = None
    date_published: Annotated[datetime, Meta(description="When the piece was published.")] | None = None


class SchemaOrgClaim(SchemaOrgNode, tag_field="@type", tag="Claim"):
    """The claim reviewed: its traced origin and the pieces it appeared in."""

    author: Annotated[SchemaOrgAgent, Meta(description="The traced origin: a `Person`, else an `Organization`.")]
    appearance: Annotated[
        list[SchemaOrgCreativeWork],
        Meta(description="The pieces it appeared in along its traced path (those with a url, title or outlet)."),
    ] = msgspec.field(default_factory=list)
    first_appearance: (
        Annotated[SchemaOrgCreativeWork, Meta(description="The earliest dated of the appearances.")] | None
    ) = None


class SchemaOrgRating(SchemaOrgNode, tag_field="@type", tag="Rating"):
    """A rating: `alternateName` is the label."""

    alternate_name: RatingLabel
    rating_value: RatingValue | None = None
    best_rating: BestRating | None = None
    worst_rating: WorstRating | None = None


class SchemaOrgClaimReview(SchemaOrgNode, tag_field="@type", tag="ClaimReview"):
    """One review as a schema.org ClaimReview."""

    author: Annotated[SchemaOrgAgent, Meta(description="The reviewer.")]
    claim_reviewed: Annotated[str, Meta(description="The reviewed claim's text.")]
    review_rating: Annotated[SchemaOrgRating, Meta(description="The verdict.")]
    item_reviewed: Annotated[SchemaOrgClaim, Meta(description="The reviewed claim.")]
    date_published: Annotated[datetime, Meta(description="When it was reviewed (`reviewed_at`), in UTC.")]
    url: Annotated[str, Meta(description="Where the review is published.")] | None = None
    description: Annotated[str, Meta(description="The review's summary.")] | None = None


class ClaimReviewDocument(Out, rename={"context": "@context", "graph": "@graph"}):
    """A JSON-LD document: the reviews of one claim as schema.org ClaimReviews."""

    context: Annotated[Literal["https://schema.org"], Meta(description="The JSON-LD context: schema.org.")]
    graph: Annotated[list[SchemaOrgClaimReview], Meta(description="One ClaimReview per review, oldest first.")]


# --- history -----------------------------------------------------------------------------------

RevisionAction = Literal["create", "edit", "retract"]
RetractionReason = Annotated[str, Meta(description="Why the claim is retracted.")]


class Retraction(Out):
    """Why and when a claim was retracted."""

    reason: RetractionReason
    retracted_at: Annotated[datetime, Meta(description="When it was retracted.")]


class ClaimPatch(Base):
    """Fields to change; each given one replaces the stored value (`appeared_in` and `chain` whole)."""

    text: ClaimText | UnsetType = UNSET
    kind: ClaimKindField | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    appeared_in: Annotated[AppearedIn, Meta(description="The new published piece, replacing the old whole.")] | (
        UnsetType
    ) = UNSET
    stated_at: Annotated[AwareDateTime, Meta(description="When the origin said it; null clears it.")] | (
        UnsetType | None
    ) = UNSET
    chain: Annotated[ChainIn, Meta(description="The new chain, replacing the old whole.")] | UnsetType = UNSET

    def __post_init__(self) -> None:
        check_moments(stated_at=self.stated_at)


class RetractionIn(Base):
    """Why a claim is retracted."""

    reason: Annotated[
        RetractionReason,
        Meta(min_length=1, max_length=2_000, pattern=NOT_BLANK, examples=["The quote was misattributed."]),
    ]


class Revision(Out):
    """One change of a claim: `create` holds the whole claim, `edit` each changed field as
    `{"from": ..., "to": ...}`, `retract` the status change and the reason."""

    number: Annotated[int, Meta(description="The claim's version after this change (its `ETag`).")]
    action: Annotated[RevisionAction, Meta(description="`create`, `edit` or `retract`.")]
    changes: Annotated[dict[str, Any], Meta(description="What changed, by field (see the schema's description).")]
    actor: (
        Annotated[
            str,
            Meta(
                description="Who made the change: the name of the API key, `seed` or `import` for the commands; "
                "null for changes made before API keys."
            ),
        ]
        | None
    )
    created_at: Annotated[datetime, Meta(description="When the change was made.")]


class RevisionList(Out):
    """Every revision of one claim, oldest first."""

    items: Annotated[list[Revision], Meta(description="The revisions, oldest first.")]


# --- audit -------------------------------------------------------------------------------------

AuditAction = Literal["create", "edit", "retract", "merge", "revoke"]
AuditEntityType = Literal["claim", "source", "relation", "review", "api_key"]

Hash = Annotated[
    str,
    Meta(
        description="A SHA-256 in lower-case hex.",
        examples=["5f0c6b1fb0a04d3ae3b2a9b5d6f3d8e1c9a7b4e2f1d0c3b6a5e4d7c8b9a0f1e2"],
    ),
]


class AuditEntry(Out):
    """One write as the audit log holds it. Its hash is SHA-256 over `prev_hash` (nothing for entry 1)
    and the entry's canonical JSON: `{seq, at, actor, action, entity_type, entity_id, change}` with
    every object's keys sorted, `at` in RFC 3339 UTC with microseconds, stored as the very bytes hashed."""

    seq: Annotated[int, Meta(description="The entry's number: 1, 2, 3, ... without gaps.", examples=[42])]
    at: Annotated[datetime, Meta(description="When the write was made (RFC 3339, UTC).")]
    actor: (
        Annotated[
            str,
            Meta(
                description="Who made the write: the API key's name; `seed`, `import` or `cli` for the commands.",
                examples=["newsroom-desk"],
            ),
        ]
        | None
    )
    action: Annotated[AuditAction, Meta(description="What the write did.")]
    entity_type: Annotated[AuditEntityType, Meta(description="What was written.")]
    entity_id: Annotated[Id, Meta(description="The id of what was written.")]
    change: Annotated[
        dict[str, Any],
        Meta(
            description="What was written: a created entity's fields; for edits "
            '`{field: {"from": ..., "to": ...}}`; for a merge `{"into": id}`.'
        ),
    ]
    prev_hash: Annotated[Hash, Meta(description="The hash of the entry before; null for entry 1.")] | None
    hash: Annotated[Hash, Meta(description="This entry's hash.")]


class AuditPage(Out):
    """One page of audit entries, oldest first."""

    items: Annotated[list[AuditEntry], Meta(description="The entries of this page, oldest first.")]
    next_cursor: NextCursor


class AuditHead(Out):
    """The size and head of the audit log: publish them elsewhere to pin the log as it is now."""

    entries: Annotated[int, Meta(description="How many entries the log holds: the last one's seq.", examples=[42])]
    head: Annotated[Hash, Meta(description="The last entry's hash; null for an empty log.")] | None


class AuditVerification(Out, omit_defaults=True):
    """The audit log's chain recomputed from the stored bodies: either whole (`ok`, with its `head`), or
    broken at the first entry that no longer holds (`broken_at`, with the `reason`)."""

    ok: Annotated[bool, Meta(description="Whether every entry holds.")]
    entries: Annotated[
        int, Meta(description="How many entries hold, from entry 1: all of them when `ok`.", examples=[42])
    ]
    head: Annotated[Hash, Meta(description="When `ok`: the last entry's hash (null for an empty log).")] | None = None
    broken_at: (
        Annotated[int, Meta(description="When not `ok`: the seq of the first entry that does not hold.")] | None
    ) = None
    reason: Annotated[str, Meta(description="When not `ok`: why that entry does not hold.")] | None = None


# --- health ------------------------------------------------------------------------------------


class Health(Out):
    """Liveness or readiness."""

    status: Annotated[Literal["ok", "unavailable"], Meta(description="`ok` while the service answers.")]
    database: (
        Annotated[
            Literal["ok", "unavailable"], Meta(description="`ok` when the database answers; left out by `/health`.")
        ]
        | None
    ) = None


# --- extraction ----------------------------------------------------------------------------------

ARTICLE_MAX_CHARS = 100_000
"""The longest article ``POST /extract`` reads, in characters (Unicode code points)."""

ArticleText = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=ARTICLE_MAX_CHARS,
        pattern=NOT_BLANK,
        description="The article's text, up to 100,000 characters (about 15,000 words), not only white space; "
        "paragraphs on lines of their own.",
    ),
]
ExtractLanguage = Annotated[
    Literal["en"],
    Meta(description="The text's language: `en` only, the one the extraction model was trained for."),
]


class ExtractIn(Base):
    """An article to read attribution chains out of; nothing is stored."""

    text: ArticleText
    appeared_in: (
        Annotated[AppearedIn, Meta(description="Where the article appeared: copied into each proposed claim.")] | None
    ) = None
    language: ExtractLanguage = "en"


class TextSpan(Out):
    """A stretch of the submitted text, in Unicode code points: ``text == submitted[start:end]``."""

    start: Annotated[int, Meta(ge=0, description="Where it starts (inclusive), in code points.")]
    end: Annotated[int, Meta(ge=0, description="Where it ends (exclusive), in code points.")]
    text: Annotated[str, Meta(description="The words themselves.")]


class ExtractedAttribution(Out):
    """One attribution found in the text: who (source), the words that mark it (cue), what (content)."""

    id: Annotated[int, Meta(ge=0, description="Its number in this answer.")]
    parent_id: Annotated[
        int | None, Meta(description="The attribution whose content holds this one; null at the top level.")
    ]
    source: Annotated[TextSpan | None, Meta(description="Who the text says spoke; null when it names no one.")]
    cue: Annotated[TextSpan, Meta(description='The words marking the attribution: "said", "according to".')]
    content: Annotated[TextSpan, Meta(description="What was said, from its first to its last word.")]
    content_parts: Annotated[
        list[TextSpan], Meta(description="The content's pieces when a cue splits it (a split quote), else one.")
    ]
    confidence: Annotated[float, Meta(ge=0, le=1, description="The tagger's least sure label among its spans.")]


class ProposedSource(Out):
    """The stored source a hop's speaker is, or the ones it may be, or the new source to create."""

    match: Annotated[
        Literal["stored", "ambiguous", "new"],
        Meta(
            description="`stored`: one stored source has this name or alias (`id`); `ambiguous`: several stored "
            "sources may be meant (`candidates`, never guessed); `new`: none, and `new` is the source to create."
        ),
    ]
    id: Annotated[SourceId, Meta(description="The stored source, when `match` is `stored`.")] | None = None
    score: Annotated[float, Meta(ge=0, le=1, description="How well its name matched (1: exactly).")] | None = None
    candidates: Annotated[
        list[Source], Meta(description="The stored sources it may be, best first, when `match` is `ambiguous`.")
    ] = msgspec.field(default_factory=list)
    new: Annotated[SourceIn | None, Meta(description="The source to create, when `match` is `new`.")] = None


class Speaker(Out):
    """Who speaks at a hop, as the text names them."""

    name: Annotated[str, Meta(description="The name, without titles; for an unnamed speaker, the words used.")]
    role: Annotated[str | None, Meta(description='The role the text gives ("spokesman"), if any.')]
    organization: Annotated[str | None, Meta(description='The organization it speaks for ("Pentagon"), if named.')]
    anonymous: Annotated[bool, Meta(description="True for an unnamed speaker (officials, sources).")]
    resolved_from: Annotated[
        Literal["span", "coreference"],
        Meta(description='`coreference` when the text said "he", a role or a surname and an earlier name was meant.'),
    ]


class ProposedHop(Out):
    """One hop of a proposed claim: the attribution it comes from, its speaker and the stored source proposed."""

    attribution_id: Annotated[int, Meta(ge=0, description="The attribution of `attributions` it comes from.")]
    source_span: Annotated[TextSpan | None, Meta(description="The source's words in the text.")]
    cue_span: Annotated[TextSpan, Meta(description="The cue's words in the text.")]
    speaker: Annotated[Speaker, Meta(description="Who speaks at this hop, as the text names them.")]
    source: Annotated[ProposedSource, Meta(description="The stored source proposed for the speaker.")]
    on_behalf_of: Annotated[
        SourceSummary | None,
        Meta(description="The stored organization the speaker speaks for: the text's, else a stored affiliation."),
    ]
    confidence: Annotated[float, Meta(ge=0, le=1, description="How sure the tagger was of this attribution.")]


class ProposedClaim(Out):
    """A claim the text makes, ready to store: `claim` is a `POST /claims` body."""

    claim: Annotated[ClaimIn, Meta(description="The body to send to `POST /claims`, after review.")]
    content: Annotated[TextSpan, Meta(description="The claim's words in the text.")]
    hops: Annotated[list[ProposedHop], Meta(description="Where each hop of `claim.chain` came from, in its order.")]
    confidence: Annotated[
        float, Meta(ge=0, le=1, description="The least sure of its attributions: a threshold to accept by.")
    ]


class Extraction(Out):
    """The attributions read out of an article and the claims they propose; nothing was stored."""

    model: Annotated[str, Meta(description="The extraction model's name and version.")]
    language: LanguageTag
    attributions: Annotated[list[ExtractedAttribution], Meta(description="Every attribution, outer before inner.")]
    claims: Annotated[list[ProposedClaim], Meta(description="The claims they make, in the text's order.")]
