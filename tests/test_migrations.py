"""The schema changes only through alembic: up from empty, down to empty, and up again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from service import migrations
from tests.helpers import Server


@pytest.fixture
def empty_database(server: Server) -> Iterator[str]:
    url = server.create_database()
    yield url
    server.drop_database(url)


async def _relations(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') AND c.relname <> 'alembic_version'"
        )
        functions = await conn.fetch(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
        )
    finally:
        await conn.close()
    return {r["relname"] for r in rows} | {f["proname"] for f in functions}


CORE = {
    "sources",
    "source_aliases",
    "affiliations",
    "claims",
    "hops",
    "source_documents",
    "claim_documents",
    "check_chain",
    "check_chain_of_hop",
    "check_chain_of_claim",
    "check_chains",
    "claim_relations",
    "claim_links",
    "source_name_tokens",
    "token_deletes",
    "claim_reviews",
    "claim_revisions",
    "api_keys",
    "audit_log",
    "audit_log_refuse_change",
    "audit_pending",
    "audit_pending_refuse_update",
    "idempotency_keys",
}


def test_migrations_go_up_down_and_up_again(empty_database: str) -> None:
    assert asyncio.run(_relations(empty_database)) == set()
    migrations.upgrade(empty_database)
    assert asyncio.run(_relations(empty_database)) == CORE
    migrations.downgrade(empty_database)
    assert asyncio.run(_relations(empty_database)) == set()
    migrations.upgrade(empty_database)
    assert asyncio.run(_relations(empty_database)) == CORE
