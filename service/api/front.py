"""``Front``: the one layer every HTTP request passes before Litestar routes it.

It gives the request its id (``service.api.requests``), counts it against its rate limit
(``service.api.limits``) and refuses it 429 when past the limit, adds ``X-Request-Id`` and the
``RateLimit-*`` headers to its answer, then gives back the connection lent to the request
(``service.api.connections``), counts the answer for the metrics (``service.api.metrics``) and
writes its access line. It wraps the app outside its routing and error
handling, so that every answer, an unknown path's 404 too, has its id and its line.

Why one layer and not four middleware: a request passed the request id's layer, the counting's, and
one for each rate limit, each with its own wrapper of ``send``; and middleware in a route puts a second
exception handler in it. Together they were a third of a one-row read's time in the benchmark
(bench/README.md).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException

from service.api.connections import LENT, give_back
from service.api.errors import problem_of_http
from service.api.requests import REQUEST_ID, access_log, request_id_of, write_access_line

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

    from service.api.limits import Limits
    from service.api.metrics import RequestCounting


class Front:
    """Wraps the app's ASGI handler: ids, limits, counting and the access line (module docstring)."""

    def __init__(self, app: ASGIApp, limits: Limits, counting: RequestCounting | None) -> None:
        self.app = app
        self.limits = limits
        self.counting = counting

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope["headers"])
        token = REQUEST_ID.set(request_id)
        added = [(b"x-request-id", request_id.encode("latin-1"))]
        status = 500

        async def send_front(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        try:
            limit = self.limits.of(scope)
            counted = None if limit is None else await limit.count(scope)
            if limit is None or counted is None:
                await self.app(scope, receive, send_front)
                return
            window, full = counted
            if full:
                await self._refuse(scope, receive, send_front, limit.headers(window))
                return
            added += limit.raw_headers(window)
            await self.app(scope, receive, send_front)
        finally:
            if LENT in scope["state"]:
                await give_back(scope)
            took = time.perf_counter() - started
            if self.counting is not None:
                self.counting.answered(scope, status, took)
            if access_log.isEnabledFor(logging.INFO):
                key = scope["state"].get("api_key")
                route = scope.get("path_template") or None
                write_access_line(scope["method"], route, status, took * 1000, None if key is None else key.name)
            REQUEST_ID.reset(token)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        """Answer 429 as every problem is answered, with the limit's headers and ``Retry-After``."""
        request: Any = scope["litestar_app"].request_class(scope, receive, send)
        refused = TooManyRequestsException(headers=headers)
        response = problem_of_http(refused).to_response(request)
        await response.to_asgi_response(app=None, request=request)(scope, receive, send)
