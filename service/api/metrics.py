"""``GET /metrics``: what an operator alerts on, in Prometheus's text format.

Requests by method, route template and status, with latency histograms, are Litestar's Prometheus
middleware (``litestar_requests_total``, ``litestar_request_duration_seconds``: the route's template,
never the path with its ids). The service adds its own (``provenance_*``): the pool's connections
and the requests waiting for one, audit entries waiting to be sealed and the age of the oldest,
imports running and lines done, reads by the server that answered them and the replica's
fallbacks to the primary, rate-limit rejections and failures of the Redis counting them, and
database errors by kind. Gauges are set by a ticker once a second, so that they hold across worker
processes too: with ``PROMETHEUS_MULTIPROC_DIR`` set (as ``provenance serve --workers N`` should be
run), every worker writes its metrics there and ``/metrics`` answers for all of them.

``/metrics`` needs an ``admin`` key unless ``PROVENANCE_METRICS_PUBLIC=true`` (a scraper on a private
network); it is not part of the API's document. ``PROVENANCE_METRICS=false`` leaves all of it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from litestar.plugins import InitPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import Counter, Gauge

from service import db
from service.repositories import audit as audit_repo

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.config.app import AppConfig

    from service.settings import Settings

log = logging.getLogger(__name__)

POOL_CONNECTIONS = Gauge(
    "provenance_pool_connections",
    "Connections of the worker's pool, by state (open, idle).",
    ["state"],
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "provenance_pool_waiting_acquisitions",
    "Requests waiting for a pooled connection.",
    multiprocess_mode="livesum",
)
AUDIT_PENDING = Gauge(
    "provenance_audit_pending_entries", "Audit entries written, waiting to be sealed.", multiprocess_mode="max"
)
AUDIT_OLDEST = Gauge(
    "provenance_audit_pending_oldest_seconds",
    "How long the oldest audit entry waiting to be sealed has waited (0: none waits).",
    multiprocess_mode="max",
)
IMPORTS_RUNNING = Gauge(
    "provenance_imports_running", "Imports (POST /claims/import) running.", multiprocess_mode="livesum"
)
IMPORT_LINES = Counter("provenance_import_lines", "Lines of imports done (stored, already stored or refused).")
RATE_LIMITED = Counter("provenance_rate_limited_requests", "Requests refused with 429 for going past a rate limit.")
RATE_LIMIT_STORE_ERRORS = Counter(
    "provenance_rate_limit_store_errors",
    "Calls to the Redis counting the rate limits that failed; each let its request through uncounted.",
)
DATABASE_ERRORS = Counter(
    "provenance_database_errors",
    "Requests the database failed, by kind: unavailable, collision, constraint, value, client.",
    ["kind"],
)
READS = Counter(
    "provenance_reads",
    "Reads (GET, HEAD) by the server that answered them, where a replica is set: replica, primary.",
    ["server"],
)
REPLICA_FALLBACKS = Counter(
    "provenance_replica_fallbacks",
    "Reads the primary answered instead of the replica, by reason: down, lagging, behind (a write asked for).",
    ["reason"],
)
TICK_SECONDS = 1.0


def prometheus_config() -> PrometheusConfig:
    """Litestar's request metrics, by route template; the metrics route itself is not counted."""
    return PrometheusConfig(app_name="provenance", group_path=True, exclude=["^/metrics$"])


class MetricsController(PrometheusController):
    """``/metrics``, for an admin key (or anyone, where ``PROVENANCE_METRICS_PUBLIC`` says so)."""

    path = "/metrics"
    include_in_schema = False


class Metrics(InitPlugin):
    """What ``PROVENANCE_METRICS`` switches on (the default): the route, the ticker setting the gauges,
    and the request counting, which goes outside the rate limits so that the 429s they answer are
    counted too."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        if not self.settings.metrics:
            return app_config
        scope = "public" if self.settings.metrics_public else "admin"
        app_config.route_handlers.append(type("Metrics", (MetricsController,), {"opt": {"scope": scope}}))
        app_config.middleware.insert(0, prometheus_config().middleware)
        app_config.lifespan.append(_ticking)
        return app_config


@asynccontextmanager
async def _ticking(app: Litestar) -> AsyncIterator[None]:
    """Sets the gauges once a second while the app runs."""
    task = asyncio.create_task(_tick(app), name="metrics-ticker")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _tick(app: Litestar) -> None:
    while True:
        pool = app.state.pool
        POOL_CONNECTIONS.labels(state="open").set(pool.get_size())
        POOL_CONNECTIONS.labels(state="idle").set(pool.get_idle_size())
        POOL_WAITING.set(db.waiting_acquisitions)
        try:
            async with db.pooled(pool, app.state.settings.acquire_timeout) as conn:
                count, oldest = await audit_repo.pending_state(conn)
            AUDIT_PENDING.set(count)
            AUDIT_OLDEST.set(oldest or 0.0)
        except Exception as exc:  # the database down: the gauges keep their last values
            log.debug("metrics: the audit log could not be read: %r", exc)
        await asyncio.sleep(TICK_SECONDS)
