"""Backups that restore (docs/operations.md): the point-in-time restore drill on private clusters, and a
logical export taken under a write load that imports into an empty database whole.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import msgspec
import pytest

from service import db, export, migrations
from service.app import create_app
from service.repositories import export as export_repo
from service.repositories.audit import LOCK_APPENDERS
from service.settings import Settings
from tests.clusters import Postmaster, archiving_to, fetchval, own_folder, until
from tests.helpers import (
    Load,
    Server,
    bearer,
    create_claim,
    fresh_app,
    issue_key,
    make_key,
    running,
    ryder_story,
    service_env,
    serving,
)

# --- The point-in-time restore drill ---------------------------------------------------------------


async def sealed(url: str, claim_id: str) -> None:
    """Until the sealer has chained the claim's audit entry."""
    await until(url, "SELECT EXISTS (SELECT 1 FROM audit_log WHERE entity_id = $1::uuid)", claim_id)


async def archive_current_wal(url: str) -> None:
    """Close the WAL segment being written and wait until the archiver has copied it."""
    segment = await fetchval(url, "SELECT pg_walfile_name(pg_switch_wal())")
    await until(url, "SELECT last_archived_wal >= $1 FROM pg_stat_archiver", segment)


@pytest.fixture
def primary(tmp_path: Path) -> Iterator[Postmaster]:
    """A private cluster archiving its WAL into ``tmp_path/archive``, running."""
    cluster = Postmaster.initdb(tmp_path, "primary")
    cluster.configure(**archiving_to(own_folder(tmp_path / "archive")))
    cluster.start()
    yield cluster
    cluster.stop_after_kill()


@pytest.fixture
def restores() -> Iterator[list[Postmaster]]:
    """The clusters a test restores, stopped after it."""
    clusters: list[Postmaster] = []
    yield clusters
    for cluster in clusters:
        cluster.stop_after_kill()


@asynccontextmanager
async def sealing_held(url: str, hold: bool) -> AsyncIterator[None]:
    """With ``hold``, keep the sealers' lock (service/domain/audit.py) so no entry is sealed until the end."""
    if not hold:
        yield
        return
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(LOCK_APPENDERS)
            yield
    finally:
        await conn.close()


@pytest.mark.parametrize("sealed_at_the_moment", [True, False], ids=["entry-sealed", "entry-pending"])
async def test_a_point_in_time_restore_has_the_write_before_the_moment_and_not_the_one_after(
    primary: Postmaster, restores: list[Postmaster], tmp_path: Path, sealed_at_the_moment: bool
) -> None:
    url = primary.url()
    await asyncio.to_thread(migrations.upgrade, url)
    key = await make_key(url)
    base_backup = await asyncio.to_thread(primary.base_backup, tmp_path / "base")  # last night's
    with serving(env=service_env(url), ready_within=60) as base:
        async with httpx.AsyncClient(base_url=base, headers=bearer(key), timeout=10) as client:
            async with sealing_held(url, hold=not sealed_at_the_moment):
                first = await create_claim(client, ryder_story("Austin initiated the call"))
                if sealed_at_the_moment:
                    await sealed(url, first["id"])
                # The moment to restore to, off the server's clock: what recovery compares commit times with.
                moment: datetime = await fetchval(url, "SELECT clock_timestamp()")
            second = await create_claim(client, ryder_story("Belousov initiated the call"))
            await sealed(url, second["id"])
    await archive_current_wal(url)
    primary.stop()  # the primary is lost; its base backup and archive remain

    restored = Postmaster.restored(
        base_backup,
        tmp_path,
        "restored",
        restore_command=f"cp {tmp_path / 'archive'}/%f %p",
        recovery_target_time=moment.isoformat(),
        recovery_target_action="promote",
    )
    restores.append(restored)
    await asyncio.to_thread(restored.start)
    await until(restored.url(), "SELECT NOT pg_is_in_recovery()")  # promoted once the target is reached
    pending = "SELECT count(*) FROM audit_pending WHERE entity_id = $1::uuid"
    # Restored to a moment before its seal, the claim's entry is still pending: the service seals it as it starts.
    assert await fetchval(restored.url(), pending, first["id"]) == (0 if sealed_at_the_moment else 1)

    with serving(env=service_env(restored.url()), ready_within=60) as base:
        async with httpx.AsyncClient(base_url=base, headers=bearer(key), timeout=10) as client:
            verification = (await client.get("/audit/verify")).json()
            before = await client.get(f"/claims/{first['id']}")
            after = await client.get(f"/claims/{second['id']}")
            entries = (await client.get("/audit", params={"entity": first["id"]})).json()["items"]
    assert verification["ok"] is True, verification
    assert before.status_code == 200, before.text
    assert before.json()["text"] == "Austin initiated the call"
    assert after.status_code == 404, after.text
    assert [e["action"] for e in entries] == ["create"]
    assert "recovery stopping before commit" in restored.log.read_text()


