"""Reviews of claims: fact-checkers' verdicts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

INSERT_REVIEW = """
INSERT INTO claim_reviews (claim_id, reviewer_source_id, rating_label, rating_value, rating_best, rating_worst,
                           url, summary, reviewed_at, actor)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id
"""

# The reviews of one claim, oldest first, through claim_reviews_claim_idx; the rating's numbers
# as float8, which is what the API shows.
REVIEWS_OF = """
SELECT r.id, r.claim_id, r.rating_label,
       r.rating_value::float8 AS rating_value, r.rating_best::float8 AS rating_best,
       r.rating_worst::float8 AS rating_worst, r.url, r.summary, r.reviewed_at, r.created_at,
       json_build_object('id', s.id, 'name', s.name, 'kind', s.kind) AS reviewer
  FROM claim_reviews r
  JOIN sources s ON s.id = r.reviewer_source_id
 WHERE r.claim_id = $1 AND ($2::uuid IS NULL OR r.id = $2)
 ORDER BY r.seq
"""


def _numeric(value: float | None) -> Decimal | None:
    # Through the shortest repr, so 0.1 is stored as 0.1 and not as its binary expansion.
    return None if value is None else Decimal(repr(value))


async def insert(
    conn: asyncpg.Connection,
    *,
    claim_id: UUID,
    reviewer_source_id: UUID,
    label: str,
    value: float | None,
    best: float | None,
    worst: float | None,
    url: str | None,
    summary: str | None,
    reviewed_at: datetime,
    actor: str | None,
) -> UUID:
    """Store one review; returns its id."""
    review_id: UUID = await conn.fetchval(
        INSERT_REVIEW,
        claim_id,
        reviewer_source_id,
        label,
        _numeric(value),
        _numeric(best),
        _numeric(worst),
        url,
        summary,
        reviewed_at,
        actor,
    )
    return review_id


async def of_claim(conn: asyncpg.Connection, claim_id: UUID, review_id: UUID | None = None) -> list[asyncpg.Record]:
    """The reviews of a claim with their reviewers, oldest first; only ``review_id`` when given."""
    return list(await conn.fetch(REVIEWS_OF, claim_id, review_id))
