"""``/claims/{id}/reviews`` and ``/claims/{id}/claimreview``: fact-checkers' verdicts on a claim."""

from __future__ import annotations

import asyncpg
from litestar import Controller, Response, get, post
from litestar.params import JSONBody

from service.api import examples
from service.api.auth import BEARER, Actor
from service.api.connections import Conn
from service.api.examples import with_examples
from service.api.idempotency import REPLAYED_HEADER, Idempotent
from service.api.params import ClaimIdPath, ReviewIdPath
from service.api.problems import problems
from service.domain import reviews as domain
from service.domain.ids import path_id
from service.model import ClaimReviewDocument, Review, ReviewIn, ReviewList
from service.settings import AppSettings

JSON_LD = "application/ld+json"

ClaimId = ClaimIdPath


class ReviewController(Controller):
    """Reviews: fact-checkers' verdicts on claims, also as schema.org ClaimReview."""

    path = "/claims/{claim_id:str}"
    tags = ["claims"]

    @post(
        "/reviews",
        operation_id="createClaimReview",
        operation_class=with_examples(request=examples.CREATE_REVIEW, response=examples.REVIEW_ANSWER),
        summary="Review a claim",
        description="Stores a fact-checker's verdict. The reviewer is a source, named by `reviewer_id` "
        "(a merged source's id names its survivor) or inline by `reviewer`, resolved like an inline "
        "source of a hop: one match by name or alias reuses it, none creates it, several is a 422 "
        "listing the candidates. The rating has a `label` and optionally a `value` on the scale from "
        "`worst` to `best` (both given, `worst` below `best`).",
        responses=problems(401, 403, 404, 422, idempotent=True),
        response_headers=[REPLAYED_HEADER],
        security=BEARER,
        opt={"scope": "write"},
    )
    async def create_review(
        self, data: JSONBody[ReviewIn], conn: Conn, actor: Actor, idempotency: Idempotent, claim_id: ClaimId
    ) -> Response[Review]:
        cid = path_id(claim_id, "claim")

        async def write(conn: asyncpg.Connection) -> Response[Review]:
            created = await domain.create(conn, cid, data, actor=actor)
            location = f"/claims/{claim_id}/reviews/{created.id}"
            return Response(created, status_code=201, headers={"Location": location})

        return await idempotency.run(conn, write)

    @get(
        "/reviews",
        operation_id="listClaimReviews",
        operation_class=with_examples(response=examples.REVIEW_LIST_ANSWER),
        summary="Reviews of a claim",
        description="Every review of the claim, oldest first.",
        responses=problems(404),
    )
    async def list_reviews(self, conn: Conn, claim_id: ClaimId) -> ReviewList:
        return ReviewList(items=await domain.of_claim(conn, path_id(claim_id, "claim")))

    @get(
        "/reviews/{review_id:str}",
        operation_id="getClaimReview",
        operation_class=with_examples(response=examples.REVIEW_ANSWER),
        summary="Read one review of a claim",
        description="One review, as `Location` of its creation names it.",
        responses=problems(404),
    )
    async def get_review(
        self,
        conn: Conn,
        claim_id: ClaimId,
        review_id: ReviewIdPath,
    ) -> Review:
        return await domain.one(conn, path_id(claim_id, "claim"), path_id(review_id, "review"))

    @get(
        "/claimreview",
        operation_id="getClaimReviewJsonLd",
        summary="Reviews of a claim as schema.org ClaimReview (JSON-LD)",
        description="A JSON-LD document with `@context` https://schema.org and one `ClaimReview` per "
        "review in `@graph`, oldest first (an empty `@graph` when there are none). `itemReviewed` is "
        "the `Claim`: its `author` is the traced origin (a `Person`, else an `Organization`), "
        "`appearance` the pieces it appeared in along its traced path (those with a url, title or "
        "outlet), `firstAppearance` the earliest dated of them. `reviewRating` is a `Rating` whose "
        "`alternateName` is the label; `datePublished` is `reviewed_at`.",
        media_type=JSON_LD,
        responses=problems(404),
    )
    async def get_claim_review(self, conn: Conn, settings: AppSettings, claim_id: ClaimId) -> ClaimReviewDocument:
        return await domain.claim_review_document(conn, path_id(claim_id, "claim"), settings.trace_max_depth)
