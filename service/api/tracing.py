"""Traces for a collector: with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, a span for each request and, under
it, one for each SQL statement the request ran, sent over OTLP/HTTP in batches.

The request's span is Litestar's OpenTelemetry plugin (a server span named by the route template,
carrying the request id as ``provenance.request_id``); the statements' spans are OpenTelemetry's
asyncpg instrumentation (their SQL with its ``$n`` placeholders, never the values bound to them, so a
claim's words stay out of the traces). The exporter reads the standard ``OTEL_EXPORTER_OTLP_*``
variables itself, and the resource ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``. Unset,
nothing is installed: no middleware, no wrapped asyncpg method, nothing paid per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from litestar.plugins import InitPlugin
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.semconv.attributes.http_attributes import HTTP_ROUTE

from service.api.requests import REQUEST_ID

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.config.app import AppConfig
    from litestar.types import Message, Scope
    from opentelemetry.trace import Span

    from service.settings import Settings

SERVICE_NAME = "provenance"


def exporting_provider(settings: Settings) -> TracerProvider | None:
    """Where the spans go when the settings name a collector; ``None`` (tracing off) when they do not."""
    if not settings.otel_endpoint:
        return None
    # Imported here: the exporter and its HTTP client cost start-up time a service without traces need not pay.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def tracing_plugins(provider: TracerProvider | None) -> list[InitPlugin]:
    """The plugins that trace the app into ``provider``; none without one."""
    if provider is None:
        return []
    config = OpenTelemetryConfig(
        tracer_provider=provider,
        # One span per request: ASGI's receive and send, a span each by default, tell an operator nothing.
        exclude_spans=["receive", "send"],
        server_request_hook_handler=_with_request_id,
        scope_span_details_extractor=_unrouted,
    )
    return [OpenTelemetryPlugin(config), _Statements(provider)]


def _unrouted(scope: Scope) -> tuple[str, dict[str, Any]]:
    """A request's span before routing: named by its method alone (OpenTelemetry's name for a request
    of no known route), never by its path, which holds ids; ``_named_by_route`` names it once routed."""
    return str(scope.get("method", "HTTP")), {}


async def _named_by_route(message: Message, scope: Scope) -> None:
    """Name the request's span by its route template as its answer starts (``GET /claims/{claim_id}``)."""
    if message["type"] != "http.response.start" or not (template := scope.get("path_template")):
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.update_name(f"{scope.get('method', 'HTTP')} {template}")
        span.set_attribute(HTTP_ROUTE, template)


def _with_request_id(span: Span, scope: dict[str, Any]) -> None:
    """Put the request's id (service.api.requests) on its span, so a log line leads to its trace."""
    if span.is_recording() and (request_id := REQUEST_ID.get()):
        span.set_attribute("provenance.request_id", request_id)


class _Statements(InitPlugin):
    """Spans for the SQL statements while the app runs (asyncpg's methods wrapped at start-up and
    unwrapped at shutdown, when the spans still waiting in the batch are sent), and the request's
    span named by its route."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self._lifespan)
        app_config.before_send.append(_named_by_route)
        return app_config

    @asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]  # it ships no annotations
        instrumentor.instrument(tracer_provider=self.provider)
        try:
            yield
        finally:
            instrumentor.uninstrument()
            self.provider.shutdown()
