"""Rate limits counted in Redis (PROVENANCE_REDIS_URL): one budget across served processes and across the
workers of one; Redis down lets requests through uncounted with a warning and a metric, never a 5xx; a URL
the client cannot use stops start-up in one line; its password is shown nowhere. Each test starts a
redis-server of its own."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.helpers import assert_problem, free_port, fresh_app, redis_server, served_process, serving

LIMIT = 4
PASSWORD = "s3cret-Redis-word"
WARNING = "rate limits: Redis failed"


def served_env(database_url: str, redis_url: str, **variables: str) -> dict[str, str]:
    """A served process on the test database allowing ``LIMIT`` reads a minute, counted at ``redis_url``."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "PROVENANCE_REDIS_URL": redis_url,
        "PROVENANCE_RATE_LIMIT_PER_MINUTE": str(LIMIT),
        "PROVENANCE_METRICS_PUBLIC": "true",
        **variables,
    }


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as (_, url):
        yield url


def read(base: str) -> httpx.Response:
    """One read on a connection of its own (so that the kernel spreads them over a server's workers)."""
    with httpx.Client(base_url=base, timeout=10) as client:
        return client.get("/sources", params={"limit": 1})


def assert_refused(response: httpx.Response) -> None:
    assert_problem(response, 429)
    assert 0 < int(response.headers["retry-after"]) <= 60
    assert response.headers["ratelimit-remaining"] == "0"


def test_two_served_processes_share_one_budget(database_url: str, redis_url: str) -> None:
    env = served_env(database_url, redis_url)
    with serving(env=env) as first, serving(env=env) as second:
        answers = [read(base) for base in [first, second] * LIMIT]
    assert [a.status_code for a in answers[:LIMIT]] == [200] * LIMIT
    assert [a.headers["ratelimit-remaining"] for a in answers[:LIMIT]] == [str(n) for n in range(LIMIT - 1, -1, -1)]
    for refused in answers[LIMIT:]:  # whichever process answers
        assert_refused(refused)


def test_the_workers_of_one_server_share_one_budget(database_url: str, redis_url: str) -> None:
    env = served_env(database_url, redis_url)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with serving("--workers", "2", env=env) as base:
        statuses = [read(base).status_code for _ in range(5 * LIMIT)]
    assert statuses == [200] * LIMIT + [429] * (4 * LIMIT)  # not twice the limit, one per worker


def store_errors() -> float:
    return REGISTRY.get_sample_value("provenance_rate_limit_store_errors_total") or 0.0


