"""A claim's snapshot stored once: its revision keeps the exact bytes its audit entry hashed, and the
entry keeps no copy of them, only the number of that revision.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Every change of a claim was stored twice: as its revision (``claim_revisions.changes``, jsonb) and
inside its audit entry's body (the canonical JSON that the entry's hash covers). Now the revision
stores the change as ``json``, which PostgreSQL keeps byte for byte as written: the very bytes the
entry hashed. A claim's entry stores no body but ``revision``, the number of the revision holding its
change; the body is rebuilt from the entry's own fields and those bytes whenever it is read or
verified (``service.domain.audit``), and its hash still covers it all, so a changed byte of either
the revision or the entry, or a deleted row of either, breaks the chain as before. Revisions become
append-only as the log is, known by their claim and number (the surrogate id goes), and the log's two
unique indexes on hashes go: one entry per seq already keeps the chain from forking.

Existing data: each claim's entries are numbered in seq order (the k-th records revision k, as they
were written together), each revision takes the change bytes out of its entry's body, and the body
is dropped only where the entry rebuilt from its fields and those bytes is the stored body exactly
(any other keeps its body, and still verifies). Pending claim entries give their bytes to their
revisions and name them, as new ones do. The space of the dropped bodies is reused by later entries;
``VACUUM FULL audit_log`` gives it back to the file system at once.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An entry's body, canonical JSON with its keys sorted, is the text before its change, the change's
# bytes, and this text after them.
BEFORE_CHANGE = """
convert_to('{"action":' || to_json(a.action)::text || ',"actor":' || coalesce(to_json(a.actor)::text, 'null')
           || ',"at":"' || to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '","change":', 'UTF8')
"""
AFTER_CHANGE = """
convert_to(',"entity_id":"' || a.entity_id::text || '","entity_type":' || to_json(a.entity_type)::text
           || ',"seq":' || a.seq::text || '}', 'UTF8')
"""
# The change's bytes inside the stored body, between those two texts.
CHANGE_IN_BODY = f"""
substring(a.body FROM octet_length({BEFORE_CHANGE}) + 1
                 FOR octet_length(a.body) - octet_length({BEFORE_CHANGE}) - octet_length({AFTER_CHANGE}))
