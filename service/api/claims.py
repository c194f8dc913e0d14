"""``/claims``: create claims with their chains, read, filter, and trace them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import asyncpg
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, Parameter

from service import documents
from service.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, encode_cursor, next_link
from service.api.problems import problems
from service.db import Conn
from service.domain import claims as domain
from service.domain import relations, traces
from service.domain.ids import field_id, path_id
from service.domain.names import fold
from service.errors import InvalidInput, NotFound
from service.model import (
    LANGUAGE_PATTERN,
    Claim,
    ClaimIn,
    ClaimKind,
    ClaimPage,
    Relation,
    RelationIn,
    RelationList,
    Trace,
)
from service.repositories import claims as repo
from service.repositories.claims import ClaimFilters
from service.settings import AppSettings

SourceId = Annotated[str | None, Parameter(max_length=100, description="A source's id.")]
Moment = Annotated[datetime | None, Parameter(description="RFC 3339 date-time.")]


async def load_claim(conn: asyncpg.Connection, claim_id: str) -> Claim:
    """One claim with its chain by its path id, or 404."""
    records = await repo.documents(conn, [path_id(claim_id, "claim")])
    if not records:
        raise NotFound(f"no claim has the id {claim_id!r}")
    return documents.claim(records[0])


async def claim_page(
    request: Request[Any, Any, Any],
    conn: Conn,
    filters: ClaimFilters,
    limit: int,
    cursor: str | None,
) -> Response[ClaimPage]:
    """One page of claims passing ``filters``, newest first, with its cursor and ``Link`` header."""
    after = decode_cursor(cursor, "claims", (int,))
    records = await repo.page(conn, filters, before_seq=after[0] if after else None, limit=limit + 1)
    items = [documents.claim(r) for r in records[:limit]]
    next_cursor = encode_cursor("claims", records[limit - 1]["seq"]) if len(records) > limit else None
    return Response(ClaimPage(items=items, next_cursor=next_cursor), headers=next_link(request, next_cursor))


class ClaimController(Controller):
    """Claims: statements as they appeared, with their attribution chains."""

    path = "/claims"
    tags = ["claims"]

    @post(
        operation_id="createClaim",
        summary="Create a claim with its chain",
        description="Stores a claim and its chain, outermost reporter first and origin last. A hop names "
        "its source by `source_id` or inline by `source`: an inline source matching exactly one stored "
        "source by name or alias reuses it, none creates it, several is a 422 listing the candidates. "
        "Only the last hop may carry `upstream_claim_id`. All of it is stored in one transaction.",
        responses=problems(400, 422),
    )
    async def create_claim(self, data: JSONBody[ClaimIn], conn: Conn) -> Response[Claim]:
        claim_id = await domain.create(conn, data)
        claim = await load_claim(conn, str(claim_id))
        return Response(claim, status_code=201, headers={"Location": f"/claims/{claim.id}"})

    @get(
        operation_id="listClaims",
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
        q: Annotated[str | None, Parameter(min_length=1, max_length=1000, description="Words to find.")] = None,
        origin: SourceId = None,
        via: SourceId = None,
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
        if q is not None and not fold(q):
            raise InvalidInput.field("q", "needs at least one letter or digit")
        for name, moment in (("since", since), ("until", until)):
            if moment is not None and moment.tzinfo is None:
                raise InvalidInput.field(name, "give an offset, e.g. 2024-06-25T00:00:00Z")
        if since is not None and until is not None and since > until:
            raise InvalidInput.field("until", "until is before since")
        filters = ClaimFilters(
            origin=field_id(origin, "origin") if origin else None,
            via=field_id(via, "via") if via else None,
            since=since,
            until=until,
            q=fold(q) if q else None,
            kind=kind,
            language=language,
            anonymous_origin=anonymous_origin,
            contradicted=contradicted,
        )
        return await claim_page(request, conn, filters, limit, cursor)

    @get(
        "/{claim_id:str}",
        operation_id="getClaim",
        summary="Read one claim",
        description="One claim with its own chain and its traced origin.",
        responses=problems(404),
    )
    async def get_claim(self, conn: Conn, claim_id: Annotated[str, Parameter(description="The claim's id.")]) -> Claim:
        return await load_claim(conn, claim_id)

    @post(
        "/{claim_id:str}/relations",
        operation_id="createClaimRelation",
        summary="Relate a claim to another",
        description="`same_as` and `contradicts` are symmetric: seen from both claims, and asserting "
        "B-A after A-B is a repeat. `supports` and `corrects` go from this claim to `target_id`. A "
        "relation to itself is a 422, an unknown target a 422, a repeated relation a 409.",
        responses=problems(404, 409, 422),
    )
    async def create_relation(
        self,
        data: JSONBody[RelationIn],
        conn: Conn,
        claim_id: Annotated[str, Parameter(description="The claim's id.")],
    ) -> Response[Relation]:
        created = await relations.create(conn, path_id(claim_id, "claim"), data)
        return Response(created, status_code=201, headers={"Location": f"/claims/{claim_id}/relations"})

    @get(
        "/{claim_id:str}/relations",
        operation_id="listClaimRelations",
        summary="Relations of a claim",
        description="Every relation of the claim seen from it, oldest first: `mutual` for symmetric "
        "types, `outgoing` when this claim supports or corrects the other, `incoming` the reverse.",
        responses=problems(404),
    )
    async def list_relations(
        self, conn: Conn, claim_id: Annotated[str, Parameter(description="The claim's id.")]
    ) -> RelationList:
        return RelationList(items=await relations.of_claim(conn, path_id(claim_id, "claim")))

    @get(
        "/{claim_id:str}/trace",
        operation_id="traceClaim",
        summary="Trace a claim to its origin",
        description="The claim's path with every upstream claim expanded in place (each hop says the "
        "`claim_id` it was recorded in), its origin with role and on whose behalf, in one query.",
        responses=problems(404),
    )
    async def trace_claim(
        self,
        conn: Conn,
        settings: AppSettings,
        claim_id: Annotated[str, Parameter(description="The claim's id.")],
    ) -> Trace:
        return await traces.trace(conn, path_id(claim_id, "claim"), settings.trace_max_depth)
