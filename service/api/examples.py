"""The examples of the OpenAPI document, and the operation class that puts them on bodies.

One story runs through them, the seed article's: Hina reports, citing Reuters, that Pentagon
spokesman Patrick Ryder told reporters that Austin initiated the call. Source and claim ids are
those ``make run`` seeds. Request examples are what a client sends; response examples are model
Structs encoded as the service encodes them, so they keep to the schemas.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from litestar.openapi.spec import Example, OpenAPIResponse, Operation, RequestBody

from service.domain import audit
from service.model import (
    Affiliation,
    AppearedInOut,
    AuditAction,
    AuditEntry,
    AuditHead,
    AuditPage,
    AuditVerification,
    Claim,
    ClaimPage,
    ClaimState,
    ClaimSummary,
    Hop,
    Made,
    NetworkLink,
    Origin,
    PathHop,
    Rating,
    RelatedClaim,
    Relation,
    RelationList,
    Retraction,
    Review,
    ReviewList,
    Revision,
    RevisionList,
    Source,
    SourceNetwork,
    SourcePage,
    SourceSummary,
    StatementMatch,
    StatementTrace,
    Trace,
)


@dataclass
class JsonExample(Example):
    """An example whose value is written as given: Litestar leaves out every null of the document,
    and a null is often the point (``"role": null``, ``"next_cursor": null``)."""

    @property
    def _exclude_fields(self) -> set[str]:
        return {"id"}  # the key of the example in its map, not a field of the Example Object

    def to_schema(self) -> dict[str, Any]:
        schema = super().to_schema()
        schema["value"] = self.value
        return schema


Examples = Mapping[str, JsonExample]


def with_examples(*, request: Examples | None = None, response: Examples | None = None) -> type[Operation]:
    """An operation class adding ``request`` examples to the JSON request body and ``response``
    examples to the 2xx JSON response: Litestar's route decorators take neither."""

    @dataclass
    class OperationWithExamples(Operation):
        def __post_init__(self) -> None:
            if request and isinstance(self.request_body, RequestBody):
                for media_type in self.request_body.content.values():
                    media_type.examples = dict(request)
            for status, answer in (self.responses or {}).items():
                if not (response and status.startswith("2") and isinstance(answer, OpenAPIResponse)):
                    continue
                if answer.content and (body := answer.content.get("application/json")):
                    body.examples = dict(response)

    return OperationWithExamples


def example(summary: str, value: Any) -> JsonExample:
    """A named example; Structs are encoded as the service encodes them."""
    return JsonExample(summary=summary, value=msgspec.to_builtins(value))


# --- the story ----------------------------------------------------------------------------------

HINA = SourceSummary(id="a905b48e-558c-5d52-a8e2-414a1096849f", name="Hina", kind="outlet")
REUTERS = SourceSummary(id="59a4adc6-0320-5447-b9da-122d35d9f604", name="Reuters", kind="outlet")
RYDER = SourceSummary(id="9062f0c0-9021-5499-9d41-d89165299f5f", name="Patrick Ryder", kind="person")
PENTAGON = SourceSummary(id="c50b8010-77c9-5fa8-a90a-568ddb313c27", name="Pentagon", kind="organization")
DEFENSE_MINISTRY_ID = "0d0b8868-42b4-5247-a545-7a58bc5025ed"
FACT_CHECKER = SourceSummary(id="f21995ee-e139-4bdd-96cd-3c5f3fa23fa8", name="FactCheck Desk", kind="organization")

SEEDED_CLAIM_ID = "628da9bb-78db-5b7e-81c0-506713da09c8"
CLAIM_ID = "aba19814-a5bd-4f6e-9a97-86dba6abb8e1"
REUTERS_CLAIM_ID = "e6a027bd-29d9-4ed3-816b-461818a78109"
GOVERNOR_CLAIM_ID = "72f68e28-c917-57fd-9a45-db2dbbb02b77"
KREMLIN_CLAIM_ID = "8065c868-a894-52c8-8464-155835dc2ae0"
CLAIM_TEXT = "Austin initiated the phone call with Belousov, the first since March 2023"
SEEDED_TEXT = "Austin initiated the conversation and it was the first such call since March 2023"
HEADLINE = "US and Russian defense ministers speak for first time in over a year"
STORED_AT = datetime(2024, 6, 25, 19, 2, 41, tzinfo=UTC)

# --- request bodies ------------------------------------------------------------------------------

