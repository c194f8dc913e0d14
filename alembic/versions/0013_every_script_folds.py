"""Names and texts in every script folded anew: the marks of scripts other than Latin, Greek and Cyrillic
are parts of their letters and stay (they were dropped, and "मोदी" and "मादा" shared one key), joiners
inside words no longer split them, words of scripts written without spaces are joined, and claims'
search texts cut those words into pairs of characters (``service.domain.names``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

Only what is not ASCII can fold differently, so only such names and texts are read and written
again: sources' and aliases' keys, the name index of their sources, and claims' search texts (their
search vectors follow, being generated). An alias whose new key its source already has is dropped, as
creating the source would have. Downgrading keeps the new forms: the old ones are what this fixes.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from service.domain.names import deletes, name_key, name_tokens, searchable

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_ASCII = "~ '[^\\x01-\\x7f]'"


def upgrade() -> None:
    bind = op.get_bind()
    sources = bind.execute(sa.text(f"SELECT id, name FROM sources WHERE name {NOT_ASCII}")).fetchall()
    for source_id, name in sources:
        bind.execute(
            sa.text("UPDATE sources SET name_key = :key WHERE id = :id"), {"key": name_key(name), "id": source_id}
        )
    aliases = bind.execute(
        sa.text(f"SELECT source_id, alias, alias_key FROM source_aliases WHERE alias {NOT_ASCII} ORDER BY alias")
    ).fetchall()
    for source_id, alias, old_key in aliases:
        new_key = name_key(alias)
        if new_key == old_key:
            continue
        taken = bind.execute(
            sa.text(
                "SELECT EXISTS (SELECT FROM source_aliases WHERE source_id = :id AND alias_key = :key)"
                " OR EXISTS (SELECT FROM sources WHERE id = :id AND name_key = :key)"
            ),
            {"id": source_id, "key": new_key},
        ).scalar()
        if taken:
            bind.execute(
                sa.text("DELETE FROM source_aliases WHERE source_id = :id AND alias = :alias"),
                {"id": source_id, "alias": alias},
            )
        else:
            bind.execute(
                sa.text("UPDATE source_aliases SET alias_key = :key WHERE source_id = :id AND alias = :alias"),
                {"key": new_key, "id": source_id, "alias": alias},
            )
    reindexed = {source_id for source_id, _ in sources} | {source_id for source_id, _, _ in aliases}
    for source_id in sorted(reindexed, key=str):
        names = bind.execute(
            sa.text(
                "SELECT name FROM sources WHERE id = :id"
                " UNION ALL SELECT alias FROM source_aliases WHERE source_id = :id"
            ),
            {"id": source_id},
        ).scalars()
        tokens = sorted({token for name in names for token in name_tokens(name)})
        bind.execute(sa.text("DELETE FROM source_name_tokens WHERE source_id = :id"), {"id": source_id})
        for token in tokens:
            bind.execute(
                sa.text(
                    "INSERT INTO source_name_tokens (source_id, token) VALUES (:id, :token) ON CONFLICT DO NOTHING"
                ),
                {"id": source_id, "token": token},
            )
            for key in deletes(token):
                bind.execute(
                    sa.text(
                        "INSERT INTO token_deletes (delete_key, token) VALUES (:key, :token) ON CONFLICT DO NOTHING"
                    ),
                    {"key": key, "token": token},
                )
    claims = bind.execute(sa.text(f"SELECT id, text FROM claims WHERE text {NOT_ASCII}")).fetchall()
    for claim_id, text in claims:
        bind.execute(
            sa.text("UPDATE claims SET search_text = :search WHERE id = :id"),
            {"search": searchable(text), "id": claim_id},
        )


def downgrade() -> None:
    """Nothing to undo: the forms before this revision are the mistake it corrects."""
