"""``/claims``: create claims with their chains, read, filter, and trace them."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import JSONBody, Parameter

from service.api import examples
from service.api.auth import BEARER, Actor
from service.api.connections import Conn
from service.api.duplicates import DUPLICATES_LINK, duplicates_link
from service.api.etags import IfMatch, etag
from service.api.examples import with_examples
from service.api.idempotency import REPLAYED_HEADER, Idempotent
from service.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, encode_cursor, next_link
from service.api.params import ClaimIdPath, ClaimIfMatch, Moment, OptionalClaimIfMatch, SourceIdQuery, moment
from service.api.problems import etag_header, problems
from service.domain import claims as domain
from service.domain import history, relations, sources, traces
from service.domain.claims import ClaimFilters
from service.domain.ids import path_id
from service.domain.names import searchable
from service.errors import InvalidInput
from service.model import (
    LANGUAGE_PATTERN,
    Claim,
    ClaimIn,
    ClaimKind,
    ClaimPage,
    ClaimPatch,
    ClaimState,
    Relation,
    RelationIn,
    RelationList,
    RetractionIn,
    RevisionList,
    Trace,
)
from service.settings import AppSettings

ETAG_HEADER = etag_header("claim")


async def claim_response(conn: asyncpg.Connection, claim_id: UUID) -> Response[Claim]:
    """One claim with its chain and its ``ETag``, or 404."""
    return claim_answer(await domain.read(conn, claim_id))


def claim_answer(stored: domain.StoredClaim, status_code: int = 200) -> Response[Claim]:
    """A claim as stored with its ``ETag`` (and ``Location`` when created)."""
    headers = {"ETag": etag(stored.version)}
    if status_code == 201:
        headers["Location"] = f"/claims/{stored.claim.id}"
    return Response(stored.claim, status_code=status_code, headers=headers)


async def claim_page(
    request: Request[Any, Any, Any],
    conn: Conn,
    filters: ClaimFilters,
    limit: int,
    cursor: str | None,
) -> Response[ClaimPage]:
    """One page of claims passing ``filters``, newest first, with its cursor and ``Link`` header."""
    after = decode_cursor(cursor, "claims", (int,))
    found = await domain.page(conn, filters, after[0] if after else None, limit + 1)
    items = [stored.claim for stored in found[:limit]]
    next_cursor = encode_cursor("claims", found[limit - 1].seq) if len(found) > limit else None
    return Response(ClaimPage(items=items, next_cursor=next_cursor), headers=next_link(request, next_cursor))


class ClaimController(Controller):
    """Claims: statements as they appeared, with their attribution chains."""

    path = "/claims"
    tags = ["claims"]

    @post(
        operation_id="createClaim",
        operation_class=with_examples(request=examples.CREATE_CLAIM, response=examples.CLAIM_ANSWER),
        summary="Create a claim with its chain",
        description="Stores a claim and its chain, outermost reporter first and origin last. A hop names "
        "its source by `source_id` or inline by `source`: an inline source matching exactly one stored "
        "source by name or alias reuses it, none creates it, several is a 422 listing the candidates. "
        "Only the last hop may carry `upstream_claim_id`. All of it is stored in one transaction, "
        "with the claim's first revision. A person's inline name written with a title or role "
        '("Pentagon spokesman Patrick Ryder") is matched without it, the title becoming the hop\'s `role`. '
        "A source created that has likely duplicates is named in a `Link` header.",
        responses=problems(400, 401, 403, 422, idempotent=True),
        response_headers=[*ETAG_HEADER, REPLAYED_HEADER, DUPLICATES_LINK],
        security=BEARER,
        opt={"scope": "write"},
    )
    async def create_claim(
        self, data: JSONBody[ClaimIn], conn: Conn, actor: Actor, idempotency: Idempotent
    ) -> Response[Claim]:
        async def write(conn: asyncpg.Connection) -> Response[Claim]:
            # The claim as stored in its transaction is the one answered: no read after commit.
            created = await domain.create(conn, data, actor=actor)
            answer = claim_answer(created, status_code=201)
            answer.headers.update(await duplicates_link(conn, created.created_sources))
            return answer

        return await idempotency.run(conn, write)

    @get(
        operation_id="listClaims",
        operation_class=with_examples(response=examples.CLAIM_PAGE_ANSWER),
        summary="List, filter and search claims",
        description="Newest first. `q` keeps claims containing every word of it; `origin` those whose "
        "traced origin (following upstream links) is that source; `via` those it relayed; `since` "
        "(inclusive) and `until` (exclusive) bound when the claim appeared (`appeared_in.published_at`); "
        "`kind`, `language`, `anonymous_origin` and `contradicted` narrow further.",
        responses=problems(400, 422),
    )
    async def list_claims(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        q: Annotated[
            str | None,
            Parameter(min_length=1, max_length=1000, description="Words to find (a letter or digit at least)."),
        ] = None,
        origin: SourceIdQuery = None,
        via: SourceIdQuery = None,
        since: Moment = None,
        until: Moment = None,
        kind: Annotated[ClaimKind | None, Parameter(description="Only quotes or only paraphrases.")] = None,
        language: Annotated[
            str | None,
            Parameter(pattern=LANGUAGE_PATTERN, max_length=35, description="Only claims in this language."),
        ] = None,
        anonymous_origin: Annotated[
            bool | None, Parameter(description="Only claims whose traced origin is (or is not) anonymous.")
        ] = None,
        contradicted: Annotated[
            bool | None, Parameter(description="Only claims another claim contradicts (or none does).")
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[ClaimPage]:
        if q is not None and not searchable(q):
            raise InvalidInput.field("q", "needs at least one letter or digit")
        after, before = moment(since, "since"), moment(until, "until")
        if after is not None and before is not None and after > before:
            raise InvalidInput.field("until", "until is before since")
        filters = ClaimFilters(
            origin=await sources.filter_id(conn, origin, "origin"),
            via=await sources.filter_id(conn, via, "via"),
            since=after,
            until=before,
            q=searchable(q) if q else None,
            kind=kind,
            language=language,
            anonymous_origin=anonymous_origin,
            contradicted=contradicted,
        )
        return await claim_page(request, conn, filters, limit, cursor)

    @get(
        "/{claim_id:str}",
        operation_id="getClaim",
        operation_class=with_examples(response=examples.CLAIM_ANSWER),
        summary="Read one claim",
        description="One claim with its own chain, its traced origin, its `status` and its `ETag`. A "
        "retracted claim answers too.",
        responses=problems(404),
        response_headers=ETAG_HEADER,
    )
    async def get_claim(self, conn: Conn, claim_id: ClaimIdPath) -> Response[Claim]:
        return await claim_response(conn, path_id(claim_id, "claim"))

    @get(
        "/{claim_id:str}/status",
        operation_id="getClaimStatus",
        operation_class=with_examples(response=examples.CLAIM_STATE_ANSWER),
        summary="Read a claim's status",
        description="The claim's `status` and `version` alone, with its `ETag`: a cheap way to learn "
        "whether a claim was retracted or changed since it was read, without its chain or origin.",
        responses=problems(404),
        response_headers=ETAG_HEADER,
    )
    async def get_claim_status(self, conn: Conn, claim_id: ClaimIdPath) -> Response[ClaimState]:
        claim = await domain.state(conn, path_id(claim_id, "claim"))
        return Response(claim, headers={"ETag": etag(claim.version)})

    @patch(
        "/{claim_id:str}",
        operation_id="updateClaim",
        operation_class=with_examples(request=examples.UPDATE_CLAIM, response=examples.CLAIM_ANSWER),
        summary="Edit a claim",
        description="Each given field replaces the stored one (`appeared_in` and `chain` whole; a chain "
        "follows the rules of creating a claim). `If-Match` must carry the `ETag` of the claim as read: "
        "without it 428, with a stale one 412. A change bumps the version and records a revision with "
        "each changed field's old and new value; a patch that changes nothing records nothing. Claims "
        "linking this one upstream take its new origin. A retracted claim, an upstream link that would "
        "make a cycle, or a new first source while other claims link this one upstream is a 409.",
        responses=problems(401, 403, 404, 409, 412, 422, 428),
        response_headers=ETAG_HEADER,
        security=BEARER,
        opt={"scope": "write"},
    )
    async def update_claim(
        self,
        data: JSONBody[ClaimPatch],
        conn: Conn,
        actor: Actor,
        claim_id: ClaimIdPath,
        if_match: ClaimIfMatch = None,
    ) -> Response[Claim]:
        cid = path_id(claim_id, "claim")
        precondition = IfMatch(if_match)
        precondition.require("claim")
        await history.edit(conn, cid, data, precondition, actor=actor)
        return await claim_response(conn, cid)

    @post(
        "/{claim_id:str}/retract",
        operation_id="retractClaim",
        operation_class=with_examples(request=examples.RETRACT_CLAIM, response=examples.RETRACTED_CLAIM_ANSWER),
        summary="Retract a claim",
        description="Marks the claim retracted with a reason and the time; it stays stored and readable, "
        "but `/trace?statement=` leaves it out unless asked. Records a revision. `If-Match` is optional "
        "here: a stale one is a 412. Retracting a retracted claim is a 409.",
        status_code=200,
        responses=problems(401, 403, 404, 409, 412, 422, idempotent=True),
        response_headers=[*ETAG_HEADER, REPLAYED_HEADER],
        security=BEARER,
        opt={"scope": "write"},
    )
    async def retract_claim(
        self,
        data: JSONBody[RetractionIn],
        conn: Conn,
        actor: Actor,
        idempotency: Idempotent,
        claim_id: ClaimIdPath,
        if_match: OptionalClaimIfMatch = None,
    ) -> Response[Claim]:
        cid = path_id(claim_id, "claim")

        async def write(conn: asyncpg.Connection) -> Response[Claim]:
            await history.retract(conn, cid, data, IfMatch(if_match, required=False), actor=actor)
            return await claim_response(conn, cid)

        return await idempotency.run(conn, write)

    @get(
        "/{claim_id:str}/revisions",
        operation_id="listClaimRevisions",
        operation_class=with_examples(response=examples.REVISIONS_ANSWER),
        summary="Revisions of a claim",
        description="Every change of the claim, oldest first: `create` holds the claim as created, "
        '`edit` each changed field as `{"from": ..., "to": ...}`, `retract` the status change and '
        "the reason. `number` is the version the change made; `actor` names the API key that made it.",
        responses=problems(404),
    )
    async def list_revisions(self, conn: Conn, claim_id: ClaimIdPath) -> RevisionList:
        return RevisionList(items=await history.revisions(conn, path_id(claim_id, "claim")))

    @post(
        "/{claim_id:str}/relations",
        operation_id="createClaimRelation",
        operation_class=with_examples(request=examples.CREATE_RELATION, response=examples.RELATION_ANSWER),
        summary="Relate a claim to another",
        description="`same_as` and `contradicts` are symmetric: seen from both claims, and asserting "
        "B-A after A-B is a repeat. `supports` and `corrects` go from this claim to `target_id`. A "
        "relation to itself is a 422, an unknown target a 422, a repeated relation a 409.",
        responses=problems(401, 403, 404, 409, 422, idempotent=True),
        response_headers=[REPLAYED_HEADER],
        security=BEARER,
        opt={"scope": "write"},
    )
    async def create_relation(
        self,
        data: JSONBody[RelationIn],
        conn: Conn,
        actor: Actor,
        idempotency: Idempotent,
        claim_id: ClaimIdPath,
    ) -> Response[Relation]:
        cid = path_id(claim_id, "claim")

        async def write(conn: asyncpg.Connection) -> Response[Relation]:
            created = await relations.create(conn, cid, data, actor=actor)
            return Response(created, status_code=201, headers={"Location": f"/claims/{claim_id}/relations"})

        return await idempotency.run(conn, write)

    @get(
        "/{claim_id:str}/relations",
        operation_id="listClaimRelations",
        operation_class=with_examples(response=examples.RELATION_LIST_ANSWER),
        summary="Relations of a claim",
        description="Every relation of the claim seen from it, oldest first: `mutual` for symmetric "
        "types, `outgoing` when this claim supports or corrects the other, `incoming` the reverse.",
        responses=problems(404),
    )
    async def list_relations(self, conn: Conn, claim_id: ClaimIdPath) -> RelationList:
        return RelationList(items=await relations.of_claim(conn, path_id(claim_id, "claim")))

    @get(
        "/{claim_id:str}/trace",
        operation_id="traceClaim",
        operation_class=with_examples(response=examples.TRACE_ANSWER),
        summary="Trace a claim to its origin",
        description="The claim's path with every upstream claim expanded in place (each hop says the "
        "`claim_id` it was recorded in), its origin with role and on whose behalf, in one query.",
        responses=problems(404),
    )
    async def trace_claim(
        self,
        conn: Conn,
        settings: AppSettings,
        claim_id: ClaimIdPath,
    ) -> Trace:
        return await traces.trace(conn, path_id(claim_id, "claim"), settings.trace_max_depth)