CREATE_CLAIM = {
    "inline-sources": example(
        "A 3-hop chain, each source named inline",
        {
            "text": CLAIM_TEXT,
            "kind": "paraphrase",
            "appeared_in": {"title": HEADLINE, "published_at": "2024-06-25T18:30:00Z"},
            "chain": [
                {"source": {"name": "Hina", "kind": "outlet"}, "cue": "reports"},
                {"source": {"name": "Reuters", "kind": "outlet"}, "cue": "citing"},
                {
                    "source": {"name": "Patrick Ryder", "kind": "person"},
                    "cue": "told reporters",
                    "role": "spokesman",
                },
            ],
        },
    ),
    "upstream-claim": example(
        "A source by id, and a hop standing for Reuters' stored wire story",
        {
            "text": "Austin initiated the conversation with Belousov",
            "kind": "paraphrase",
            "appeared_in": {"outlet": "Hina", "published_at": "2024-06-25T17:00:00Z"},
            "chain": [
                {"source_id": HINA.id, "cue": "reports"},
                {"cue": "citing", "upstream_claim_id": REUTERS_CLAIM_ID},
            ],
        },
    ),
}

UPDATE_CLAIM = {
    "stated-at": example(
        "Add when Ryder said it, and the outlet it appeared in",
        {
            "stated_at": "2024-06-25T16:00:00Z",
            "appeared_in": {"title": HEADLINE, "outlet": "Hina", "published_at": "2024-06-25T18:30:00Z"},
        },
    ),
}

RETRACT_CLAIM = {
    "duplicate": example(
        "A duplicate of a stored claim",
        {"reason": "A duplicate of the seeded claim from the same article."},
    ),
}

CREATE_RELATION = {
    "same-as": example(
        "The same statement, stored twice",
        {"type": "same_as", "target_id": SEEDED_CLAIM_ID, "note": "The same Reuters report, relayed by Hina."},
    ),
    "contradicts": example(
        "Two casualty counts that disagree",
        {
            "type": "contradicts",
            "target_id": KREMLIN_CLAIM_ID,
            "note": "Three dead and about a hundred wounded against four dead and 151 injured.",
            "asserted_by": "desk@factcheck.example",
        },
    ),
}

CREATE_REVIEW = {
    "fact-checker": example(
        "A fact-checking organization's verdict, its reviewer named inline",
        {
            "reviewer": {
                "name": "FactCheck Desk",
                "kind": "organization",
                "description": "A fact-checking organization.",
            },
            "rating": {"label": "Accurate", "value": 5, "best": 5, "worst": 1},
            "url": "https://factcheck.example/2024/06/austin-belousov-call",
            "summary": "The Pentagon's readout confirms that Austin placed the call, the first since March 2023.",
            "reviewed_at": "2024-06-26T10:00:00Z",
        },
    ),
    "by-id": example(
        "A label only, the reviewer by id",
        {"reviewer_id": FACT_CHECKER.id, "rating": {"label": "Accurate"}, "reviewed_at": "2024-06-26T10:00:00Z"},
    ),
}

CREATE_SOURCE = {
    "person": example(
        "A person, with aliases and an affiliation by id",
        {
            "name": "Andrei Belousov",
            "kind": "person",
            "aliases": ["A.R. Belousov", "Andrey Belousov", "Андрей Белоусов"],
            "description": "Russian defense minister since May 2024.",
            "affiliations": [
                {
                    "organization_id": DEFENSE_MINISTRY_ID,
                    "role": "defense minister",
                    "since": "2024-05-14",
                }
            ],
        },
    ),
    "outlet": example(
        "An outlet, with its home page",
        {
            "name": "Hina",
            "kind": "outlet",
            "aliases": ["HINA", "Croatian News Agency"],
            "description": "Croatian national news agency.",
            "identifiers": {"homepage": "https://www.hina.hr/"},
        },
    ),
    "anonymous": example(
        "An anonymous source, affiliated with the body it speaks for",
        {
            "name": "Pentagon sources",
            "kind": "anonymous",
            "affiliations": [{"organization": {"name": "Pentagon"}, "role": "unnamed officials"}],
        },
    ),
}

UPDATE_SOURCE = {
    "aliases": example(
        "Replace the aliases and the description",
        {
            "aliases": ["Pat Ryder", "Patrick S. Ryder", "Maj. Gen. Patrick Ryder"],
            "description": "US Air Force major general, Pentagon press secretary (spokesman).",
        },
    ),
}

MERGE_SOURCE = {
    "duplicate": example('Fold a duplicate "Pat Ryder" into Patrick Ryder', {"into": RYDER.id}),
}

# --- responses -----------------------------------------------------------------------------------

_HOPS = [(HINA, "reports", None), (REUTERS, "citing", None), (RYDER, "told reporters", "spokesman")]
_APPEARED_IN = AppearedInOut(
    url=None, title=HEADLINE, author=None, outlet=None, published_at=datetime(2024, 6, 25, 18, 30, tzinfo=UTC)
)

