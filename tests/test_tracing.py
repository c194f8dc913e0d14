"""Traces: with a collector configured, a request is one server span and each SQL statement it ran a
database span under it; spans reach an OTLP/HTTP collector; without one, nothing is traced at all."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from litestar import Litestar
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.helpers import bearer, fresh_app, issue_key, ryder_story, served_process

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def in_memory() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def under(server: ReadableSpan, spans: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    """The spans whose parent is ``server``."""
    return [s for s in spans if s.parent is not None and s.parent.span_id == server.context.span_id]


async def stored_claim(app: Litestar) -> str:
    secret = await issue_key(app.state.pool, "desk", "write")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        created = await client.post("/claims", json=ryder_story(), headers=bearer(secret))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_a_trace_request_is_one_server_span_with_one_database_span_under_it(database_url: str) -> None:
    provider, exporter = in_memory()
    async with fresh_app(database_url, tracer_provider=provider) as app:
        claim_id = await stored_claim(app)
        exporter.clear()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            answer = await client.get(
                f"/claims/{claim_id}/trace", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
            )
        assert answer.status_code == 200
        spans = exporter.get_finished_spans()
    (server,) = [s for s in spans if s.kind == SpanKind.SERVER]
    assert server.name == "GET /claims/{claim_id}/trace"  # the route's template, never the id
    # The caller's trace goes on: the span joins it, and the request id is that trace's id.
    assert f"{server.context.trace_id:032x}" == TRACE_ID == answer.headers["X-Request-Id"]
    assert server.attributes is not None and server.attributes["provenance.request_id"] == TRACE_ID
    (statement,) = under(server, spans)
    assert statement.kind == SpanKind.CLIENT
    assert statement.attributes is not None
    sql = str(statement.attributes.get("db.statement") or statement.attributes.get("db.query.text"))
    assert "WITH RECURSIVE" in sql and "$1" in sql
    assert claim_id not in str(statement.attributes)  # the values bound are not in the span


async def test_a_write_has_each_of_its_statements_under_its_span_and_none_holds_the_claims_words(
    database_url: str,
) -> None:
    provider, exporter = in_memory()
    async with fresh_app(database_url, tracer_provider=provider) as app:
        await stored_claim(app)
        spans = exporter.get_finished_spans()
    (server,) = [s for s in spans if s.kind == SpanKind.SERVER]
    assert server.name == "POST /claims"
    statements = under(server, spans)
    assert len(statements) >= 3 and {s.kind for s in statements} == {SpanKind.CLIENT}
    assert server.attributes is not None and server.attributes["http.status_code"] == 201
    words = ryder_story()["text"]
    assert not any(words in str(s.attributes) for s in spans)


async def test_without_a_collector_nothing_is_traced_and_asyncpg_is_left_as_it_is(database_url: str) -> None:
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in os.environ
    async with fresh_app(database_url) as app:
        assert "OpenTelemetryPlugin" not in {type(p).__name__ for p in app.plugins}
        assert not hasattr(asyncpg.Connection.fetch, "__wrapped__")
    provider, _ = in_memory()
    async with fresh_app(database_url, tracer_provider=provider):
        assert hasattr(asyncpg.Connection.fetch, "__wrapped__")
    assert not hasattr(asyncpg.Connection.fetch, "__wrapped__")  # unwrapped when the traced app stopped


class Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that keeps the span names of every export it receives."""

    received: list[tuple[str, str, list[str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        names = [span.name for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
        service = {
            a.value.string_value
            for rs in request.resource_spans
            for a in rs.resource.attributes
            if a.key == "service.name"
        }
        self.received.append((self.path, ",".join(sorted(service)), names))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_a_served_process_sends_its_spans_to_the_collector_named_by_the_environment(
    database_url: str, collector: str
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # the batch goes within a tenth of a second
    }
    with served_process(env=env) as (_, base):
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/sources?limit=1")).status_code == 200
    # Stopped: the spans still in the batch were sent at shutdown, if not before.
    paths = {path for path, _, _ in Collector.received}
    names = [name for _, _, batch in Collector.received for name in batch]
    assert paths == {"/v1/traces"}
    assert {service for _, service, _ in Collector.received} == {"provenance"}
    assert "GET /sources" in names and "SELECT" in names
