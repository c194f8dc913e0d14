"""Idempotency keys: the first answer to each ``Idempotency-Key`` a POST came with, to replay to its retries.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

A row is written in the transaction of the write it answers, so a key is stored if and only if its
write committed. ``api_key`` is the name of the API key that sent it (names are never reused, even
after a revocation): the same ``Idempotency-Key`` from two API keys names two writes. ``fingerprint``
is the SHA-256 of the request's method, path and body bytes; ``status``, ``headers``, ``media_type``
and ``body`` are the answer as it was sent. Rows are kept at least 24 hours; older ones are ignored
and purged a batch at a time by later writes, on ``idempotency_keys_created_at_idx``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    """
    CREATE TABLE idempotency_keys (
        api_key      text NOT NULL CONSTRAINT idempotency_keys_api_key_fkey REFERENCES api_keys (name),
        key          text NOT NULL CONSTRAINT idempotency_keys_key_check CHECK (length(key) BETWEEN 1 AND 255),
        fingerprint  bytea NOT NULL CONSTRAINT idempotency_keys_fingerprint_check CHECK (length(fingerprint) = 32),
        status       smallint NOT NULL CONSTRAINT idempotency_keys_status_check CHECK (status BETWEEN 200 AND 299),
        headers      jsonb NOT NULL,
        media_type   text NOT NULL,
        body         bytea NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT idempotency_keys_pkey PRIMARY KEY (api_key, key)
    )
    """,
    "CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at)",
]

DOWNGRADE = ["DROP TABLE idempotency_keys"]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