# Stored by hand with the key of the README's first five minutes.
MADE = Made(method="by hand", model=None, accepted_by="me")
CLAIM = Claim(
    id=CLAIM_ID,
    text=CLAIM_TEXT,
    kind="paraphrase",
    language="en",
    appeared_in=_APPEARED_IN,
    stated_at=None,
    chain=[
        Hop(position=i, source=source, cue=cue, role=role, upstream_claim_id=None)
        for i, (source, cue, role) in enumerate(_HOPS)
    ],
    origin=RYDER,
    created_at=STORED_AT,
    status="active",
    retraction=None,
    made=MADE,
)

RELATION = Relation(
    id="dcb06bd2-1e14-4ef6-bb88-aab3f3f51357",
    type="same_as",
    direction="mutual",
    claim=RelatedClaim(id=SEEDED_CLAIM_ID, text=SEEDED_TEXT, kind="paraphrase", origin=RYDER),
    note="The same Reuters report, relayed by Hina.",
    asserted_by=None,
    created_at=STORED_AT,
)

TRACE = Trace(
    claim=ClaimSummary(
        id=CLAIM_ID,
        text=CLAIM_TEXT,
        kind="paraphrase",
        language="en",
        appeared_in=_APPEARED_IN,
        stated_at=None,
        status="active",
        made=MADE,
    ),
    path=[
        PathHop(position=i, source=source, cue=cue, role=role, claim_id=CLAIM_ID)
        for i, (source, cue, role) in enumerate(_HOPS)
    ],
    origin=Origin(source=RYDER, role="spokesman", on_behalf_of=PENTAGON),
    hops=3,
    anonymous_origin=False,
    upstream_depth=0,
    truncated=False,
    related=[RELATION],
)

RYDER_SOURCE = Source(
    id=RYDER.id,
    name=RYDER.name,
    kind=RYDER.kind,
    aliases=["Maj. Gen. Patrick Ryder", "Pat Ryder", "Patrick S. Ryder"],
    description="US Air Force major general, Pentagon press secretary (spokesman).",
    identifiers={},
    affiliations=[Affiliation(organization=PENTAGON, role="spokesman", since=None, until=None)],
    created_at=STORED_AT,
)

RETRACTED_CLAIM = msgspec.structs.replace(
    CLAIM,
    status="retracted",
    retraction=Retraction(
        reason="A duplicate of the seeded claim from the same article.",
        retracted_at=datetime(2024, 6, 26, 8, 15, tzinfo=UTC),
    ),
)

BELOUSOV_SOURCE = Source(
    id="3b1f5d0e-7c42-4a8e-9f61-2d8e4c7b5a90",
    name="Andrei Belousov",
    kind="person",
    aliases=["A.R. Belousov", "Andrey Belousov", "Андрей Белоусов"],
    description="Russian defense minister since May 2024.",
    identifiers={},
    affiliations=[
        Affiliation(
            organization=SourceSummary(id=DEFENSE_MINISTRY_ID, name="Russian Defense Ministry", kind="organization"),
            role="defense minister",
            since=date(2024, 5, 14),
            until=None,
        )
    ],
    created_at=STORED_AT,
)

REVIEW = Review(
    id="dca048d0-d1ad-4306-b65d-74f42cac6417",
    claim_id=CLAIM_ID,
    reviewer=FACT_CHECKER,
    rating=Rating(label="Accurate", value=5.0, best=5.0, worst=1.0),
    url="https://factcheck.example/2024/06/austin-belousov-call",
    summary="The Pentagon's readout confirms that Austin placed the call, the first since March 2023.",
    reviewed_at=datetime(2024, 6, 26, 10, 0, tzinfo=UTC),
    created_at=datetime(2024, 6, 26, 10, 4, 12, tzinfo=UTC),
)

_EDITED_APPEARED_IN = msgspec.structs.replace(_APPEARED_IN, outlet="Hina")
REVISIONS = RevisionList(
    items=[
        Revision(
            number=1,
            action="create",
            changes={
                "text": CLAIM_TEXT,
                "kind": "paraphrase",
                "language": "en",
                "appeared_in": msgspec.to_builtins(_APPEARED_IN),
                "stated_at": None,
                "chain": [
                    {
                        "source_id": source.id,
                        "source_name": source.name,
                        "cue": cue,
                        "role": role,
                        "upstream_claim_id": None,
                    }
                    for source, cue, role in _HOPS
                ],
            },
            actor="newsroom-desk",
            created_at=STORED_AT,
        ),
        Revision(
            number=2,
            action="edit",
            changes={
                "stated_at": {"from": None, "to": "2024-06-25T16:00:00Z"},
                "appeared_in": {
                    "from": msgspec.to_builtins(_APPEARED_IN),
                    "to": msgspec.to_builtins(_EDITED_APPEARED_IN),
                },
            },
            actor="newsroom-desk",
            created_at=datetime(2024, 6, 25, 19, 20, 3, tzinfo=UTC),
        ),
    ]
)

