"""The audit log: every write as an entry of an append-only hash chain.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

An entry's ``body`` holds the canonical JSON bytes of the entry exactly as they were hashed (never
re-derived from ``jsonb``, which would reorder keys), and ``hash`` is SHA-256 of the previous
entry's hash followed by those bytes, so each entry commits to the whole log before it. ``seq`` is
assigned by the appender under a lock rather than by a sequence, so it stays contiguous: a rolled
back write leaves no gap. The other columns repeat fields of the body for filtering. ``hash`` and
``prev_hash`` are unique, so the chain cannot fork even if the appender's lock were bypassed.

The database refuses UPDATE, DELETE and TRUNCATE on the table: only a superuser disabling its
triggers (or ``session_replication_role = replica``) can change an entry, and ``GET /audit/verify``
then names the first entry that no longer holds.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    """
    CREATE TABLE audit_log (
        seq          bigint PRIMARY KEY,
        actor        text,
        at           timestamptz NOT NULL,
        action       text NOT NULL,
        entity_type  text NOT NULL,
        entity_id    uuid NOT NULL,
        body         bytea NOT NULL,
        prev_hash    bytea CONSTRAINT audit_log_prev_hash_key UNIQUE,
        hash         bytea NOT NULL CONSTRAINT audit_log_hash_key UNIQUE,
        CONSTRAINT audit_log_seq_check CHECK (seq >= 1 AND (seq = 1) = (prev_hash IS NULL))
    )
    """,
    "CREATE INDEX audit_log_entity_idx ON audit_log (entity_id, seq)",
    """
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit log is append-only, % is refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
    """,
]

DOWNGRADE = ["DROP TABLE audit_log", "DROP FUNCTION audit_log_refuse_change()"]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
