"""Chains checked once per batch: ``check_chains(ids)`` for bulk imports, which the row triggers then leave be.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

The deferred constraint triggers of revision 0001 check a claim's chain once for every hop written
(and once more for the claim): at a million claims and four and a half million hops, that is most
of the work of a bulk import. ``check_chains(uuid[])`` checks the same rules for many claims in
one set-based pass and raises the same errors (SQLSTATE 23000 with the constraint names
``chain_not_empty``, ``chain_positions``, ``chain_upstream_last``, ``chain_upstream_source``).

A transaction that writes claims in bulk sets ``provenance.chain_check = 'batch'`` with
``SET LOCAL`` and calls ``check_chains`` on every claim it wrote before it commits; the row
triggers skip the rows it writes (their ``WHEN`` reads the setting as each row is written). Every
other transaction leaves the setting alone and is checked by the triggers as before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SKIP_WHEN_BATCH = "WHEN (current_setting('provenance.chain_check', true) IS DISTINCT FROM 'batch')"

UPGRADE = [
    """
    CREATE FUNCTION check_chains(targets uuid[]) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        broken record;
    BEGIN
        WITH chains AS (
            SELECT c.id,
                   count(h.position) AS n,
                   min(h.position) AS bottom,
                   max(h.position) AS top,
                   count(h.upstream_claim_id) AS upstream_hops,
                   max(h.position) FILTER (WHERE h.upstream_claim_id IS NOT NULL) AS upstream_position
              FROM claims c LEFT JOIN hops h ON h.claim_id = c.id
             WHERE c.id = ANY (targets)
             GROUP BY c.id
        )
        SELECT ch.id,
               CASE WHEN ch.n = 0 THEN 'chain_not_empty'
                    WHEN ch.bottom <> 0 OR ch.top <> ch.n - 1 THEN 'chain_positions'
                    WHEN ch.upstream_hops > 1 OR ch.upstream_position <> ch.top THEN 'chain_upstream_last'
                    ELSE 'chain_upstream_source' END AS rule
          INTO broken
          FROM chains ch
          LEFT JOIN hops last ON last.claim_id = ch.id AND last.position = ch.top AND ch.upstream_hops = 1
          LEFT JOIN hops first ON first.claim_id = last.upstream_claim_id AND first.position = 0
         WHERE ch.n = 0
            OR ch.bottom <> 0 OR ch.top <> ch.n - 1
            OR ch.upstream_hops > 1 OR ch.upstream_position <> ch.top
            OR (ch.upstream_hops = 1 AND first.source_id IS DISTINCT FROM last.source_id)
         LIMIT 1;
        IF broken IS NULL THEN
            RETURN;
        END IF;
        CASE broken.rule
            WHEN 'chain_not_empty' THEN
                RAISE EXCEPTION 'claim % has no hops', broken.id
                    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'chain_not_empty';
            WHEN 'chain_positions' THEN
                RAISE EXCEPTION 'claim % has hop positions that are not 0..n-1', broken.id
                    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'chain_positions';
            WHEN 'chain_upstream_last' THEN
                RAISE EXCEPTION 'claim %: only the last hop may link an upstream claim', broken.id
                    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'chain_upstream_last';
            ELSE
                RAISE EXCEPTION 'claim %: the upstream hop must name the first source of its upstream claim',
                    broken.id
                    USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'chain_upstream_source';
        END CASE;
    END
    $$
    """,
    "DROP TRIGGER hops_chain_check ON hops",
    "DROP TRIGGER claims_chain_check ON claims",
    f"""
    CREATE CONSTRAINT TRIGGER hops_chain_check AFTER INSERT OR UPDATE OR DELETE ON hops
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {SKIP_WHEN_BATCH} EXECUTE FUNCTION check_chain_of_hop()
    """,
    f"""
    CREATE CONSTRAINT TRIGGER claims_chain_check AFTER INSERT ON claims
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {SKIP_WHEN_BATCH} EXECUTE FUNCTION check_chain_of_claim()
    """,
]

DOWNGRADE = [
    "DROP TRIGGER hops_chain_check ON hops",
    "DROP TRIGGER claims_chain_check ON claims",
    """
    CREATE CONSTRAINT TRIGGER hops_chain_check AFTER INSERT OR UPDATE OR DELETE ON hops
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_chain_of_hop()
    """,
    """
    CREATE CONSTRAINT TRIGGER claims_chain_check AFTER INSERT ON claims
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_chain_of_claim()
    """,
    "DROP FUNCTION check_chains(uuid[])",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
