"""``create_app``: the one place that wires the app: routes, DI, lifespan, errors, OpenAPI."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Request, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, Contact, License, Server, Tag
from litestar.plugins import InitPlugin
from litestar.plugins.problem_details import ProblemDetailsPlugin

from service import __version__, heap
from service.api.allow import every_method_in_allow
from service.api.audit import AuditController
from service.api.auth import BEARER_SCHEME, SECURITY_SCHEME, admit, provide_actor
from service.api.claims import ClaimController
from service.api.connections import Conn, lent_to, pool_lifespan, provide_connection
from service.api.drawing import draw_claim_trace
from service.api.duplicates import source_duplicates
from service.api.errors import moved_handler, problem_details_config
from service.api.extract import extract_claims
from service.api.front import Front
from service.api.health import HealthController
from service.api.idempotency import provide_idempotency
from service.api.imports import import_router
from service.api.limits import rate_limits
from service.api.metrics import Metrics, RequestCounting
from service.api.network import claim_propagation, source_network
from service.api.prov import claim_prov
from service.api.reads import CommitToken, document_read_your_writes
from service.api.requests import configure_logging
from service.api.reviews import ReviewController
from service.api.schema_plugin import DescribedStructSchemaPlugin
from service.api.sources import SourceController
from service.api.strict import refuse_unknown_query
from service.api.trace import trace_statement
from service.domain.traces import StemStatistics
from service.errors import Moved
from service.pages.routes import template_config, ui_router
from service.sealing import sealer_lifespan, wake_after_write
from service.settings import Settings

if TYPE_CHECKING:
    from litestar.types import BeforeRequestHookHandler
    from opentelemetry.sdk.trace import TracerProvider

DESCRIPTION = """\
Provenance stores news claims together with their attribution chains and traces any statement back
to its original speaker: "Hina reports, citing Reuters, that Pentagon spokesman Patrick Ryder told
reporters..." is a chain of three hops, and one call answers its origin and its relays.

Writes need an API key, sent as `Authorization: Bearer <key>`: a `write` key (or `admin`, which
merging sources needs). Without one, or with an unknown, revoked or malformed one, a write is a 401;
with a `read` key, a 403. Reads are public unless the server sets `PROVENANCE_PUBLIC_READS=false`,
and then need a key of any scope.

Errors are RFC 9457 `application/problem+json`. Lists are keyset-paginated: follow `next_cursor` or
the `Link: <...>; rel="next"` header.
"""


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document: served at ``/schema`` and committed under ``openapi/``."""
    return OpenAPIConfig(
        title="Provenance",
        version=__version__,
        description=DESCRIPTION,
        contact=Contact(name="Provenance maintainers"),
        license=License(name="MIT", identifier="MIT"),
        servers=[Server(url="http://127.0.0.1:8000", description="A local server (`make run`)")],
        tags=[
            Tag(name="claims", description="Statements as they appeared, with their attribution chains."),
            Tag(name="sources", description="People, organizations, outlets and anonymous sources."),
            Tag(name="trace", description="Tracing free text to stored claims and their origins."),
            Tag(
                name="audit",
                description="The tamper-evident log of every write: a hash chain to read, publish and verify.",
            ),
            Tag(name="health", description="Liveness and readiness."),
        ],
        use_handler_docstrings=False,
        render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        components=Components(security_schemes={SECURITY_SCHEME: BEARER_SCHEME}),
        # The documentation is public even where reads are not: it describes the API, not its data.
        openapi_router=Router("/schema", route_handlers=[], include_in_schema=False, opt={"scope": "public"}),
    )


def create_app(settings: Settings | None = None, *, tracer_provider: TracerProvider | None = None) -> Litestar:
    """The Provenance app; with no settings, read from the environment. Its spans go to
    ``tracer_provider`` when given, else where the settings say (``service/api/tracing.py``)."""
    settings = settings or Settings.from_env()
    statistics = StemStatistics()
    limits = rate_limits(settings)
    counting = RequestCounting() if settings.metrics else None

    def provide_statistics(conn: Conn) -> StemStatistics:
        """The process's statistics of stems, for the statement trace, which reads them through the
        request's connection; resolved after it, not beside it (``provide_connection`` says why)."""
        return statistics

    app = Litestar(
        route_handlers=[
            ClaimController,
            import_router(settings),
            ReviewController,
            SourceController,
            claim_propagation,
            claim_prov,
            extract_claims,
            draw_claim_trace,
            source_network,
            source_duplicates,
            trace_statement,
            AuditController,
            HealthController,
            ui_router(settings),
        ],
        dependencies={
            "conn": Provide(provide_connection),
            "actor": Provide(provide_actor, sync_to_thread=False),
            "idempotency": Provide(provide_idempotency),
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "statistics": Provide(provide_statistics, use_cache=True, sync_to_thread=False),
        },
        before_request=admit if counting is None else counted(admit, counting),
        request_max_body_size=settings.max_body_bytes,
        lifespan=[pool_lifespan(settings), sealer_lifespan(), *limits.lifespan],
        after_response=wake_after_write,
        plugins=[
            ProblemDetailsPlugin(problem_details_config()),
            DescribedStructSchemaPlugin(),
            Metrics(settings),
            *_tracing(settings, tracer_provider),
        ],
        exception_handlers={Moved: moved_handler},
        openapi_config=openapi_config(),
        # Logging is the process's to set up (served_app), not the app's: tests and tools keep theirs.
        logging_config=None,
        template_config=template_config(),
        state=State({"settings": settings, "counting": counting}),
    )
    every_method_in_allow(app)
    refuse_unknown_query(app)
    document_read_your_writes(app)
    # A write's token is read only where a replica is set (service/api/connections.py): without one, no
    # request pays for the wrapper that would add it.
    if settings.read_database_url:
        app.asgi_handler = CommitToken(app.asgi_handler, lent_to)
    # Outside routing and error handling, so that every answer, an unknown path's 404 too, has its id.
    app.asgi_handler = Front(app.asgi_handler, limits, counting)
    return app


def counted(hook: BeforeRequestHookHandler, counting: RequestCounting) -> BeforeRequestHookHandler:
    """``hook`` once the request is counted in progress: the first moment its route is known."""

    async def started(request: Request[Any, Any, Any]) -> Any:
        counting.started(request.scope)
        return await hook(request)

    return started


def _tracing(settings: Settings, provider: TracerProvider | None) -> list[InitPlugin]:
    """The plugins that trace the app, into ``provider`` when given, else where the settings say; none
    when neither names one. OpenTelemetry is imported only then: a service that sends no traces does
    not hold it in memory."""
    if provider is None and not settings.otel_endpoint:
        return []
    from service.api.tracing import exporting_provider, tracing_plugins

    return tracing_plugins(provider or exporting_provider(settings))


def served_app() -> Litestar:
    """The app as ``provenance serve`` runs it, in each worker: its logging set up, then the app."""
    settings = Settings.from_env()
    configure_logging(settings.log_format, os.environ.get("PROVENANCE_LOG_LEVEL", "info"))
    app = create_app(settings)
    # Last of the startup, once the pool is open: what lives as long as the worker leaves the
    # collector's full passes (service/heap.py).
    app.on_startup.append(heap.settle)
    return app
