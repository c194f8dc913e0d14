"""How each claim was made: by hand, or extracted from an article by a named model; and who accepted it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

``claims.extracted_by`` names the extraction model (``attribution-en-1.0.0``) whose proposal the
claim was stored from; NULL is a claim written by hand. Who accepted it is the actor of its first
revision (the key that stored it), which ``claim_documents`` now answers beside it as
``accepted_by``: one probe of ``claim_revisions_unique`` a claim.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VIEW = """
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
             WHERE h.claim_id = c.id) AS chain,
           c.version, c.status, c.retraction_reason, c.retracted_at{made}
      FROM claims c JOIN sources o ON o.id = c.origin_source_id
"""

MADE = """,
           c.extracted_by,
           (SELECT r.actor FROM claim_revisions r WHERE r.claim_id = c.id AND r.number = 1) AS accepted_by"""

UPGRADE = [
    """
    ALTER TABLE claims ADD COLUMN extracted_by text
        CONSTRAINT claims_extracted_by_check CHECK (extracted_by ~ '^[a-z0-9][a-z0-9.-]{0,99}$')
    """,
    "DROP VIEW claim_documents",
    _VIEW.format(made=MADE),
]

DOWNGRADE = [
    "DROP VIEW claim_documents",
    _VIEW.format(made=""),
    "ALTER TABLE claims DROP COLUMN extracted_by",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
