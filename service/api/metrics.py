"""``GET /metrics``: what an operator alerts on, in Prometheus's text format.

Requests by method, route template and status, with latency histograms, are the metrics of Litestar's
Prometheus middleware (``litestar_requests_total``, ``litestar_request_duration_seconds``,
``litestar_requests_in_progress``, ``litestar_requests_error_total``: the route's template, never the
path with its ids), counted by ``RequestCounting``, leaner than Litestar's middleware, of the same names,
labels and buckets (bench/README.md, "Why the code is as it is"). A request refused 429 by a rate limit
is answered before it is routed, so it has no route to be counted by: it is counted in
``provenance_rate_limited_requests_total``. The service adds its own (``provenance_*``): the
pool's connections and the requests waiting for one, audit entries waiting to be sealed and the age of the oldest,
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
import os
from bisect import bisect_left
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, Response, get
from litestar.plugins import InitPlugin
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from service import db
from service.repositories import audit as audit_repo

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.config.app import AppConfig
    from litestar.types import HTTPScope

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


APP_NAME = "provenance"
_LABELS = ["method", "path", "status_code", "app_name"]
REQUESTS = Counter("litestar_requests_total", "Total requests", _LABELS)
REQUEST_SECONDS = Histogram(
    "litestar_request_duration_seconds", "Request duration, in seconds", _LABELS, buckets=Histogram.DEFAULT_BUCKETS
)
REQUESTS_RUNNING = Gauge(
    "litestar_requests_in_progress", "Total requests currently in progress", _LABELS, multiprocess_mode="livesum"
)
REQUEST_ERRORS = Counter("litestar_requests_error_total", "Total errors in requests", _LABELS)


RUNNING = "provenance.running"
"""Where a request's state keeps the route whose requests in progress it raised, for ``answered``."""
BUCKETS = Histogram.DEFAULT_BUCKETS
"""The latency histogram's upper bounds, the last infinite (``REQUEST_SECONDS``'s, Litestar's)."""


class Tally:
    """The answers of one method, route and status since the last flush: how many, their seconds in
    all, and how many fell in each bucket (the first whose bound is not below them)."""

    __slots__ = ("buckets", "count", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.buckets = [0] * len(BUCKETS)


class RequestCounting:
    """Each routed request counted, timed and followed while it runs, by method, route template and
    status, as Litestar's Prometheus middleware counts them (the metrics route itself left out).

    Not a middleware: ``started`` runs once the request is routed (the app's ``before_request``, where
    its route is first known) and ``answered`` when its answer has gone (``service.api.front``).
    Litestar's middleware builds a ``Request``, a dict of labels and a ``functools.wraps`` wrapper for
    every request, and looks each metric's child up by its labels four times; this adds no layer to a
    route (bench/README.md).

    A request only adds to plain numbers (``Tally``); ``flush`` hands them to the Prometheus metrics,
    before ``/metrics`` answers and once a second (the ticker), so that another worker's requests show
    within a second. Each of prometheus_client's counts takes a lock, and with several workers
    writes a file: counting each request there was 5% of a one-row read's instructions
    (bench/README.md, "Why the code is as it is"). A 5xx is counted at once.
    """

    def __init__(self) -> None:
        self._running: dict[tuple[str, str], int] = {}
        self._tallies: dict[tuple[str, str, int], Tally] = {}
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def started(self, scope: HTTPScope) -> None:
        """One more request of its route in progress."""
        key = (scope["method"], scope["path_template"])
        if key[1] == "/metrics":
            return
        self._running[key] = self._running.get(key, 0) + 1
        scope["state"][RUNNING] = key

    def answered(self, scope: HTTPScope, status: int, seconds: float) -> None:
        """Count an answer by its method, route and status (none for a request no route matched), and
        one fewer in progress where ``started`` counted one."""
        if (running := scope["state"].pop(RUNNING, None)) is not None:
            self._running[running] -= 1
        route = scope.get("path_template")
        if route is None or route == "/metrics":
            return
        method: str = scope["method"]
        tally = self._tallies.get((method, route, status))
        if tally is None:
            tally = self._tallies[method, route, status] = Tally()
        tally.count += 1
        tally.seconds += seconds
        tally.buckets[bisect_left(BUCKETS, seconds)] += 1
        if status >= 500:
            REQUEST_ERRORS.labels(method, route, status, APP_NAME).inc()

    def flush(self) -> None:
        """Hand what was counted since the last flush to the Prometheus metrics."""
        for (method, route), running in self._running.items():
            REQUESTS_RUNNING.labels(method, route, 200, APP_NAME).set(running)
        for key, tally in self._tallies.items():
            if not tally.count:
                continue
            children = self._children.get(key)
            if children is None:
                labels = (*key, APP_NAME)
                children = self._children[key] = (REQUESTS.labels(*labels), REQUEST_SECONDS.labels(*labels))
            total, histogram = children
            total.inc(tally.count)
            # prometheus_client observes one value at a time; its values by bucket take a sum whole.
            histogram._sum.inc(tally.seconds)
            for bucket, count in zip(histogram._buckets, tally.buckets, strict=True):
                if count:
                    bucket.inc(count)
            tally.count, tally.seconds, tally.buckets = 0, 0.0, [0] * len(BUCKETS)


class MetricsController(Controller):
    """``/metrics``, for an admin key (or anyone, where ``PROVENANCE_METRICS_PUBLIC`` says so): the
    answer of Litestar's ``PrometheusController``, once this worker's counts are flushed."""

    path = "/metrics"
    include_in_schema = False

    @get()
    async def get(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        counting: RequestCounting | None = request.app.state.get("counting")
        if counting is not None:
            counting.flush()
        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


class Metrics(InitPlugin):
    """What ``PROVENANCE_METRICS`` switches on (the default): the route and the ticker setting the
    gauges. The requests are counted by ``RequestCounting``, which ``create_app`` gives the front layer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        if not self.settings.metrics:
            return app_config
        scope = "public" if self.settings.metrics_public else "admin"
        app_config.route_handlers.append(type("Metrics", (MetricsController,), {"opt": {"scope": scope}}))
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
        counting: RequestCounting | None = app.state.get("counting")
        if counting is not None:
            counting.flush()
        pool = app.state.pool
        POOL_CONNECTIONS.labels(state="open").set(pool.get_size())
        POOL_CONNECTIONS.labels(state="idle").set(pool.get_idle_size())
        POOL_WAITING.set(db.waiting(pool))
        try:
            async with db.pooled(pool, app.state.settings.acquire_timeout) as conn:
                count, oldest = await audit_repo.pending_state(conn)
            AUDIT_PENDING.set(count)
            AUDIT_OLDEST.set(oldest or 0.0)
        except Exception as exc:  # the database down: the gauges keep their last values
            log.debug("metrics: the audit log could not be read: %r", exc)
        await asyncio.sleep(TICK_SECONDS)
