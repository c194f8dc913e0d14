"""Abuse limits: requests a minute per key (else per address), reads apart from writes, the same whether
counted in the process's memory or in Redis; body size."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from litestar import Litestar

from service.app import create_app
from service.settings import Settings
from tests.helpers import assert_problem, bearer, claim_body, hop, inline, issue_key, redis_server, running

READS, WRITES = 3, 2


@pytest.fixture(params=["memory", "redis"])
def counted_in(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Where the windows are counted: the ``redis_url`` of a Redis of the test's own, or ``None`` (memory)."""
    if request.param == "memory":
        yield None
        return
    with redis_server() as (_, url):
        yield url


@pytest.fixture
async def limited_app(database_url: str, app: Litestar, counted_in: str | None) -> AsyncIterator[Litestar]:
    """An app allowing 3 reads and 2 writes a minute, bodies up to 2000 bytes (tables emptied by ``app``)."""
    settings = Settings(
        database_url=database_url,
        redis_url=counted_in,
        pool_min_size=1,
        pool_max_size=2,
        read_rate_limit_per_minute=READS,
        write_rate_limit_per_minute=WRITES,
        max_body_bytes=2000,
    )
    async with running(create_app(settings)) as application:
        yield application


@pytest.fixture
async def limited(limited_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=limited_app), base_url="http://test") as http:
        yield http


async def test_reads_count_down_then_429_with_retry_after(limited: httpx.AsyncClient) -> None:
    for remaining in range(READS - 1, -1, -1):
        response = await limited.get("/claims")
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == str(READS)
        assert response.headers["ratelimit-remaining"] == str(remaining)
        assert 0 < int(response.headers["ratelimit-reset"]) <= 60
    refused = await limited.get("/claims")
    assert_problem(refused, 429)
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"


async def test_a_refused_request_keeps_its_id_and_its_headers(limited: httpx.AsyncClient) -> None:
    for _ in range(READS):
        await limited.get("/claims")
    refused = await limited.get("/claims", headers={"X-Request-Id": "refused-1"})
    problem = assert_problem(refused, 429)
    assert refused.headers["x-request-id"] == "refused-1"
    assert problem["request_id"] == "refused-1"
    assert refused.headers["ratelimit-limit"] == str(READS)
    assert refused.headers["ratelimit-policy"] == f"{READS}; w=60"
    # Each header once: the refusal's own, not added again on the way out.
    assert len(refused.headers.get_list("ratelimit-remaining")) == 1


async def test_a_path_that_does_not_exist_spends_the_budget(limited: httpx.AsyncClient) -> None:
    missing = await limited.get("/no-such-path")
    assert_problem(missing, 404)
    assert missing.headers["ratelimit-remaining"] == str(READS - 1)
    assert missing.headers["x-request-id"]
    assert (await limited.get("/claims")).headers["ratelimit-remaining"] == str(READS - 2)


async def test_one_budget_covers_every_read_route(limited: httpx.AsyncClient) -> None:
    assert (await limited.get("/claims")).headers["ratelimit-remaining"] == str(READS - 1)
    assert (await limited.get("/sources")).headers["ratelimit-remaining"] == str(READS - 2)
    assert (await limited.get("/trace", params={"statement": "the call"})).headers["ratelimit-remaining"] == "0"
    assert (await limited.get("/sources")).status_code == 429


async def test_health_ready_and_docs_are_not_counted(limited: httpx.AsyncClient) -> None:
    for _ in range(READS + 2):
        assert (await limited.get("/health")).status_code == 200
        assert (await limited.get("/ready")).status_code == 200
    assert (await limited.get("/claims")).headers["ratelimit-remaining"] == str(READS - 1)


async def test_each_key_has_its_own_budget_and_so_has_an_address(
    limited: httpx.AsyncClient, limited_app: Litestar
) -> None:
    first = bearer(await issue_key(limited_app.state.pool, "first", "read"))
    second = bearer(await issue_key(limited_app.state.pool, "second", "read"))
    for _ in range(READS):
        assert (await limited.get("/sources", headers=first)).status_code == 200
    assert (await limited.get("/sources", headers=first)).status_code == 429
    assert (await limited.get("/sources", headers=second)).status_code == 200
    assert (await limited.get("/sources")).status_code == 200


async def test_writes_have_a_budget_of_their_own(limited: httpx.AsyncClient, limited_app: Litestar) -> None:
    writer = bearer(await issue_key(limited_app.state.pool, "writer", "write"))
    for _ in range(READS):
        await limited.get("/claims", headers=writer)
    assert (await limited.get("/claims", headers=writer)).status_code == 429
    for i in range(WRITES):
        response = await limited.post(
            "/claims", json=claim_body(f"claim {i}", hop(inline("Hina", "outlet"))), headers=writer
        )
        assert response.status_code == 201
        assert response.headers["ratelimit-limit"] == str(WRITES)
    refused = await limited.post(
        "/claims", json=claim_body("one too many", hop(inline("Hina", "outlet"))), headers=writer
    )
    assert refused.status_code == 429
    assert "retry-after" in refused.headers


async def test_a_body_over_the_limit_is_413_and_stores_nothing(
    limited: httpx.AsyncClient, limited_app: Litestar
) -> None:
    writer = bearer(await issue_key(limited_app.state.pool, "writer", "write"))
    body = claim_body("x" * 3000, hop(inline("Hina", "outlet")))
    response = await limited.post("/claims", json=body, headers=writer)
    assert_problem(response, 413)
    async with limited_app.state.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM claims") == 0
