"""Every request followed through the logs: an id (taken from X-Request-Id or traceparent, else made),
answered in X-Request-Id, carried by every problem body, and on one log line a request (the route's
template, never its ids; the key's name, never its secret); JSON lines when asked."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from service.api.requests import JsonLines, LineFormatter, Lines, TextLines, access_log, request_id_of
from tests.helpers import assert_problem, bearer, claim_body, free_port, hop, inline, issue_key, wait_until_ready

MADE = re.compile(r"[0-9a-f]{32}")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_every_answer_has_an_id(anonymous_client: httpx.AsyncClient) -> None:
    first = await anonymous_client.get("/health")
    second = await anonymous_client.get("/health")
    assert MADE.fullmatch(first.headers["x-request-id"]) and MADE.fullmatch(second.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_made_ids_are_unique_in_a_process_and_across_forked_ones() -> None:
    # Made from a random half drawn once a process and a count: a forked worker draws its own half.
    made = [request_id_of([]) for _ in range(1000)]
    assert len(set(made)) == 1000 and all(MADE.fullmatch(i) for i in made)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        os.write(write, request_id_of([]).encode())
        os._exit(0)
    os.waitpid(child, 0)
    forked = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert MADE.fullmatch(forked) and forked[:16] != made[0][:16]
    assert request_id_of([])[:16] == made[0][:16]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Request-Id": "desk-report.42_a"}, "desk-report.42_a"),
        ({"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}, TRACE_ID),
        ({"X-Request-Id": "bad id\nwith a newline", "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}, TRACE_ID),
    ],
)
async def test_a_callers_id_is_kept_when_it_is_sane(
    anonymous_client: httpx.AsyncClient, headers: dict[str, str], expected: str
) -> None:
    assert (await anonymous_client.get("/health", headers=headers)).headers["x-request-id"] == expected


async def test_an_insane_id_is_replaced(anonymous_client: httpx.AsyncClient) -> None:
    answer = await anonymous_client.get("/health", headers={"X-Request-Id": "x" * 500})
    assert MADE.fullmatch(answer.headers["x-request-id"])
    answer = await anonymous_client.get("/health", headers={"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"})
    assert MADE.fullmatch(answer.headers["x-request-id"])


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/claims/00000000-0000-4000-8000-000000000000", 404),
        ("GET", "/no/such/route", 404),
        ("GET", "/sources?limit=0", 422),
        ("POST", "/claims", 401),
    ],
)
async def test_every_problem_carries_the_requests_id(
    anonymous_client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    answer = await anonymous_client.request(method, path, json={} if method == "POST" else None)
    problem = assert_problem(answer, status)
    assert problem["request_id"] == answer.headers["x-request-id"]


async def test_one_line_a_request_with_its_route_and_key_never_its_secret_or_words(
    app: Litestar, caplog: pytest.LogCaptureFixture
) -> None:
    secret = await issue_key(app.state.pool, "desk", "write")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=bearer(secret)
    ) as client:
        with caplog.at_level(logging.INFO, logger="provenance.access"):
            created = await client.post("/claims", json=claim_body("Secret plans were discussed.", hop(inline("Ann"))))
            claim_id = created.json()["id"]
            read = await client.get(f"/claims/{claim_id}")
    lines = [r for r in caplog.records if r.name == "provenance.access"]
    assert [(r.method, r.route, r.status, r.key) for r in lines] == [  # type: ignore[attr-defined]
        ("POST", "/claims", 201, "desk"),
        ("GET", "/claims/{claim_id}", 200, "desk"),
    ]
    assert all(r.duration_ms >= 0 for r in lines)  # type: ignore[attr-defined]
    text = "\n".join(r.getMessage() for r in lines)
    assert claim_id not in text and secret not in text and "Secret plans" not in text
    assert read.headers["x-request-id"]


def test_a_served_process_writes_json_lines_with_the_request_id(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "DATABASE_URL": database_url, "PROVENANCE_LOG_FORMAT": "json"}
    command = [sys.executable, "-m", "service.cli", "serve", "--migrate", "--port", str(port), "--log-level", "info"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process=process, output=log.read_text)
        answer = httpx.get(f"{base}/sources/not-an-id", headers={"X-Request-Id": "find-me-1"})
        assert answer.status_code == 404 and answer.json()["request_id"] == "find-me-1"
        deadline = time.monotonic() + 10
        while "find-me-1" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)  # the line is written once the answer has gone
    finally:
        process.terminate()
        process.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert lines, log.read_text()
    [mine] = [line for line in lines if line.get("request_id") == "find-me-1"]
    assert mine["logger"] == "provenance.access" and mine["route"] == "/sources/{source_id}"
    assert mine["status"] == 404 and mine["method"] == "GET" and mine["key"] is None and "time" in mine
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # the server's own lines are JSON too


def test_provenance_log_level_sets_what_serve_writes_without_its_flag(database_url: str, tmp_path: Path) -> None:
    # A deployment sets its level in the environment: `--log-level`'s default is PROVENANCE_LOG_LEVEL.
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "DATABASE_URL": database_url, "PROVENANCE_LOG_LEVEL": "warning"}
    command = [sys.executable, "-m", "service.cli", "serve", "--migrate", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process=process, output=log.read_text)
        answer = httpx.get(f"{base}/sources/not-an-id", headers={"X-Request-Id": "find-me-2"})
        assert answer.status_code == 404 and answer.json()["request_id"] == "find-me-2"
        time.sleep(1)  # a line would be out within a turn of the event loop
    finally:
        process.terminate()
        process.wait(timeout=30)
    written = log.read_text()
    assert "Provenance on http://" in written  # the process did write to this file
    assert "find-me-2" not in written and "provenance.access" not in written


@pytest.mark.parametrize("formatter", [TextLines(), JsonLines()], ids=["text", "json"])
def test_the_access_line_written_straight_is_the_line_its_record_makes(
    formatter: LineFormatter, tmp_path: Path
) -> None:
    path = tmp_path / "lines.log"
    with path.open("w") as stream:
        Lines(formatter, stream).access("GET", "/claims/{claim_id}", 404, 1.234, "desk")
    straight = path.read_text()
    record = access_log.makeRecord(
        access_log.name,
        logging.INFO,
        "",
        0,
        "%s %s %d %.1fms%s",
        ("GET", "/claims/{claim_id}", 404, 1.234, " key=desk"),
        None,
        extra={"method": "GET", "route": "/claims/{claim_id}", "status": 404, "duration_ms": 1.23, "key": "desk"},
    )
    record.request_id = "-"
    recorded = formatter.format(record) + "\n"
    if isinstance(formatter, JsonLines):
        assert json.loads(straight) | {"time": None} == json.loads(recorded) | {"time": None}
    else:  # the same but for the time, which leads the line
        assert straight.split(" ", 2)[2] == recorded.split(" ", 2)[2]
        assert straight.split(" ", 2)[2] == "INFO provenance.access [-] GET /claims/{claim_id} 404 1.2ms key=desk\n"


async def test_lines_reach_the_stream_when_the_loops_turn_ends_not_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "lines.log"
    with path.open("w", buffering=1 << 16) as stream:
        lines = Lines(TextLines(), stream)
        lines.access("GET", "/health", 200, 0.5, None)
        lines.access("GET", "/health", 200, 0.5, None)
        assert path.read_text() == ""
        await asyncio.sleep(0)  # the turn in which they were written ends
        assert len(path.read_text().splitlines()) == 2


def test_a_line_written_outside_an_event_loop_reaches_the_stream_at_once(tmp_path: Path) -> None:
    path = tmp_path / "lines.log"
    with path.open("w", buffering=1 << 16) as stream:
        Lines(TextLines(), stream).access("GET", "/health", 200, 0.5, None)
        assert len(path.read_text().splitlines()) == 1
