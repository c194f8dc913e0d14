"""The schema changes only through alembic: up from empty, down to empty, and up again; and a migration
that reshapes stored data keeps every entry of the audit log verifiable."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from alembic.script import ScriptDirectory

from service import db, migrations
from service.app import create_app
from service.domain import claims
from service.model import ClaimIn
from service.settings import Settings
from tests.helpers import Server, bearer, create_claim, fresh_app, inline, issue_key, running, ryder_story


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
    "claim_revisions_refuse_change",
    "api_keys",
    "audit_log",
    "audit_log_refuse_change",
    "audit_pending",
    "audit_pending_refuse_update",
    "idempotency_keys",
}


def test_the_head_is_the_one_alembic_finds() -> None:
    assert migrations.head() == ScriptDirectory(str(migrations.SCRIPT_LOCATION)).get_current_head()


def test_the_head_follows_a_new_migration_and_two_heads_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(migrations.SCRIPT_LOCATION / "versions", tmp_path / "versions")
    monkeypatch.setattr(migrations, "SCRIPT_LOCATION", tmp_path)
    current = migrations.head()
    (tmp_path / "versions" / "9000_next.py").write_text(f'revision: str = "9000"\ndown_revision = "{current}"\n')
    migrations.head.cache_clear()
    try:
        assert migrations.head() == "9000"
        (tmp_path / "versions" / "9001_beside.py").write_text(
            f'revision = "9001"\ndown_revision: str | None = "{current}"\n'
        )
        migrations.head.cache_clear()
        with pytest.raises(RuntimeError, match="2 heads, not one: 9000, 9001"):
            migrations.head()
    finally:
        migrations.head.cache_clear()


def test_migrations_go_up_down_and_up_again(empty_database: str) -> None:
    assert asyncio.run(_relations(empty_database)) == set()
    migrations.upgrade(empty_database)
    assert asyncio.run(_relations(empty_database)) == CORE
    migrations.downgrade(empty_database)
    assert asyncio.run(_relations(empty_database)) == set()
    migrations.upgrade(empty_database)
    assert asyncio.run(_relations(empty_database)) == CORE


def test_a_log_written_before_0014_verifies_after_it_with_each_snapshot_stored_once(server: Server) -> None:
    """Claims created, edited (one with non-ASCII words), retracted, a source, and a claim whose entry is
    still pending: down to 0013 (every body stored whole, revisions as jsonb), then up again."""
    url = server.create_database()
    try:
        migrations.upgrade(url)
        served = asyncio.run(_write_history(url))
        migrations.downgrade(url, "0013")
        asyncio.run(_is_as_0013_stored_it(url))
        migrations.upgrade(url)
        after, verified, bodies = asyncio.run(_read_log(url))
        # The entry left pending sealed since, and the reading key's.
        assert verified["ok"] is True and verified["entries"] == len(served) + 2
        assert after[: len(served)] == served  # the same entries, with the same hashes
        claims_entries = sum(1 for entry in after if entry["entity_type"] == "claim")
        assert claims_entries == 5  # three creations, an edit, a retraction
        assert bodies["claim"] == (0, claims_entries)  # none keeps a body: each is rebuilt from its revision
        assert all(kept == total for kind, (kept, total) in bodies.items() if kind != "claim")
    finally:
        server.drop_database(url)


async def _write_history(url: str) -> list[dict[str, Any]]:
    """Writes of every kind through the app; the log as served; then one claim stored with no sealer about."""
    async with fresh_app(url) as app:
        secret = await issue_key(app.state.pool, "desk", "admin")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=bearer(secret)) as client:
            first = await create_claim(client, ryder_story("Austin initiated the call"))
            second = await create_claim(client, ryder_story("Остин инициировал звонок, — сказал Райдер"))
            edited = await client.patch(
                f"/claims/{second['id']}", json={"text": "Остин первым позвонил"}, headers={"If-Match": '"1"'}
            )
            assert edited.status_code == 200, edited.text
            retracted = await client.post(f"/claims/{first['id']}/retract", json={"reason": "misattributed"})
            assert retracted.status_code == 200, retracted.text
            await client.post("/sources", json=inline("Kyodo", "outlet"))
            served = (await client.get("/audit", params={"limit": 100})).json()["items"]
    conn = await db.connect(url)
    try:
        await claims.create(conn, msgspec.convert(ryder_story("Left pending"), ClaimIn), actor="desk")
        assert await conn.fetchval("SELECT count(*) FROM audit_pending") == 1
    finally:
        await conn.close()
    return served


async def _is_as_0013_stored_it(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        entries = await conn.fetch("SELECT body, prev_hash, hash FROM audit_log ORDER BY seq")
        for entry in entries:  # every body whole again, each the bytes its hash covers
            assert hashlib.sha256((entry["prev_hash"] or b"") + entry["body"]).digest() == entry["hash"]
        kinds = await conn.fetch(
            "SELECT atttypid::regtype::text FROM pg_attribute WHERE attrelid = 'claim_revisions'::regclass"
            " AND attname = 'changes'"
        )
        assert [k[0] for k in kinds] == ["jsonb"]
        assert await conn.fetchval("SELECT count(*) FROM audit_pending WHERE change IS NOT NULL") == 1
    finally:
        await conn.close()


async def _read_log(url: str) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, tuple[int, int]]]:
    app = create_app(Settings(database_url=url))
    async with running(app):
        secret = await issue_key(app.state.pool, "reader", "admin")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=bearer(secret)) as client:
            after = (await client.get("/audit", params={"limit": 100})).json()["items"]
            verified = (await client.get("/audit/verify")).json()
        async with app.state.pool.acquire() as conn:
            rows = await conn.fetch("SELECT entity_type, count(body), count(*) FROM audit_log GROUP BY 1")
    return after, verified, {r[0]: (r[1], r[2]) for r in rows}
