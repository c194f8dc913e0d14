"""GET /metrics: requests by method, route template and status with latency histograms; the pool, the
audit entries waiting to be sealed, imports, rate-limit rejections and database errors; for an admin
key unless a setting opens it; summed over the workers of `provenance serve --workers 2`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time

import httpx
import pytest
from litestar import Litestar
from prometheus_client import generate_latest

from service.api.metrics import BUCKETS, RequestCounting
from tests.helpers import bearer, claim_body, fresh_app, hop, inline, issue_key, served_process


def value(text: str, metric: str, **labels: str) -> float:
    """The sample of ``metric`` with these labels (all of them present) in a Prometheus text page; 0 if none."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(metric):
            continue
        name, _, rest = line.partition("{") if "{" in line.split(" ")[0] else (line.split(" ")[0], "", "")
        if name != metric:
            continue
        if all(f'{k}="{v}"' in rest for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
async def admin(app: Litestar) -> httpx.AsyncClient:
    secret = await issue_key(app.state.pool, "ops", "admin")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=bearer(secret))


async def test_metrics_need_an_admin_key_unless_opened(database_url: str) -> None:
    # One app at a time: a second app empties the tables it shares with the first.
    async with fresh_app(database_url) as app:
        reader = await issue_key(app.state.pool, "reader", "read")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            assert (await client.get("/metrics")).status_code == 401
            assert (await client.get("/metrics", headers=bearer(reader))).status_code == 403
            assert "/metrics" not in (await client.get("/schema/openapi.json")).json()["paths"]
    async with (
        fresh_app(database_url, metrics_public=True) as opened,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=opened), base_url="http://test") as client,
    ):
        answer = await client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")


async def test_switched_off_nothing_is_counted_and_there_is_no_route(database_url: str) -> None:
    route = {"method": "GET", "path": "/sources", "status_code": "200"}
    async with fresh_app(database_url, metrics_public=True) as app:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        before = value((await client.get("/metrics")).text, "litestar_requests_total", **route)
    async with fresh_app(database_url, metrics=False) as app:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        assert (await client.get("/sources")).status_code == 200
        assert (await client.get("/metrics")).status_code == 404
    async with fresh_app(database_url, metrics_public=True) as app:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        after = value((await client.get("/metrics")).text, "litestar_requests_total", **route)
    assert after == before  # the counters are the process's: the app without metrics added nothing


async def test_requests_are_counted_by_route_template_never_by_their_ids(admin: httpx.AsyncClient) -> None:
    route = {"method": "GET", "path": "/claims/{claim_id}", "status_code": "200"}
    async with admin:
        created = (await admin.post("/claims", json=claim_body("Counted.", hop(inline("Ann"))))).json()
        before = (await admin.get("/metrics")).text  # the counters are the process's, since it started
        for _ in range(3):
            await admin.get(f"/claims/{created['id']}")
        page = (await admin.get("/metrics")).text
    for metric, labels in [
        ("litestar_requests_total", route),
        ("litestar_request_duration_seconds_count", route),
        ("litestar_request_duration_seconds_bucket", {**route, "le": "+Inf"}),
    ]:
        assert value(page, metric, **labels) - value(before, metric, **labels) == 3
    assert created["id"] not in page
    # Each answered: none in progress (labelled 200, as Litestar's own middleware labels it), and a 404
    # counted under its own status, not as an error (5xx only).
    in_progress = [line for line in page.splitlines() if line.startswith("litestar_requests_in_progress{")]
    assert any('path="/claims/{claim_id}"' in line and line.endswith(" 0.0") for line in in_progress), in_progress
    assert 'path="/metrics"' not in page


async def test_a_missing_claim_is_counted_by_its_status(admin: httpx.AsyncClient) -> None:
    route = {"method": "GET", "path": "/claims/{claim_id}", "status_code": "404"}
    async with admin:
        before = value((await admin.get("/metrics")).text, "litestar_requests_total", **route)
        assert (await admin.get("/claims/00000000-0000-4000-8000-000000000000")).status_code == 404
        page = (await admin.get("/metrics")).text
    assert value(page, "litestar_requests_total", **route) - before == 1
    assert value(page, "litestar_requests_error_total", **route) == 0