NETWORK = SourceNetwork(
    source=REUTERS,
    cites=[NetworkLink(source=RYDER, claims=2)],
    cited_by=[NetworkLink(source=HINA, claims=2)],
    cites_total=1,
    cited_by_total=1,
)

CLAIM_ANSWER = {"claim": example("Hina, citing Reuters, citing Patrick Ryder", CLAIM)}
CLAIM_STATE_ANSWER = {"active": example("Active, never edited", ClaimState(id=CLAIM_ID, status="active", version=1))}
RETRACTED_CLAIM_ANSWER = {"retracted": example("The claim, retracted with its reason", RETRACTED_CLAIM)}
CLAIM_PAGE_ANSWER = {
    "page": example(
        "A page of one claim, and the cursor of the next",
        ClaimPage(items=[CLAIM], next_cursor="WyJjbGFpbXMiLDE3XQ"),
    )
}
TRACE_ANSWER = {"trace": example("Three hops to Patrick Ryder, speaking for the Pentagon", TRACE)}
STATEMENT_TRACE_ANSWER = {
    "statement": example(
        "The best match of a free text",
        StatementTrace(statement="Austin initiated the call", items=[StatementMatch(score=0.8438, trace=TRACE)]),
    )
}
SOURCE_ANSWER = {"source": example("Patrick Ryder, the Pentagon's spokesman", RYDER_SOURCE)}
CREATED_SOURCE_ANSWER = {"person": example("The person created, its affiliation resolved", BELOUSOV_SOURCE)}
MERGED_SOURCE_ANSWER = {"survivor": example("The survivor, its aliases taking the duplicate's name", RYDER_SOURCE)}
SOURCE_PAGE_ANSWER = {
    "found": example(
        'Sources matching q="Pat Ryder", best first, on the last page',
        SourcePage(items=[msgspec.structs.replace(RYDER_SOURCE, score=1.0)], next_cursor=None),
    )
}
RELATION_ANSWER = {"relation": example("Seen from the new claim: the same as the seeded one", RELATION)}
RELATION_LIST_ANSWER = {"relations": example("One relation", RelationList(items=[RELATION]))}
REVISIONS_ANSWER = {"revisions": example("Created, then edited once", REVISIONS)}
NETWORK_ANSWER = {"reuters": example("Reuters: citing Patrick Ryder, cited by Hina", NETWORK)}
REVIEW_ANSWER = {"review": example("A fact-checker's verdict", REVIEW)}
REVIEW_LIST_ANSWER = {"reviews": example("One review", ReviewList(items=[REVIEW]))}

# --- the audit log -------------------------------------------------------------------------------


def _audit_entry(seq: int, prev_hash: bytes, at: datetime, action: AuditAction, change: dict[str, Any]) -> AuditEntry:
    """An entry of the example log, hashed as the service hashes it."""
    body = {
        "seq": seq,
        "at": audit.moment(at),
        "actor": "newsroom-desk",
        "action": action,
        "entity_type": "claim",
        "entity_id": CLAIM_ID,
        "change": change,
    }
    return AuditEntry(
        seq=seq,
        at=at,
        actor="newsroom-desk",
        action=action,
        entity_type="claim",
        entity_id=CLAIM_ID,
        change=change,
        prev_hash=prev_hash.hex(),
        hash=audit.chain_hash(prev_hash, audit.canonical(body)).hex(),
    )


_CREATED = _audit_entry(41, hashlib.sha256(b"entry 40").digest(), STORED_AT, "create", REVISIONS.items[0].changes)
_EDITED = _audit_entry(
    42, bytes.fromhex(_CREATED.hash), REVISIONS.items[1].created_at, "edit", REVISIONS.items[1].changes
)
AUDIT_PAGE_ANSWER = {
    "entity": example(
        "The entries of one claim: created, then edited", AuditPage(items=[_CREATED, _EDITED], next_cursor=None)
    )
}
AUDIT_HEAD_ANSWER = {"head": example("A log of 42 entries", AuditHead(entries=42, head=_EDITED.hash))}
AUDIT_VERIFICATION_ANSWER = {
    "ok": example("Every entry holds", AuditVerification(ok=True, entries=42, head=_EDITED.hash)),
    "broken": example(
        "A byte of entry 41 was changed",
        AuditVerification(
            ok=False,
            entries=40,
            broken_at=41,
            reason="its hash is not the hash of the entry before it and its stored body",
        ),
    ),
}
