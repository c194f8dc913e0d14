"""API keys: who may write, and the name each write records as its actor.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

A key has a unique ``name`` (the actor its writes record), a ``scope`` (``read``, ``write`` or
``admin``) and the SHA-256 of its secret: the secret itself is shown once, when the key is made,
and never stored. A revoked key keeps its row (``revoked_at``) so that the name stays taken and the
actors of past writes keep meaning one key. Requests find their key by ``secret_hash`` through its
unique index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    """
    CREATE TABLE api_keys (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name         text NOT NULL CONSTRAINT api_keys_name_key UNIQUE
                     CONSTRAINT api_keys_name_check CHECK (btrim(name) <> '' AND length(name) <= 100),
        scope        text NOT NULL CONSTRAINT api_keys_scope_check CHECK (scope IN ('read', 'write', 'admin')),
        secret_hash  text NOT NULL CONSTRAINT api_keys_secret_hash_key UNIQUE,
        created_at   timestamptz NOT NULL DEFAULT now(),
        revoked_at   timestamptz
    )
    """,
]

DOWNGRADE = ["DROP TABLE api_keys"]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
