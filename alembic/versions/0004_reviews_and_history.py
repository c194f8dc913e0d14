"""Reviews of claims, and the history of claims: versions, revisions, retraction.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

A review is a fact-checker's verdict shaped after schema.org ClaimReview: a reviewer (a source), a
rating label with an optional value on a stated scale, a url, a summary, a date. A claim keeps a
``version`` (its ``ETag``), a ``status`` (``active`` or ``retracted``, with the reason and time),
and ``claim_revisions`` records every change: its number, action, what changed and who changed it.
Nothing is deleted: a retracted claim stays, and old values live on in the revisions.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    """
    CREATE TABLE claim_reviews (
        id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq                 bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        claim_id            uuid NOT NULL REFERENCES claims (id),
        reviewer_source_id  uuid NOT NULL REFERENCES sources (id),
        rating_label        text NOT NULL CONSTRAINT claim_reviews_label_check CHECK (btrim(rating_label) <> ''),
        rating_value        numeric,
        rating_best         numeric,
        rating_worst        numeric,
        url                 text,
        summary             text,
        reviewed_at         timestamptz NOT NULL,
        actor               text,
        created_at          timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT claim_reviews_scale_check CHECK (
            (rating_best IS NULL) = (rating_worst IS NULL) AND (rating_worst IS NULL OR rating_worst < rating_best)),
        CONSTRAINT claim_reviews_value_check CHECK (
            rating_value IS NULL OR (rating_best IS NOT NULL AND rating_value BETWEEN rating_worst AND rating_best))
    )
    """,
    "CREATE INDEX claim_reviews_claim_idx ON claim_reviews (claim_id, seq)",
    "CREATE INDEX claim_reviews_reviewer_idx ON claim_reviews (reviewer_source_id)",
    "ALTER TABLE claims ADD COLUMN version integer NOT NULL DEFAULT 1",
    """
    ALTER TABLE claims ADD COLUMN status text NOT NULL DEFAULT 'active'
        CONSTRAINT claims_status_check CHECK (status IN ('active', 'retracted'))
    """,
    "ALTER TABLE claims ADD COLUMN retraction_reason text",
    "ALTER TABLE claims ADD COLUMN retracted_at timestamptz",
    """
    ALTER TABLE claims ADD CONSTRAINT claims_retraction_check CHECK (
        (status = 'retracted') = (retraction_reason IS NOT NULL AND retracted_at IS NOT NULL))
    """,
    """
    CREATE TABLE claim_revisions (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        claim_id    uuid NOT NULL REFERENCES claims (id),
        number      integer NOT NULL CONSTRAINT claim_revisions_number_check CHECK (number >= 1),
        action      text NOT NULL
                    CONSTRAINT claim_revisions_action_check CHECK (action IN ('create', 'edit', 'retract')),
        changes     jsonb NOT NULL CONSTRAINT claim_revisions_changes_check CHECK (jsonb_typeof(changes) = 'object'),
        actor       text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT claim_revisions_unique UNIQUE (claim_id, number)
    )
    """,
    """
    CREATE OR REPLACE VIEW claim_documents AS
    SELECT c.id, c.seq, c.text, c.kind, c.language, c.url, c.title, c.author, c.outlet,
           c.published_at, c.stated_at, c.created_at,
           json_build_object('id', o.id, 'name', o.name, 'kind', o.kind) AS origin,
           (SELECT json_agg(json_build_object(
                        'position', h.position, 'cue', h.cue, 'role', h.role,
                        'upstream_claim_id', h.upstream_claim_id,
                        'source', json_build_object('id', s.id, 'name', s.name, 'kind', s.kind))
                    ORDER BY h.position)
              FROM hops h JOIN sources s ON s.id = h.source_id
             WHERE h.claim_id = c.id) AS chain,
           c.version, c.status, c.retraction_reason, c.retracted_at
      FROM claims c JOIN sources o ON o.id = c.origin_source_id
    """,
]

DOWNGRADE = [
    "DROP VIEW claim_documents",
    """
    CREATE VIEW claim_documents AS
    SELECT c.id, c.seq, c.text, c.kind, c.language, c.url, c.title, c.author, c.outlet,
           c.published_at, c.stated_at, c.created_at,
           json_build_object('id', o.id, 'name', o.name, 'kind', o.kind) AS origin,
           (SELECT json_agg(json_build_object(
                        'position', h.position, 'cue', h.cue, 'role', h.role,
                        'upstream_claim_id', h.upstream_claim_id,
                        'source', json_build_object('id', s.id, 'name', s.name, 'kind', s.kind))
                    ORDER BY h.position)
              FROM hops h JOIN sources s ON s.id = h.source_id
             WHERE h.claim_id = c.id) AS chain
      FROM claims c JOIN sources o ON o.id = c.origin_source_id
    """,
    "DROP TABLE claim_revisions",
    "ALTER TABLE claims DROP CONSTRAINT claims_retraction_check",
    "ALTER TABLE claims DROP COLUMN retracted_at",
    "ALTER TABLE claims DROP COLUMN retraction_reason",
    "ALTER TABLE claims DROP COLUMN status",
    "ALTER TABLE claims DROP COLUMN version",
    "DROP TABLE claim_reviews",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