async def test_redis_unreachable_lets_requests_through_with_one_warning_and_a_metric(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = store_errors()
    closed_port = f"redis://127.0.0.1:{free_port()}/0"
    async with fresh_app(database_url, redis_url=closed_port, read_rate_limit_per_minute=LIMIT) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            with caplog.at_level(logging.WARNING, logger="service.api.shared_limits"):
                answers = [await client.get("/sources") for _ in range(3 * LIMIT)]
    assert [a.status_code for a in answers] == [200] * (3 * LIMIT)
    assert not any("ratelimit-remaining" in a.headers for a in answers)  # uncounted, so no budget to tell
    assert store_errors() >= before + 1
    warnings = [r.getMessage() for r in caplog.records if WARNING in r.getMessage()]
    assert len(warnings) == 1, warnings  # at most one a minute, not one a request


async def test_a_redis_that_does_not_answer_costs_one_timeout_not_one_a_request(database_url: str) -> None:
    with redis_server() as (redis, url):
        async with fresh_app(database_url, redis_url=url, read_rate_limit_per_minute=LIMIT) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                assert (await client.get("/sources")).headers["ratelimit-remaining"] == str(LIMIT - 1)
                redis.send_signal(signal.SIGSTOP)  # it holds its connections but answers nothing
                before, started = store_errors(), time.monotonic()
                first = await client.get("/sources")
                waited = time.monotonic() - started
                rest = [await client.get("/sources") for _ in range(2 * LIMIT)]
    assert [a.status_code for a in [first, *rest]] == [200] * (2 * LIMIT + 1)
    assert waited < 2  # one short timeout, no retries with backoff
    assert 1 <= store_errors() - before <= 2  # the requests after it did not wait for Redis again


async def test_counting_resumes_once_redis_is_back(database_url: str) -> None:
    port = free_port()
    async with fresh_app(
        database_url, redis_url=f"redis://127.0.0.1:{port}/0", read_rate_limit_per_minute=LIMIT
    ) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            with redis_server(port=port) as (redis, _):
                assert (await client.get("/sources")).headers["ratelimit-remaining"] == str(LIMIT - 1)
                redis.kill()
                redis.wait(timeout=10)
                assert "ratelimit-remaining" not in (await client.get("/sources")).headers
            with redis_server(port=port):  # a new, empty Redis: the window opens again
                deadline = time.monotonic() + 10
                while "ratelimit-remaining" not in (answer := await client.get("/sources")).headers:
                    assert answer.status_code == 200
                    assert time.monotonic() < deadline, "counting did not resume"
                    await asyncio.sleep(0.1)  # polling past the pause after a failure; bounded above
                assert answer.headers["ratelimit-remaining"] == str(LIMIT - 1)


def metric(base: str, name: str) -> float:
    with httpx.Client(base_url=base) as client:
        page = client.get("/metrics").text
    samples = [line.split()[-1] for line in page.splitlines() if line.startswith(name + " ")]
    return float(samples[0]) if samples else 0.0


def test_redis_killed_under_a_served_process_fails_open(database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with redis_server() as (redis, url), served_process(env=served_env(database_url, url), log=log) as (_, base):
        assert [read(base).status_code for _ in range(LIMIT)] == [200] * LIMIT
        assert_refused(read(base))
        redis.kill()
        redis.wait(timeout=10)
        answers = [read(base) for _ in range(2 * LIMIT)]
        assert [a.status_code for a in answers] == [200] * (2 * LIMIT)
        assert metric(base, "provenance_rate_limit_store_errors_total") >= 1
    assert WARNING in log.read_text()


def provenance(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            f"http://desk:{PASSWORD}@127.0.0.1:6379/0",
            "PROVENANCE_REDIS_URL='http://desk:****@127.0.0.1:6379/0': use a redis://, rediss:// or unix:// URL",
        ),
        (
            f"redis://:{PASSWORD}@127.0.0.1:port/0",
            "PROVENANCE_REDIS_URL='redis://:****@127.0.0.1:port/0': Port could not be cast to integer value as 'port'",
        ),
    ],
)
def test_a_redis_url_the_client_cannot_use_stops_start_up_in_one_line(url: str, message: str) -> None:
    run = provenance("serve", "--port", str(free_port()), env={**os.environ, "PROVENANCE_REDIS_URL": url})
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [f"provenance: {message}"]
    assert PASSWORD not in run.stdout + run.stderr


def test_the_redis_password_is_used_but_never_shown(database_url: str, tmp_path: Path) -> None:
    with redis_server("--requirepass", PASSWORD) as (_, url):
        with_password = url.replace("redis://", f"redis://:{PASSWORD}@")
        config = provenance("config", env=served_env(database_url, with_password))
        assert config.returncode == 0, config.stderr
        shown = {line.split()[0]: line.split()[1:] for line in config.stdout.splitlines()}
        assert shown["PROVENANCE_REDIS_URL"] == [url.replace("redis://", "redis://:****@"), "environment"]
        log = tmp_path / "serve.log"
        with served_process(env=served_env(database_url, with_password), log=log) as (_, base):
            assert [read(base).status_code for _ in range(LIMIT)] == [200] * LIMIT
            assert_refused(read(base))  # counted: the password got it in
        wrong = tmp_path / "wrong.log"
        wrong_password = url.replace("redis://", f"redis://:{PASSWORD}-not@")
        with served_process(env=served_env(database_url, wrong_password), log=wrong) as (_, base):
            assert read(base).status_code == 200
            assert metric(base, "provenance_rate_limit_store_errors_total") >= 1
    assert WARNING in wrong.read_text()
    for text in (config.stdout + config.stderr, log.read_text(), wrong.read_text()):
        assert PASSWORD not in text