async def test_the_pool_and_the_audit_log_are_watched(admin: httpx.AsyncClient) -> None:
    async with admin:
        await admin.post("/claims", json=claim_body("Watched.", hop(inline("Ann"))))
        await asyncio.sleep(1.5)  # the gauges are set once a second
        page = (await admin.get("/metrics")).text
    assert value(page, "provenance_pool_connections", state="open") >= 1
    assert 'provenance_pool_connections{state="idle"}' in page
    assert "provenance_pool_waiting_acquisitions 0.0" in page
    assert re.search(r"^provenance_audit_pending_entries \d", page, re.M)
    assert re.search(r"^provenance_audit_pending_oldest_seconds \d", page, re.M)


async def test_imports_rejections_and_database_errors_are_counted(database_url: str) -> None:
    async with fresh_app(database_url, write_rate_limit_per_minute=2) as app:
        secret = await issue_key(app.state.pool, "ops", "admin")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=bearer(secret)
        ) as client:
            before = (await client.get("/metrics")).text
            lines = b"\n".join(json.dumps(claim_body(f"Imported {n}.", hop(inline("Ann")))).encode() for n in range(3))
            imported = await client.post(
                "/claims/import", content=lines, headers={"Content-Type": "application/x-ndjson"}
            )
            assert imported.status_code == 200
            # A NUL character is a value PostgreSQL cannot store: a database error of kind "value".
            refused = await client.post("/claims", json=claim_body("Nul \u0000 here.", hop(inline("Ann"))))
            assert refused.status_code == 422
            limited = await client.post("/claims", json=claim_body("One too many.", hop(inline("Ann"))))
            assert limited.status_code == 429
            after = (await client.get("/metrics")).text
    assert value(after, "provenance_import_lines_total") - value(before, "provenance_import_lines_total") == 3
    assert value(after, "provenance_imports_running") == 0
    assert (
        value(after, "provenance_rate_limited_requests_total") - value(before, "provenance_rate_limited_requests_total")
        == 1
    )
    assert (
        value(after, "provenance_database_errors_total", kind="value")
        - value(before, "provenance_database_errors_total", kind="value")
        == 1
    )


def test_two_workers_answer_for_both(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "PROVENANCE_METRICS_PUBLIC": "true"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with served_process("--migrate", "--workers", "2", env=env) as (_, base), httpx.Client(base_url=base) as client:
        for _ in range(20):  # new connections: the kernel spreads them over both workers
            with httpx.Client(base_url=base) as fresh:
                assert fresh.get("/sources?limit=1").status_code == 200
        time.sleep(1.5)  # each worker hands its counts to the shared files once a second (RequestCounting)
        pages = [client.get("/metrics").text for _ in range(4)]
    counted = [value(page, "litestar_requests_total", path="/sources", status_code="200") for page in pages]
    assert counted == [20] * 4  # whichever worker answers, it counts the other's requests too


def test_counts_flushed_together_are_the_counts_observed_one_by_one() -> None:
    # Requests add to plain numbers; a flush hands them to the histogram as observing each would have.
    counting = RequestCounting()
    route = {"method": "GET", "path": "/flushed/{n}", "status_code": "200"}
    scope = {"method": "GET", "path_template": "/flushed/{n}", "state": {}}
    took = [0.0004, 0.005, 0.0051, 0.3, 2.5, 2.5, 99.0]
    for seconds in took:
        counting.started(scope)  # type: ignore[arg-type]
        counting.answered(scope, 200, seconds)  # type: ignore[arg-type]
    assert "/flushed/{n}" not in generate_latest().decode()  # nothing handed over yet
    counting.flush()
    counting.flush()  # a second flush adds nothing
    page = generate_latest().decode()
    for bound in BUCKETS:
        le = "+Inf" if bound == float("inf") else repr(float(bound))
        assert value(page, "litestar_request_duration_seconds_bucket", **route, le=le) == sum(s <= bound for s in took)
    assert value(page, "litestar_request_duration_seconds_sum", **route) == pytest.approx(sum(took))
    assert value(page, "litestar_requests_total", **route) == len(took)
    assert value(page, "litestar_requests_in_progress", method="GET", path="/flushed/{n}") == 0
