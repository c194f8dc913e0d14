"""Source identity: spelling-variant tokens for fuzzy finding, versions for edits, merges.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

``source_name_tokens`` holds the skeleton of every word of every name and alias of a source, and
``token_deletes`` each skeleton under itself and its one-letter deletions, so that a query a letter
or a transliteration away finds its source by index. The skeletons are computed in Python
(``service.domain.names``), so this revision fills them for the sources already stored.
``version`` backs the ``ETag`` of a source; ``merged_into`` points a merged duplicate at the source
that absorbed it.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from service.domain.names import deletes, name_tokens

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    "ALTER TABLE sources ADD COLUMN version integer NOT NULL DEFAULT 1",
    """
    ALTER TABLE sources ADD COLUMN merged_into uuid
        REFERENCES sources (id)
        CONSTRAINT sources_merged_not_self_check CHECK (merged_into <> id)
    """,
    "CREATE INDEX sources_merged_into_idx ON sources (merged_into) WHERE merged_into IS NOT NULL",
    """
    CREATE TABLE source_name_tokens (
        source_id  uuid NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
        token      text NOT NULL,
        CONSTRAINT source_name_tokens_pkey PRIMARY KEY (source_id, token)
    )
    """,
    "CREATE INDEX source_name_tokens_token_idx ON source_name_tokens (token)",
    """
    CREATE TABLE token_deletes (
        delete_key  text NOT NULL,
        token       text NOT NULL,
        CONSTRAINT token_deletes_pkey PRIMARY KEY (delete_key, token)
    )
    """,
    """
    CREATE OR REPLACE VIEW source_documents AS
    SELECT s.id, s.seq, s.kind, s.name, s.description, s.identifiers, s.created_at,
           coalesce((SELECT array_agg(a.alias ORDER BY a.alias)
                       FROM source_aliases a WHERE a.source_id = s.id), '{}') AS aliases,
           coalesce((SELECT json_agg(json_build_object(
                                'organization', json_build_object('id', o.id, 'name', o.name, 'kind', o.kind),
                                'role', f.role, 'since', f.since, 'until', f.until)
                            ORDER BY f.since NULLS FIRST, o.name)
                       FROM affiliations f JOIN sources o ON o.id = f.organization_id
                      WHERE f.source_id = s.id), '[]') AS affiliations,
           s.version, s.merged_into, s.name_key
      FROM sources s
    """,
]

DOWNGRADE = [
    "DROP VIEW source_documents",
    """
    CREATE VIEW source_documents AS
    SELECT s.id, s.seq, s.kind, s.name, s.description, s.identifiers, s.created_at,
           coalesce((SELECT array_agg(a.alias ORDER BY a.alias)
                       FROM source_aliases a WHERE a.source_id = s.id), '{}') AS aliases,
           coalesce((SELECT json_agg(json_build_object(
                                'organization', json_build_object('id', o.id, 'name', o.name, 'kind', o.kind),
                                'role', f.role, 'since', f.since, 'until', f.until)
                            ORDER BY f.since NULLS FIRST, o.name)
                       FROM affiliations f JOIN sources o ON o.id = f.organization_id
                      WHERE f.source_id = s.id), '[]') AS affiliations
      FROM sources s
    """,
    "DROP TABLE token_deletes",
    "DROP TABLE source_name_tokens",
    "DROP INDEX sources_merged_into_idx",
    "ALTER TABLE sources DROP COLUMN merged_into",
    "ALTER TABLE sources DROP COLUMN version",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)
    bind = op.get_bind()
    names = bind.execute(
        sa.text("SELECT id, name FROM sources UNION ALL SELECT source_id, alias FROM source_aliases")
    ).fetchall()
    tokens = {(source_id, token) for source_id, name in names for token in name_tokens(name)}
    if tokens:
        bind.execute(
            sa.text("INSERT INTO source_name_tokens (source_id, token) VALUES (:source_id, :token)"),
            [{"source_id": s, "token": t} for s, t in sorted(tokens, key=str)],
        )
        keys = {(key, token) for _, token in tokens for key in deletes(token)}
        bind.execute(
            sa.text("INSERT INTO token_deletes (delete_key, token) VALUES (:key, :token)"),
            [{"key": k, "token": t} for k, t in sorted(keys)],
        )


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
