"""Faults a running service meets: PostgreSQL killed under a write load, SIGTERM with requests in
flight, a migration under load, and a PostgreSQL that does not make acknowledged writes durable.

The crash and the durability tests run a private PostgreSQL of their own (initdb'd once for the
module), which they start with the settings they need and kill with SIGKILL.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from service import migrations
from service.app import create_app
from service.errors import connection_lost
from service.settings import Settings
from tests.clusters import Postmaster
from tests.helpers import (
    Load,
    Server,
    bearer,
    chain_of,
    claim_body,
    issue_key,
    make_key,
    running,
    served_process,
    service_env,
)


@pytest.fixture(scope="module")
def postmaster() -> Iterator[Postmaster]:
    with tempfile.TemporaryDirectory(prefix="provenance-faults-") as root:
        private = Postmaster.initdb(Path(root))
        yield private
        private.stop_after_kill()


@pytest.fixture
def running_postmaster(postmaster: Postmaster) -> Iterator[Postmaster]:
    """The private PostgreSQL with its default (durable) settings, stopped after the test."""
    postmaster.start()
    yield postmaster
    postmaster.stop_after_kill()


# --- PostgreSQL killed under a write load ---------------------------------------------------------


def without(table: str, alias: str, condition: str) -> str:
    """How many rows of ``table`` have no row matching ``condition``."""
    return f"SELECT count(*) FROM {table} {alias} WHERE NOT EXISTS ({condition})"


HALF_WRITTEN = {
    "claims without hops": without("claims", "c", "SELECT 1 FROM hops h WHERE h.claim_id = c.id"),
    "hops without their claim": without("hops", "h", "SELECT 1 FROM claims c WHERE c.id = h.claim_id"),
    "hops without their source": without("hops", "h", "SELECT 1 FROM sources s WHERE s.id = h.source_id"),
    # In this load sources are only made inline, by the claim that names them.
    "sources no hop names": without("sources", "s", "SELECT 1 FROM hops h WHERE h.source_id = s.id"),
    "claims without their first revision": without(
        "claims", "c", "SELECT 1 FROM claim_revisions r WHERE r.claim_id = c.id AND r.number = 1"
    ),
    "claims without their audit entry": without(
        "claims", "c", "SELECT 1 FROM audit_log a WHERE a.entity_id = c.id AND a.action = 'create'"
    ),
    "audit entries of no claim": without("audit_log", "a", "SELECT 1 FROM claims c WHERE c.id = a.entity_id")
    + " AND a.entity_type = 'claim'",
}


async def test_claims_answered_201_survive_a_killed_postgresql_and_nothing_is_half_written(
    running_postmaster: Postmaster, tmp_path: Path
) -> None:
    url = running_postmaster.url()
    await asyncio.to_thread(migrations.upgrade, url)
    key = await make_key(url)
    env = service_env(url, PROVENANCE_ACQUIRE_TIMEOUT="2", PROVENANCE_COMMAND_TIMEOUT="5")
    load = Load()
    with served_process(env=env, log=tmp_path / "serve.log", ready_within=60) as (process, base):
        async with httpx.AsyncClient(base_url=base, headers=bearer(key), timeout=10) as client:
            writers = [asyncio.create_task(load.writer(client, n)) for n in range(6)]
            try:
                await load.wait_for_created(30, within=20)
                running_postmaster.kill()
                await asyncio.sleep(1)  # the load meets the outage
                await asyncio.to_thread(running_postmaster.start)
                await load.wait_for_created(30, within=20)  # served again, without a restart
            finally:
                load.stop.set()
                await asyncio.gather(*writers)
            assert load.statuses[503] > 0, "the load never met the outage"
            verification = (await client.get("/audit/verify")).json()
        assert process.poll() is None

    assert load.failures == []
    assert set(load.statuses) <= {201, 503}
    assert verification["ok"] is True, verification
    conn = await asyncpg.connect(url)
    try:
        stored = {
            str(r["id"]): r["hops"]
            for r in await conn.fetch(
                "SELECT c.id, (SELECT count(*) FROM hops h WHERE h.claim_id = c.id) AS hops"
                "  FROM claims c WHERE c.id = ANY($1::uuid[])",
                list(load.created),
            )
        }
        assert stored == load.created  # every 201 is stored with the chain it was posted with
        half_written = {name: await conn.fetchval(query) for name, query in HALF_WRITTEN.items()}
        assert half_written == dict.fromkeys(HALF_WRITTEN, 0)
        entries, first, last = await conn.fetchrow("SELECT count(*), min(seq), max(seq) FROM audit_log")
        assert (first, last) == (1, entries)  # contiguous
        assert verification["entries"] == entries
    finally:
        await conn.close()


# --- SIGTERM with requests in flight --------------------------------------------------------------


async def waiting_on_locks(database_url: str, count: int, within: float = 20) -> None:
    """Until ``count`` sessions of the database wait on a lock (asked afresh each time: within one
    transaction, pg_stat_activity stays the snapshot its first read took)."""
    watcher = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + within
        while True:
            waiting = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting >= count:
                return
            assert time.monotonic() < deadline, f"only {waiting} requests reached the database"
            await asyncio.sleep(0.05)
    finally:
        await watcher.close()


async def test_sigterm_finishes_the_requests_in_flight_then_exits_0(database_url: str, tmp_path: Path) -> None:
    key = await make_key(database_url)
    log = tmp_path / "serve.log"
    env = service_env(database_url, PROVENANCE_POOL_MAX_SIZE="12")
    with served_process(env=env, log=log, ready_within=60) as (process, base):
        async with httpx.AsyncClient(base_url=base, headers=bearer(key), timeout=30) as client:
            first = await client.post("/claims", json=claim_body("drained under load", *chain_of(0, 2)))
            assert first.status_code == 201, first.text
            claim_id = first.json()["id"]
            requests: list[tuple[str, str, dict[str, Any]]] = [
                ("POST", "/claims", {"json": claim_body(f"in flight {n}", *chain_of(n, n))}) for n in range(5)
            ]
            requests += [("GET", f"/claims/{claim_id}", {})] * 3
            requests += [("GET", "/trace", {"params": {"statement": "drained under load"}})] * 2
            blocker = await asyncpg.connect(database_url)
            try:
                # Every request below needs the claims table: they wait, in flight, until the lock goes.
                locked = blocker.transaction()
                await locked.start()
                await blocker.execute("LOCK TABLE claims IN ACCESS EXCLUSIVE MODE")
                in_flight = [asyncio.create_task(client.request(m, path, **options)) for m, path, options in requests]
                await waiting_on_locks(database_url, len(in_flight))
                process.send_signal(signal.SIGTERM)
                await asyncio.sleep(1)
                assert process.poll() is None, "the server exited with requests in flight"
                with pytest.raises(httpx.ConnectError):
                    await client.get("/health")  # it takes no new connection
                await locked.rollback()
            finally:
                await blocker.close()
            answers = await asyncio.gather(*in_flight, return_exceptions=True)
        exit_code = await asyncio.to_thread(process.wait, Settings().shutdown_timeout + 5)

    broken = [repr(a) for a in answers if isinstance(a, BaseException)]
    assert broken == [], log.read_text()
    responses = [a for a in answers if isinstance(a, httpx.Response)]
    assert [r.status_code for r in responses] == [201] * 5 + [200] * 5, [r.text for r in responses]
    assert all(r.json() for r in responses)  # complete bodies
    assert {r.json()["text"] for r in responses[:5]} == {f"in flight {n}" for n in range(5)}
    assert responses[-1].json()["items"][0]["trace"]["claim"]["id"] == claim_id
    assert exit_code == 0, log.read_text()


# --- A migration under load -----------------------------------------------------------------------


@pytest.fixture
def own_database(server: Server) -> Iterator[str]:
    """A migrated database of this test's own: its migration changes a view the others read."""
    url = server.create_database()
    migrations.upgrade(url)
    yield url
    server.drop_database(url)


