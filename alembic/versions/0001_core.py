"""The provenance core: sources, aliases, affiliations, claims and their hops.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

What must always hold is enforced here, not only in Python: kinds and positions by checks, keys
and references by constraints, and the shape of every chain (positions 0..n-1, at least one hop,
an upstream link only on the last hop, naming the first source of the upstream claim) by a
deferred constraint trigger that runs at commit, once the whole claim is written.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = [
    """
    CREATE TABLE sources (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        kind         text NOT NULL
                     CONSTRAINT sources_kind_check
                     CHECK (kind IN ('person', 'organization', 'outlet', 'anonymous')),
        name         text NOT NULL CONSTRAINT sources_name_check CHECK (btrim(name) <> ''),
        name_key     text NOT NULL CONSTRAINT sources_name_key_check CHECK (name_key <> ''),
        description  text,
        identifiers  jsonb NOT NULL DEFAULT '{}'
                     CONSTRAINT sources_identifiers_check CHECK (jsonb_typeof(identifiers) = 'object'),
        created_at   timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX sources_name_key_idx ON sources (name_key)",
    """
    CREATE UNIQUE INDEX sources_wikidata_key ON sources ((identifiers ->> 'wikidata'))
        WHERE identifiers ? 'wikidata'
    """,
    """
    CREATE TABLE source_aliases (
        source_id  uuid NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
        alias      text NOT NULL CONSTRAINT source_aliases_alias_check CHECK (btrim(alias) <> ''),
        alias_key  text NOT NULL CONSTRAINT source_aliases_alias_key_check CHECK (alias_key <> ''),
        CONSTRAINT source_aliases_pkey PRIMARY KEY (source_id, alias_key)
    )
    """,
    "CREATE INDEX source_aliases_alias_key_idx ON source_aliases (alias_key)",
    """
    CREATE TABLE affiliations (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        source_id        uuid NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
        organization_id  uuid NOT NULL REFERENCES sources (id),
        role             text,
        since            date,
        until            date,
        CONSTRAINT affiliations_not_self_check CHECK (source_id <> organization_id),
        CONSTRAINT affiliations_period_check CHECK (since IS NULL OR until IS NULL OR since <= until),
        CONSTRAINT affiliations_unique UNIQUE NULLS NOT DISTINCT (source_id, organization_id, role, since)
    )
    """,
    "CREATE INDEX affiliations_organization_idx ON affiliations (organization_id)",
    """
    CREATE TABLE claims (
        id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq               bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        text              text NOT NULL CONSTRAINT claims_text_check CHECK (btrim(text) <> ''),
        kind              text NOT NULL CONSTRAINT claims_kind_check CHECK (kind IN ('quote', 'paraphrase')),
        language          text NOT NULL
                          CONSTRAINT claims_language_check CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$'),
        url               text,
        title             text,
        author            text,
        outlet            text,
        published_at      timestamptz,
        stated_at         timestamptz,
        origin_source_id  uuid NOT NULL REFERENCES sources (id),
        relay_source_ids  uuid[] NOT NULL DEFAULT '{}',
        search_text       text NOT NULL,
        search_vector     tsvector GENERATED ALWAYS AS (to_tsvector('english', search_text)) STORED,
        created_at        timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX claims_origin_idx ON claims (origin_source_id, seq)",
    "CREATE INDEX claims_relays_idx ON claims USING gin (relay_source_ids)",
    "CREATE INDEX claims_search_idx ON claims USING gin (search_vector)",
    "CREATE INDEX claims_published_at_idx ON claims (published_at, seq)",
    """
    CREATE TABLE hops (
        claim_id           uuid NOT NULL REFERENCES claims (id),
        position           smallint NOT NULL
                           CONSTRAINT hops_position_check CHECK (position BETWEEN 0 AND 63),
        source_id          uuid NOT NULL REFERENCES sources (id),
        cue                text NOT NULL CONSTRAINT hops_cue_check CHECK (btrim(cue) <> ''),
        role               text,
        upstream_claim_id  uuid REFERENCES claims (id),
        CONSTRAINT hops_pkey PRIMARY KEY (claim_id, position),
        CONSTRAINT hops_upstream_not_self_check CHECK (upstream_claim_id <> claim_id)
    )
    """,
    "CREATE INDEX hops_source_idx ON hops (source_id)",
    "CREATE INDEX hops_upstream_idx ON hops (upstream_claim_id) WHERE upstream_claim_id IS NOT NULL",
    """
    CREATE FUNCTION check_chain(target uuid) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        n integer;
        top integer;
        bottom integer;
        upstream_hops integer;
        last_upstream uuid;
        last_source uuid;
        upstream_first uuid;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM claims WHERE id = target) THEN
            RETURN;
        END IF;
        SELECT count(*), max(position), min(position), count(upstream_claim_id)
          INTO n, top, bottom, upstream_hops
          FROM hops WHERE claim_id = target;
        IF n = 0 THEN
            RAISE EXCEPTION 'claim % has no hops', target
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'chain_not_empty';
        END IF;
        IF bottom <> 0 OR top <> n - 1 THEN
            RAISE EXCEPTION 'claim % has hop positions that are not 0..%', target, n - 1
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'chain_positions';
        END IF;
        IF upstream_hops = 0 THEN
            RETURN;
        END IF;
        SELECT upstream_claim_id, source_id INTO last_upstream, last_source
          FROM hops WHERE claim_id = target AND position = top;
        IF upstream_hops > 1 OR last_upstream IS NULL THEN
            RAISE EXCEPTION 'claim %: only the last hop may link an upstream claim', target
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'chain_upstream_last';
        END IF;
        SELECT source_id INTO upstream_first FROM hops WHERE claim_id = last_upstream AND position = 0;
        IF upstream_first IS DISTINCT FROM last_source THEN
            RAISE EXCEPTION 'claim %: the upstream hop must name the first source of claim %',
                target, last_upstream
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'chain_upstream_source';
        END IF;
    END
    $$
    """,
    """
    CREATE FUNCTION check_chain_of_hop() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM check_chain(OLD.claim_id);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM check_chain(NEW.claim_id);
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION check_chain_of_claim() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM check_chain(NEW.id);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER hops_chain_check AFTER INSERT OR UPDATE OR DELETE ON hops
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_chain_of_hop()
    """,
    """
    CREATE CONSTRAINT TRIGGER claims_chain_check AFTER INSERT ON claims
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_chain_of_claim()
    """,
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
    """
    CREATE VIEW claim_documents AS
    SELECT c.id, c.seq, c.text, c.kind, c.language, c.url, c.title, c.author, c.outlet,
           c.published_at, c.stated_at, c.created_at,
           json_build_object('id', o.id, 'name', o.name, 'kind', o.kind) AS origin,
           (SELECT json_agg(json_build_object(
                        'position', h.position, 'cue', h.cue, 'role', h.role,
                        'upstream_claim_id', h.upstream_claim_id,
                        'source', json_build_object('id', s.id, 'name', s.name, 'kind', s.kind))
                    ORDER BY h.position)
              FROM hops h JOIN sources s ON s.id = h.source_id
             WHERE h.claim_id = c.id) AS chain
      FROM claims c JOIN sources o ON o.id = c.origin_source_id
    """,
]

DOWNGRADE = [
    "DROP VIEW claim_documents",
    "DROP VIEW source_documents",
    "DROP TABLE hops",
    "DROP TABLE claims",
    "DROP FUNCTION check_chain_of_claim()",
    "DROP FUNCTION check_chain_of_hop()",
    "DROP FUNCTION check_chain(uuid)",
    "DROP TABLE affiliations",
    "DROP TABLE source_aliases",
    "DROP TABLE sources",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