"""
# Whether the stored body is exactly the one rebuilt from the entry's fields and its change's bytes.
REBUILDS = f"""
substring(a.body FOR octet_length({BEFORE_CHANGE})) = {BEFORE_CHANGE}
AND substring(a.body FROM octet_length(a.body) - octet_length({AFTER_CHANGE}) + 1) = {AFTER_CHANGE}
"""

UPGRADE = [
    "ALTER TABLE claim_revisions DROP CONSTRAINT claim_revisions_changes_check",
    "ALTER TABLE claim_revisions ALTER COLUMN changes TYPE json USING changes::json",
    "ALTER TABLE audit_log ADD COLUMN revision integer",
    "ALTER TABLE audit_log ALTER COLUMN body DROP NOT NULL",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
    # The k-th entry of a claim records its revision k: a revision and its entry are written together.
    """
    UPDATE audit_log a SET revision = numbered.n
      FROM (SELECT seq, row_number() OVER (PARTITION BY entity_id ORDER BY seq) AS n
              FROM audit_log WHERE entity_type = 'claim') AS numbered
     WHERE a.seq = numbered.seq
    """,
    f"""
    UPDATE claim_revisions r SET changes = convert_from({CHANGE_IN_BODY}, 'UTF8')::json
      FROM audit_log a
     WHERE a.entity_type = 'claim' AND a.entity_id = r.claim_id AND a.revision = r.number AND {REBUILDS}
    """,
    # Entries whose body does not rebuild exactly (none was seen) keep it, and no revision number.
    f"""
    UPDATE audit_log a SET revision = NULL
     WHERE a.revision IS NOT NULL
       AND NOT ({REBUILDS}
                AND EXISTS (SELECT FROM claim_revisions r
                             WHERE r.claim_id = a.entity_id AND r.number = a.revision
                               AND convert_to(r.changes::text, 'UTF8') = {CHANGE_IN_BODY}))
    """,
    "UPDATE audit_log SET body = NULL WHERE revision IS NOT NULL",
    "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
    # Entries still pending: their revisions take the bytes they will be sealed with, and they name
    # their revisions in place of keeping those bytes.
    "ALTER TABLE audit_pending ADD COLUMN revision integer",
    "ALTER TABLE audit_pending ALTER COLUMN change DROP NOT NULL",
    """
    CREATE TEMPORARY TABLE pending_revisions ON COMMIT DROP AS
    SELECT p.id, p.entity_id, p.change,
           coalesce((SELECT count(*) FROM audit_log a WHERE a.entity_id = p.entity_id AND a.entity_type = 'claim'), 0)
           + row_number() OVER (PARTITION BY p.entity_id ORDER BY p.id) AS n
      FROM audit_pending p WHERE p.entity_type = 'claim'
    """,
    """
    UPDATE claim_revisions r SET changes = convert_from(p.change, 'UTF8')::json
      FROM pending_revisions p WHERE r.claim_id = p.entity_id AND r.number = p.n
    """,
    "ALTER TABLE audit_pending DISABLE TRIGGER audit_pending_no_update",
    """
    UPDATE audit_pending a SET revision = p.n, change = NULL
      FROM pending_revisions p, claim_revisions r
     WHERE a.id = p.id AND r.claim_id = p.entity_id AND r.number = p.n
       AND convert_to(r.changes::text, 'UTF8') = p.change
    """,
    "ALTER TABLE audit_pending ENABLE TRIGGER audit_pending_no_update",
    """
    ALTER TABLE claim_revisions ADD CONSTRAINT claim_revisions_changes_check CHECK (json_typeof(changes) = 'object')
    """,
    """
    ALTER TABLE audit_log ADD CONSTRAINT audit_log_body_check
        CHECK ((body IS NULL) = (revision IS NOT NULL) AND (revision IS NULL OR entity_type = 'claim'))
    """,
    """
    ALTER TABLE audit_pending ADD CONSTRAINT audit_pending_change_check
        CHECK ((change IS NULL) = (revision IS NOT NULL) AND (revision IS NULL OR entity_type = 'claim'))
    """,
    # A revision is known by its claim and number: the surrogate id and its index go.
    "ALTER TABLE claim_revisions DROP CONSTRAINT claim_revisions_pkey",
    "ALTER TABLE claim_revisions DROP COLUMN id",
    "ALTER TABLE claim_revisions DROP CONSTRAINT claim_revisions_unique",
    "ALTER TABLE claim_revisions ADD CONSTRAINT claim_revisions_pkey PRIMARY KEY (claim_id, number)",
    # One entry per seq (the primary key) already keeps the chain from forking; a hash covers everything
    # before it, so two equal hashes are a copy that verifying names. Their two unique indexes go.
    "ALTER TABLE audit_log DROP CONSTRAINT audit_log_prev_hash_key",
    "ALTER TABLE audit_log DROP CONSTRAINT audit_log_hash_key",
    """
    CREATE FUNCTION claim_revisions_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'revisions are append-only (the audit log holds their hashes), % is refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER claim_revisions_append_only BEFORE UPDATE OR DELETE ON claim_revisions
        FOR EACH ROW EXECUTE FUNCTION claim_revisions_refuse_change()
    """,
]

DOWNGRADE = [
    "DROP TRIGGER claim_revisions_append_only ON claim_revisions",
    "DROP FUNCTION claim_revisions_refuse_change()",
    "ALTER TABLE audit_log ADD CONSTRAINT audit_log_hash_key UNIQUE (hash)",
    "ALTER TABLE audit_log ADD CONSTRAINT audit_log_prev_hash_key UNIQUE (prev_hash)",
    "ALTER TABLE claim_revisions DROP CONSTRAINT claim_revisions_pkey",
    "ALTER TABLE claim_revisions ADD CONSTRAINT claim_revisions_unique UNIQUE (claim_id, number)",
    "ALTER TABLE claim_revisions ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid()",
    "ALTER TABLE claim_revisions ADD CONSTRAINT claim_revisions_pkey PRIMARY KEY (id)",
    "ALTER TABLE audit_pending DROP CONSTRAINT audit_pending_change_check",
    # A pending entry without its bytes takes them from its revision.
    """
    CREATE TEMPORARY TABLE pending_changes ON COMMIT DROP AS
    SELECT p.id, convert_to(r.changes::text, 'UTF8') AS change
      FROM audit_pending p JOIN claim_revisions r ON r.claim_id = p.entity_id AND r.number = p.revision
    """,
    "ALTER TABLE audit_pending DISABLE TRIGGER audit_pending_no_update",
    "UPDATE audit_pending p SET change = c.change FROM pending_changes c WHERE p.id = c.id",
    "ALTER TABLE audit_pending ENABLE TRIGGER audit_pending_no_update",
    "ALTER TABLE audit_pending ALTER COLUMN change SET NOT NULL",
    "ALTER TABLE audit_pending DROP COLUMN revision",
    "ALTER TABLE audit_log DROP CONSTRAINT audit_log_body_check",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
    f"""
    UPDATE audit_log a SET body = {BEFORE_CHANGE} || convert_to(r.changes::text, 'UTF8') || {AFTER_CHANGE}
      FROM claim_revisions r
     WHERE a.revision IS NOT NULL AND r.claim_id = a.entity_id AND r.number = a.revision
    """,
    "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
    "ALTER TABLE audit_log ALTER COLUMN body SET NOT NULL",
    "ALTER TABLE audit_log DROP COLUMN revision",
    "ALTER TABLE claim_revisions DROP CONSTRAINT claim_revisions_changes_check",
    "ALTER TABLE claim_revisions ALTER COLUMN changes TYPE jsonb USING changes::jsonb",
    """
    ALTER TABLE claim_revisions ADD CONSTRAINT claim_revisions_changes_check CHECK (jsonb_typeof(changes) = 'object')
    """,
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
