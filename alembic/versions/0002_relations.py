"""Relations between claims: same_as, supports, contradicts, corrects.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Symmetric relations (same_as, contradicts) are stored once, the lesser claim id first, so that
"A contradicts B" and "B contradicts A" are one row and asserting both is a conflict. The
``claim_links`` view shows every relation from both of its claims.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    """
    CREATE TABLE claim_relations (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        claim_id     uuid NOT NULL REFERENCES claims (id),
        target_id    uuid NOT NULL REFERENCES claims (id),
        type         text NOT NULL
                     CONSTRAINT claim_relations_type_check
                     CHECK (type IN ('same_as', 'supports', 'contradicts', 'corrects')),
        note         text,
        asserted_by  text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT claim_relations_not_self_check CHECK (claim_id <> target_id),
        CONSTRAINT claim_relations_symmetric_order_check
            CHECK (type NOT IN ('same_as', 'contradicts') OR claim_id < target_id),
        CONSTRAINT claim_relations_unique UNIQUE (claim_id, target_id, type)
    )
    """,
    "CREATE INDEX claim_relations_target_idx ON claim_relations (target_id)",
    """
    CREATE VIEW claim_links AS
    SELECT r.id, r.seq, r.claim_id AS subject_id, r.target_id AS other_id, r.type,
           CASE WHEN r.type IN ('same_as', 'contradicts') THEN 'mutual' ELSE 'outgoing' END AS direction,
           r.note, r.asserted_by, r.created_at
      FROM claim_relations r
    UNION ALL
    SELECT r.id, r.seq, r.target_id, r.claim_id, r.type,
           CASE WHEN r.type IN ('same_as', 'contradicts') THEN 'mutual' ELSE 'incoming' END,
           r.note, r.asserted_by, r.created_at
      FROM claim_relations r
    """,
]

DOWNGRADE = ["DROP VIEW claim_links", "DROP TABLE claim_relations"]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
