"""When PostgreSQL goes away the service answers 503 with Retry-After, never hangs or 500s, and
serves again once it is back, without a restart.

The test runs its own embedded PostgreSQL so that it can stop and start it.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pgserver
import pytest

from service import migrations
from service.app import create_app
from service.settings import Settings
from tests.helpers import assert_problem, bearer, claim_body, create_claim, hop, inline, issue_key, running

DEADLINE = 5.0  # seconds within which the service must answer, either way


class PrivatePostgres:
    """An embedded PostgreSQL this test may stop and start."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.server: Any = None

    def start(self) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.server = pgserver.get_server(self.data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
        return str(self.server.get_uri())

    def stop(self) -> None:
        self.server.cleanup()


@pytest.fixture
def postgres() -> Iterator[tuple[PrivatePostgres, str]]:
    with tempfile.TemporaryDirectory(prefix="provenance-faults-") as data_dir:
        private = PrivatePostgres(data_dir)
        url = private.start()
        migrations.upgrade(url)
        yield private, url
        private.stop()


@pytest.fixture
async def faulty_client(postgres: tuple[PrivatePostgres, str]) -> AsyncIterator[httpx.AsyncClient]:
    _, url = postgres
    app = create_app(Settings(database_url=url, pool_min_size=1, pool_max_size=4, acquire_timeout=2))
    async with running(app):
        headers = bearer(await issue_key(app.state.pool, "faults", "write"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", timeout=DEADLINE, headers=headers
        ) as client:
            yield client


async def poll(client: httpx.AsyncClient, path: str, status: int) -> httpx.Response:
    """Ask ``path`` until it answers ``status``, for at most the deadline."""
    deadline = time.monotonic() + DEADLINE
    while True:
        response = await client.get(path)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.1)


async def test_a_database_outage_is_503_and_recovery_needs_no_restart(
    faulty_client: httpx.AsyncClient, postgres: tuple[PrivatePostgres, str]
) -> None:
    private, _ = postgres
    before = await create_claim(faulty_client, claim_body("stored before the outage", hop(inline("Reuters", "outlet"))))

    private.stop()
    for method, path, body in [
        ("GET", "/ready", None),
        ("GET", "/claims", None),
        ("GET", f"/claims/{before['id']}/trace", None),
        ("POST", "/claims", claim_body("during the outage", hop(inline("Hina", "outlet")))),
    ]:
        started = time.monotonic()
        response = await faulty_client.request(method, path, json=body)
        assert time.monotonic() - started < DEADLINE, path
        assert_problem(response, 503)
        assert response.headers["retry-after"] == "1"
    assert (await faulty_client.get("/health")).status_code == 200

    private.start()
    assert (await poll(faulty_client, "/ready", 200)).status_code == 200
    listed = (await poll(faulty_client, "/claims", 200)).json()["items"]
    assert [c["text"] for c in listed] == ["stored before the outage"]
