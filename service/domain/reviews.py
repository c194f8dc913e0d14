"""Reviews: fact-checkers' verdicts on claims, and their schema.org ClaimReview form."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from service.db import retrying
from service.documents import appeared_in
from service.domain import audit, sources, traces
from service.domain.ids import field_id
from service.errors import InvalidInput, NotFound
from service.model import (
    AppearedInOut,
    ClaimReviewDocument,
    Rating,
    RatingIn,
    Review,
    ReviewIn,
    SchemaOrgClaim,
    SchemaOrgClaimReview,
    SchemaOrgCreativeWork,
    SchemaOrgOrganization,
    SchemaOrgPerson,
    SchemaOrgRating,
    SourceSummary,
    Trace,
)
from service.repositories import claims as claims_repo
from service.repositories import reviews as repo
from service.repositories import sources as sources_repo


def check_rating(rating: RatingIn) -> None:
    """A label that is not blank, and a value only on a scale from ``worst`` up to ``best``."""
    if not rating.label.strip():
        raise InvalidInput.field("rating.label", "the label is blank")
    if rating.best is None and rating.worst is not None:
        raise InvalidInput.field("rating.best", "give best with worst")
    if rating.worst is None and rating.best is not None:
        raise InvalidInput.field("rating.worst", "give worst with best")
    if rating.best is not None and rating.worst is not None and rating.worst >= rating.best:
        raise InvalidInput.field("rating.worst", "worst must be below best")
    if rating.value is None:
        return
    if rating.best is None or rating.worst is None:
        raise InvalidInput.field("rating.value", "a value needs best and worst")
    if not rating.worst <= rating.value <= rating.best:
        raise InvalidInput.field("rating.value", f"the value must lie from {rating.worst:g} to {rating.best:g}")


async def _reviewer(conn: asyncpg.Connection, body: ReviewIn) -> UUID:
    if (body.reviewer_id is None) == (body.reviewer is None):
        raise InvalidInput.field("reviewer", "give exactly one of reviewer_id and reviewer")
    if body.reviewer is not None:
        return await sources.resolve(conn, body.reviewer, "reviewer")
    assert body.reviewer_id is not None
    # A merged source's id still names it: the review goes to the survivor.
    survivor = await sources_repo.survivor(conn, field_id(body.reviewer_id, "reviewer_id"))
    if survivor is None:
        raise InvalidInput.field("reviewer_id", "no source has this id")
    return survivor


def review(record: asyncpg.Record) -> Review:
    """A row of the reviews query as a Struct."""
    return Review(
        id=str(record["id"]),
        claim_id=str(record["claim_id"]),
        reviewer=msgspec.convert(record["reviewer"], SourceSummary),
        rating=Rating(
            label=record["rating_label"],
            value=record["rating_value"],
            best=record["rating_best"],
            worst=record["rating_worst"],
        ),
        url=record["url"],
        summary=record["summary"],
        reviewed_at=record["reviewed_at"],
        created_at=record["created_at"],
    )


async def _claim_must_exist(conn: asyncpg.Connection, claim_id: UUID) -> None:
    if not await claims_repo.exists(conn, claim_id):
        raise NotFound(f"no claim has the id {str(claim_id)!r}")


@retrying
async def create(conn: asyncpg.Connection, claim_id: UUID, body: ReviewIn, *, actor: str | None = None) -> Review:
    """Store a review of ``claim_id``, and any reviewer it names inline, in one transaction; ``actor`` made it."""
    async with conn.transaction():
        await _claim_must_exist(conn, claim_id)
        check_rating(body.rating)
        reviewer_id = await _reviewer(conn, body)
        review_id = await repo.insert(
            conn,
            claim_id=claim_id,
            reviewer_source_id=reviewer_id,
            label=body.rating.label.strip(),
            value=body.rating.value,
            best=body.rating.best,
            worst=body.rating.worst,
            url=body.url,
            summary=body.summary,
            reviewed_at=body.reviewed_at,
            actor=actor,
        )
        change = {
            "claim_id": str(claim_id),
            "reviewer_id": str(reviewer_id),
            "rating": {**msgspec.to_builtins(body.rating), "label": body.rating.label.strip()},
            "url": body.url,
            "summary": body.summary,
            "reviewed_at": msgspec.to_builtins(body.reviewed_at),
        }
        await audit.append(conn, actor=actor, action="create", entity_type="review", entity_id=review_id, change=change)
    [record] = await repo.of_claim(conn, claim_id, review_id)
    return review(record)


async def of_claim(conn: asyncpg.Connection, claim_id: UUID) -> list[Review]:
    """Every review of a stored claim, oldest first."""
    await _claim_must_exist(conn, claim_id)
    return [review(r) for r in await repo.of_claim(conn, claim_id)]


async def one(conn: asyncpg.Connection, claim_id: UUID, review_id: UUID) -> Review:
    """One review of a stored claim, or 404."""
    records = await repo.of_claim(conn, claim_id, review_id)
    if not records:
        raise NotFound(f"claim {str(claim_id)!r} has no review with the id {str(review_id)!r}")
    return review(records[0])


# --- schema.org ClaimReview ----------------------------------------------------------------------


def agent(source: SourceSummary) -> SchemaOrgPerson | SchemaOrgOrganization:
    """A source as schema.org sees it: a Person, else an Organization (outlets and anonymous ones too)."""
    if source.kind == "person":
        return SchemaOrgPerson(name=source.name)
    return SchemaOrgOrganization(name=source.name)


def creative_work(piece: AppearedInOut) -> SchemaOrgCreativeWork:
    """The published piece a claim appeared in."""
    return SchemaOrgCreativeWork(
        url=piece.url,
        headline=piece.title,
        author=SchemaOrgPerson(name=piece.author) if piece.author else None,
        publisher=SchemaOrgOrganization(name=piece.outlet) if piece.outlet else None,
        date_published=piece.published_at,
    )


async def appearances(conn: asyncpg.Connection, trace: Trace) -> list[SchemaOrgCreativeWork]:
    """The pieces the traced claim and the upstream claims on its path appeared in, in path order, each once.

    A piece counts when it has a url, a title or an outlet: a date or a byline alone names none.
    """
    upstream_ids = list(dict.fromkeys(UUID(hop.claim_id) for hop in trace.path if hop.claim_id != trace.claim.id))
    pieces = [trace.claim.appeared_in]
    pieces += [appeared_in(record) for record in await claims_repo.documents(conn, upstream_ids)]
    works: list[SchemaOrgCreativeWork] = []
    for piece in pieces:
        work = creative_work(piece)
        if (piece.url or piece.title or piece.outlet) and work not in works:
            works.append(work)
    return works


def first_appearance(works: list[SchemaOrgCreativeWork]) -> SchemaOrgCreativeWork | None:
    """The earliest dated piece (the nearest the reader among equals); none when no piece is dated."""
    dated = [(w.date_published, w) for w in works if w.date_published is not None]
    return min(dated, key=lambda pair: pair[0])[1] if dated else None


def claim_review(stored: Review, claim_text: str, item: SchemaOrgClaim) -> SchemaOrgClaimReview:
    """One stored review as a schema.org ClaimReview of ``item``."""
    rating = stored.rating
    return SchemaOrgClaimReview(
        author=agent(stored.reviewer),
        claim_reviewed=claim_text,
        review_rating=SchemaOrgRating(
            alternate_name=rating.label,
            rating_value=rating.value,
            best_rating=rating.best,
            worst_rating=rating.worst,
        ),
        item_reviewed=item,
        date_published=stored.reviewed_at,
        url=stored.url,
        description=stored.summary,
    )


async def claim_review_document(conn: asyncpg.Connection, claim_id: UUID, max_depth: int) -> ClaimReviewDocument:
    """The reviews of a claim as schema.org ClaimReviews, the claim's author being its traced origin."""
    trace = await traces.trace(conn, claim_id, max_depth)
    records = await repo.of_claim(conn, claim_id)
    if not records:
        return ClaimReviewDocument(context="https://schema.org", graph=[])
    works = await appearances(conn, trace)
    item = SchemaOrgClaim(
        author=agent(trace.origin.source),
        appearance=works,
        first_appearance=first_appearance(works),
    )
    graph = [claim_review(review(record), trace.claim.text, item) for record in records]
    return ClaimReviewDocument(context="https://schema.org", graph=graph)
