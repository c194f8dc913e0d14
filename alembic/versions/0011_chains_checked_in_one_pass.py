"""``check_chains`` in one pass over the hops: the upstream hop found while counting, not looked up after.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

``check_chains(ids)`` (revision 0009) counted each claim's hops, then looked up its last hop and the
first hop of its upstream claim, one index probe each. An initial load now checks every chain it
wrote at once, at its end: at a million claims the probes alone took 15 s. The upstream hop (there
may be only one, and it must be the last) is now taken while counting, and the upstream claim's
first hop joined once, so that a check of many claims can hash its way through the hops. The rules
and the errors are those of revision 0009.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _check_chains(chains: str, broken: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION check_chains(targets uuid[]) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        broken record;
    BEGIN
        WITH chains AS (
            SELECT c.id,
                   count(h.position) AS n,
                   min(h.position) AS bottom,
                   max(h.position) AS top,
                   count(h.upstream_claim_id) AS upstream_hops,
                   max(h.position) FILTER (WHERE h.upstream_claim_id IS NOT NULL) AS upstream_position{chains}
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
          {broken}
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
    """


ONE_PASS = _check_chains(
    # The upstream hop's claim and source, taken while counting (flagged anyway unless it is the only one).
    """,
                   (array_agg(h.upstream_claim_id) FILTER (WHERE h.upstream_claim_id IS NOT NULL))[1]
                       AS upstream_claim_id,
                   (array_agg(h.source_id) FILTER (WHERE h.upstream_claim_id IS NOT NULL))[1] AS upstream_source""",
    """LEFT JOIN hops first ON first.claim_id = ch.upstream_claim_id AND first.position = 0
         WHERE ch.n = 0
            OR ch.bottom <> 0 OR ch.top <> ch.n - 1
            OR ch.upstream_hops > 1 OR ch.upstream_position <> ch.top
            OR (ch.upstream_hops = 1 AND first.source_id IS DISTINCT FROM ch.upstream_source)""",
)

PROBING = _check_chains(
    "",
    """LEFT JOIN hops last ON last.claim_id = ch.id AND last.position = ch.top AND ch.upstream_hops = 1
          LEFT JOIN hops first ON first.claim_id = last.upstream_claim_id AND first.position = 0
         WHERE ch.n = 0
            OR ch.bottom <> 0 OR ch.top <> ch.n - 1
            OR ch.upstream_hops > 1 OR ch.upstream_position <> ch.top
            OR (ch.upstream_hops = 1 AND first.source_id IS DISTINCT FROM last.source_id)""",
)


def upgrade() -> None:
    op.execute(ONE_PASS)


def downgrade() -> None:
    op.execute(PROBING)
