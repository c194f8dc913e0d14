"""A real PostgreSQL for the whole session, a fresh app per test, and empty tables before each.

With ``DATABASE_URL`` set, the tests create (and drop) a database of their own on that server;
without it, they start an embedded PostgreSQL (pgserver) in a temporary folder. With
``PROVENANCE_TEST_THROUGH=pgbouncer`` the tests reach that database through a PgBouncer of their own in
transaction mode (tests/poolers.py), and their apps and served processes run with ``PROVENANCE_POOLER=pgbouncer``.
Fixtures only: the functions tests share are in tests/helpers.py.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import nullcontext

import asyncpg
import httpx
import pytest
from litestar import Litestar

from service import migrations
from service.embedded import embedded_url
from tests.helpers import ADMIN_KEY_NAME, TEST_POOLER, Server, bearer, fresh_app, issue_key  # what the fixtures use
from tests.poolers import pgbouncer

if TEST_POOLER == "pgbouncer":  # what the commands run in this process (`provenance import`) connect with
    os.environ["PROVENANCE_POOLER"] = "pgbouncer"


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
    migrations.upgrade(url)  # straight to PostgreSQL, as an operator migrates (docs/scaling.md)
    with pgbouncer(url, pool_size=4) if TEST_POOLER == "pgbouncer" else nullcontext(url) as reached:
        yield reached
    server.drop_database(url)


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[Litestar]:
    async with fresh_app(database_url) as application:
        yield application


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