@pytest.fixture
async def loaded_client(own_database: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=own_database, pool_max_size=8, read_rate_limit_per_minute=0, write_rate_limit_per_minute=0
    )
    app = create_app(settings)
    async with running(app):
        headers = bearer(await issue_key(app.state.pool, "migrations", "write"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
            yield client


async def reader(client: httpx.AsyncClient, load: Load, claim_id: str) -> None:
    """Read claims every way the hot statements do, until stopped."""
    paths = [
        ("/claims", None),
        (f"/claims/{claim_id}", None),
        (f"/claims/{claim_id}/trace", None),
        ("/trace", {"statement": "writer 0 claim 0"}),
    ]
    for path, params in itertools.cycle(paths):
        if load.stop.is_set():
            return
        response = await client.get(path, params=params)
        load.statuses[response.status_code] += 1
        if response.status_code != 200:
            load.failures.append(f"GET {path}: {response.status_code} {response.text}")


# A migration in the shape of 0004: a new column of claims, and the documents view showing it.
ADD_COLUMN = "ALTER TABLE claims ADD COLUMN fault_note text"
WIDEN_VIEW = (
    "CREATE OR REPLACE VIEW claim_documents AS SELECT d.*, c.fault_note FROM ({}) d JOIN claims c ON c.id = d.id"
)
NARROW_VIEW = ["DROP VIEW claim_documents", "CREATE VIEW claim_documents AS {}"]
DROP_COLUMN = "ALTER TABLE claims DROP COLUMN fault_note"


async def migrate(conn: asyncpg.Connection, *statements: str) -> None:
    async with conn.transaction():
        for statement in statements:
            await conn.execute(statement)


async def test_a_migration_under_load_costs_at_most_one_error_and_no_500(
    loaded_client: httpx.AsyncClient, own_database: str
) -> None:
    first = await loaded_client.post("/claims", json=claim_body("writer 0 claim 0", *chain_of(0, 0)))
    assert first.status_code == 201, first.text
    load = Load()
    tasks = [asyncio.create_task(load.writer(loaded_client, n)) for n in range(4)]
    tasks += [asyncio.create_task(reader(loaded_client, load, first.json()["id"])) for _ in range(2)]
    conn = await asyncpg.connect(own_database)
    try:
        view = (await conn.fetchval("SELECT pg_get_viewdef('claim_documents'::regclass)")).rstrip().rstrip(";")
        await load.wait_for_created(10, within=20)
        upgrade = [(ADD_COLUMN,), (WIDEN_VIEW.format(view),)]
        downgrade = [[s.format(view) for s in NARROW_VIEW], (DROP_COLUMN,)]
        for step in [*upgrade, *downgrade] * 2:  # up, down, and again: four changes of the view's columns
            await migrate(conn, *step)
            await load.wait_for_answers(20, within=20)  # the load reads and writes through each change
    finally:
        load.stop.set()
        await asyncio.gather(*tasks)
        await conn.close()

    errors = {status: count for status, count in load.statuses.items() if status >= 400}
    assert 500 not in errors, load.failures
    assert sum(errors.values()) <= 1, (errors, load.failures)
    assert load.statuses[201] >= 10


# --- PostgreSQL that does not make acknowledged writes durable ------------------------------------


async def start_up_warnings(database_url: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the app logs as warnings on the ``provenance`` logger while it starts on ``database_url``."""
    app = create_app(Settings(database_url=database_url, pool_min_size=1, pool_max_size=2))
    # Litestar's logging configuration replaces the root logger's handlers, caplog's among them.
    logger = logging.getLogger("provenance")
    logger.addHandler(caplog.handler)
    caplog.clear()
    try:
        async with running(app):
            pass
    finally:
        logger.removeHandler(caplog.handler)
    records = {id(r): r for r in caplog.records if r.name == "provenance" and r.levelno == logging.WARNING}
    return [r.getMessage() for r in records.values()]


def settings_named(warnings: list[str]) -> list[str]:
    """Which durability settings the warnings say are off."""
    return [name for name in ("fsync", "synchronous_commit") if any(f"{name}=off" in w for w in warnings)]


@pytest.mark.parametrize(
    ("settings", "off"),
    [
        ((), []),
        (("fsync=off",), ["fsync"]),
        (("fsync=off", "synchronous_commit=off"), ["fsync", "synchronous_commit"]),
    ],
)
async def test_start_up_warns_of_each_durability_setting_that_is_off(
    postmaster: Postmaster, settings: tuple[str, ...], off: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    postmaster.start(*settings)
    try:
        warnings = await start_up_warnings(postmaster.url(), caplog)
    finally:
        postmaster.stop()
    assert settings_named(warnings) == off
    assert len(warnings) == len(off)
    assert all("can lose writes" in w for w in warnings), warnings


async def test_synchronous_commit_off_for_the_database_alone_is_warned_too(
    running_postmaster: Postmaster, caplog: pytest.LogCaptureFixture
) -> None:
    lax = f"lax_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(running_postmaster.url())
    try:
        await conn.execute(f"CREATE DATABASE {lax}")
        await conn.execute(f"ALTER DATABASE {lax} SET synchronous_commit = off")
    finally:
        await conn.close()
    assert settings_named(await start_up_warnings(running_postmaster.url(lax), caplog)) == ["synchronous_commit"]


# --- What counts as a dropped connection ----------------------------------------------------------


async def test_asyncpg_errors_over_a_dropped_connection_are_told_from_misuse(database_url: str) -> None:
    admin = await asyncpg.connect(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.InterfaceError) as ended:
            async with conn.transaction():
                await admin.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
                await conn.fetchval("SELECT 1")
        with pytest.raises(asyncpg.InterfaceError) as closed:
            await conn.fetchval("SELECT 1")
        busy = await asyncpg.connect(database_url)
        try:
            sleeping = asyncio.create_task(busy.execute("SELECT pg_sleep(0.2)"))
            await asyncio.sleep(0.05)
            with pytest.raises(asyncpg.InterfaceError) as misused:
                await busy.fetchval("SELECT 1")
            await sleeping
        finally:
            await busy.close()
    finally:
        await admin.close()
        await conn.close()
    assert connection_lost(ended.value)  # the end of a transaction whose statement the drop cut off
    assert connection_lost(closed.value)  # a statement on the dropped connection
    assert not connection_lost(misused.value)  # two statements at once on one connection: a bug, a 500
