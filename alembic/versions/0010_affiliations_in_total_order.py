"""A source's affiliations in a total order: by start, organization name, organization and role.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

``source_documents`` ordered a source's affiliations by ``since`` and the organization's name
alone, so two roles at one organization from the same date (Patrick Ryder, spokesman and
spokesperson of the Pentagon) came in whatever order the plan read them, which changed when an
index was built again (an initial load builds the affiliations' keys after its rows). The
organization's id and the role now settle every tie: (source, organization, role, since) is unique.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _view(order: str) -> str:
    return f"""
    CREATE OR REPLACE VIEW source_documents AS
    SELECT s.id, s.seq, s.kind, s.name, s.description, s.identifiers, s.created_at,
           coalesce((SELECT array_agg(a.alias ORDER BY a.alias)
                       FROM source_aliases a WHERE a.source_id = s.id), '{{}}') AS aliases,
           coalesce((SELECT json_agg(json_build_object(
                                'organization', json_build_object('id', o.id, 'name', o.name, 'kind', o.kind),
                                'role', f.role, 'since', f.since, 'until', f.until)
                            ORDER BY {order})
                       FROM affiliations f JOIN sources o ON o.id = f.organization_id
                      WHERE f.source_id = s.id), '[]') AS affiliations,
           s.version, s.merged_into, s.name_key
      FROM sources s
    """


UPGRADE = [_view("f.since NULLS FIRST, o.name, o.id, f.role NULLS FIRST")]
DOWNGRADE = [_view("f.since NULLS FIRST, o.name")]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
