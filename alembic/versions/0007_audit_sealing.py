"""Audit entries are written with their write and sealed into the hash chain just after.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

Until now every write took the one appenders' lock and held it through its commit, so writes
committed one at a time: at a few milliseconds a WAL flush, a few hundred writes a second at most,
however many clients. Now a write inserts its entry (actor, time, action, entity, the change as its
canonical JSON bytes) into ``audit_pending`` in its own transaction, with no lock, so concurrent
writes share WAL flushes again. A sealer then takes the appenders' lock and moves pending entries, in
the order they were written, into ``audit_log``, giving each its seq, its canonical body and its hash,
and deletes them from ``audit_pending`` in the same transaction. Nothing of an acknowledged write is
ever outside the database: an entry waits in ``audit_pending`` (committed with its write) until it is
sealed, normally within milliseconds.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    """
    CREATE TABLE audit_pending (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        actor        text,
        at           timestamptz NOT NULL DEFAULT clock_timestamp(),
        action       text NOT NULL,
        entity_type  text NOT NULL,
        entity_id    uuid NOT NULL,
        change       bytea NOT NULL
    )
    """,
    """
    CREATE FUNCTION audit_pending_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'a pending audit entry is never changed, only sealed'
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
        FOR EACH ROW EXECUTE FUNCTION audit_pending_refuse_update()
    """,
]

DOWNGRADE = ["DROP TABLE audit_pending", "DROP FUNCTION audit_pending_refuse_update()"]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