# --- A logical export under a write load -----------------------------------------------------------


@pytest.fixture
def empty_database(server: Server) -> Iterator[str]:
    """A migrated database of this test's own, to import into."""
    url = server.create_database()
    migrations.upgrade(url)
    yield url
    server.drop_database(url)


async def ids_in_snapshot(database_url: str, snapshot: str) -> set[str]:
    """The claims a transaction sharing the exported ``snapshot`` sees: those committed before it was taken."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            # SET TRANSACTION takes no parameters; the id is pg_export_snapshot()'s, of hex digits and dashes.
            await conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return {str(record["id"]) for record in await conn.fetch("SELECT id FROM claims")}
    finally:
        await conn.close()


async def export_under(load: Load, database_url: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Export every claim of ``database_url`` to ``path`` with ``service.export`` while ``load`` writes, holding
    the export back after its snapshot until 10 more claims are committed; the ids its snapshot holds."""
    claims_for_export = export_repo.claims_for_export
    in_snapshot: set[str] = set()

    async def after_more_writes(conn: asyncpg.Connection, prefetch: int = 200) -> AsyncIterator[asyncpg.Record]:
        # The export transaction's first statement takes the snapshot its every read uses.
        in_snapshot.update(await ids_in_snapshot(database_url, await conn.fetchval("SELECT pg_export_snapshot()")))
        await load.wait_for_created(10, within=30)
        async for record in claims_for_export(conn, prefetch):
            yield record

    monkeypatch.setattr(export_repo, "claims_for_export", after_more_writes)
    conn = await db.connect(database_url)
    try:
        with path.open("wb") as out:
            await export.export_claims(conn, out)
    finally:
        await conn.close()
    return in_snapshot


async def stored_ids(database_url: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return {str(record["id"]) for record in await conn.fetch("SELECT id FROM claims")}
    finally:
        await conn.close()


async def test_an_export_under_write_load_is_one_snapshot_that_imports_whole_into_an_empty_database(
    database_url: str, empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported_to = tmp_path / "claims.ndjson"
    load = Load()
    async with fresh_app(database_url, pool_max_size=8) as app:
        headers = bearer(await issue_key(app.state.pool, "writer", "write"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
            writers = [asyncio.create_task(load.writer(client, n)) for n in range(4)]
            try:
                await load.wait_for_created(20, within=30)
                answered_before = set(load.created)
                in_snapshot = await export_under(load, database_url, exported_to, monkeypatch)
            finally:
                load.stop.set()
                await asyncio.gather(*writers)
    assert load.failures == []
    exported = [msgspec.json.decode(line)["id"] for line in exported_to.read_bytes().splitlines()]
    assert set(exported) == in_snapshot  # what was committed before the snapshot, nothing after
    assert len(exported) == len(in_snapshot)
    assert answered_before <= in_snapshot
    assert set(load.created) - in_snapshot, "no claim was committed while the export ran"
    assert await stored_ids(database_url) == set(load.created)

    imported = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "service.cli", "import", str(exported_to)],
        env=service_env(empty_database),
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 0, imported.stderr
    assert f"imported {len(exported)} claim(s), 0 line(s) failed" in imported.stdout
    assert await stored_ids(empty_database) == set(exported)  # each claim under its own id
    application = create_app(Settings(database_url=empty_database, pool_min_size=1, pool_max_size=2))
    async with running(application):
        headers = bearer(await issue_key(application.state.pool, "auditor", "admin"))
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
            verification = (await client.get("/audit/verify")).json()
    assert verification["ok"] is True, verification
    assert verification["entries"] == len(exported) + 1, verification  # a claim's entry each, and the key's
