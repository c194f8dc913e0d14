"""A real PostgreSQL for the whole session, a fresh app per test, and empty tables before each.

With ``DATABASE_URL`` set, the tests create (and drop) a database of their own on that server;
without it, they start an embedded PostgreSQL (pgserver) in a temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from litestar import Litestar

from service import migrations
from service.app import create_app
from service.database import embedded_url
from service.domain import keys
from service.settings import Settings

ADMIN_KEY_NAME = "tests-admin"
READING_POSTS = {"/extract"}
"""POSTs that store nothing (reading an article's attributions): reads, declared and guarded as such, with
no Idempotency-Key (nothing to replay)."""
"""The key the ``client`` fixture sends: the actor of every write it makes."""

TABLES = ", ".join(
    [
        "claim_reviews", "claim_revisions", "claim_relations", "hops", "claims",
        "affiliations", "source_aliases", "source_name_tokens", "token_deletes", "sources", "api_keys", "audit_log",
        "audit_pending", "idempotency_keys",
    ]
)  # fmt: skip


async def empty_tables(conn: asyncpg.Connection) -> None:
    """Truncate every table; audit_log refuses TRUNCATE, so its triggers are off for this (superuser)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(f"TRUNCATE {TABLES}")


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


class Server:
    """The PostgreSQL server the tests use, able to make throwaway databases."""

    def __init__(self, url: str) -> None:
        self.url = url

    def create_database(self) -> str:
        name = f"provenance_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(self.url, f'CREATE DATABASE "{name}"'))
        return with_database(self.url, name)

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        asyncio.run(_admin(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    if url := os.environ.get("DATABASE_URL"):
        yield Server(url)
        return
    with tempfile.TemporaryDirectory(prefix="provenance-pg-") as data_dir:
        yield Server(embedded_url(data_dir))


@pytest.fixture(scope="session")
def database_url(server: Server) -> Iterator[str]:
    url = server.create_database()
    migrations.upgrade(url)
    yield url
    server.drop_database(url)


@asynccontextmanager
async def running(application: Litestar) -> AsyncIterator[Litestar]:
    """Run the app's lifespan in a task of its own: anyio wants it entered and left in one task,
    and pytest-asyncio sets a fixture up and tears it down in different ones."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # raises what made the start-up fail
    try:
        yield application
    finally:
        stop.set()
        await task


@asynccontextmanager
async def fresh_app(database_url: str, **settings: Any) -> AsyncIterator[Litestar]:
    """A running app on the test database emptied of earlier tests' rows: a pool of 1 to 4 and no
    rate limits (tests make many requests a minute; tests/test_limits.py checks the limits on apps
    of its own), unless ``settings`` say otherwise."""
    defaults: dict[str, Any] = {
        "pool_min_size": 1,
        "pool_max_size": 4,
        "read_rate_limit_per_minute": 0,
        "write_rate_limit_per_minute": 0,
    }
    application = create_app(Settings(database_url=database_url, **{**defaults, **settings}))
    async with running(application):
        async with application.state.pool.acquire() as conn:
            await empty_tables(conn)
        yield application


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[Litestar]:
    async with fresh_app(database_url) as application:
        yield application


async def issue_key(pool_or_conn: asyncpg.Pool | asyncpg.Connection, name: str, scope: str) -> str:
    """Make an API key straight through the domain and return its secret."""
    if isinstance(pool_or_conn, asyncpg.Pool):
        async with pool_or_conn.acquire() as conn:
            return await issue_key(conn, name, scope)
    _, secret = await keys.create(pool_or_conn, name, scope)
    return secret


def bearer(secret: str) -> dict[str, str]:
    """The ``Authorization`` header sending ``secret``."""
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def admin_key(app: Litestar) -> str:
    """The secret of an admin key named ``ADMIN_KEY_NAME``, made after the tables were emptied."""
    return await issue_key(app.state.pool, ADMIN_KEY_NAME, "admin")


@pytest.fixture
async def client(app: Litestar, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app that sends an admin key with every request."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=bearer(admin_key)) as http:
        yield http


@pytest.fixture
async def anonymous_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app that sends no key."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


@pytest.fixture
async def conn(app: Litestar) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the app's pool, for looking at what is stored."""
    async with app.state.pool.acquire() as connection:
        yield connection


def inline(name: str, kind: str = "person", **fields: Any) -> dict[str, Any]:
    """An inline source for a hop."""
    return {"name": name, "kind": kind, **fields}


def claim_body(text: str, *hops: dict[str, Any], kind: str = "paraphrase", **fields: Any) -> dict[str, Any]:
    """A ``POST /claims`` body."""
    return {"text": text, "kind": kind, "chain": list(hops), **fields}


def hop(source: dict[str, Any] | str | None, cue: str = "said", **fields: Any) -> dict[str, Any]:
    """A hop naming its source inline (a dict) or by id (a string)."""
    if isinstance(source, dict):
        fields["source"] = source
    elif isinstance(source, str):
        fields["source_id"] = source
    return {"cue": cue, **fields}


async def create_claim(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """Create a claim through the API and return it; fails the test on anything but 201."""
    response = await client.post("/claims", json=body)
    assert response.status_code == 201, response.text
    claim: dict[str, Any] = response.json()
    return claim


async def create_source(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """Create a source through the API and return it."""
    response = await client.post("/sources", json=body)
    assert response.status_code == 201, response.text
    source: dict[str, Any] = response.json()
    return source


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(*options: str, env: dict[str, str], ready_within: float = 120) -> Iterator[str]:
    """``provenance serve OPTIONS`` on a free port until it is ready; its base URL. Stopped on exit."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", *options, "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_within
    try:
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)  # polling a starting process; bounded by the deadline above
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout:
            process.stdout.close()
