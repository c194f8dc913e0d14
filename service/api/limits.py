"""Abuse limits: requests a minute per API key (else per address), reads and writes apart.

Litestar's ``RateLimitMiddleware`` counts and answers 429; the ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` headers go on every counted response, and the 429
problem carries ``Retry-After`` (``service.errors``).

With ``PROVENANCE_REDIS_URL`` set, the windows are counted in Redis, one budget for every worker and
process (``service.api.shared_limits``). Without it they live in the process's memory: with
``--workers N`` each worker counts on its own, so the effective limit is up to N times the setting.
In memory the counts are kept in a dict rather than in Litestar's store: the stock middleware encodes
each client's whole window history to JSON and back on every request, which the benchmark found to
cost as much as the rest of a one-row read once a client makes thousands of requests a minute.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from time import time
from typing import Any

from litestar import Litestar, Request
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    CacheObject,
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)
from litestar.types import Method, Receive, Scope, Send

from service.settings import Settings

READ_METHODS: frozenset[Method | str] = frozenset({"GET", "HEAD", "OPTIONS"})
UNLIMITED = ["^/health$", "^/ready$", "^/schema"]
SWEEP_ABOVE = 10_000
"""How many clients' windows may be kept before the ended ones are dropped."""


class CountingRateLimitMiddleware(RateLimitMiddleware):
    """The same fixed windows, headers and 429 as Litestar's, counted in a dict shared by every route.

    Its own ``__call__`` does what Litestar's does less dearly: a request of the other kind (a write
    for the reads' limit) passes before any ``Request`` is built (``counted_by``), and a window is counted without
    Litestar's ``anyio.Lock``, whose every acquisition yields to the event loop once. Reading and
    counting a window in the dict never awaits, so no other request can come between them. With
    both, the limits cost the one-row read 25% of its requests a second (bench/README.md).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        config = self.config
        assert isinstance(config, CountingRateLimitConfig)
        if not counted_by(scope, config.reads):
            await self.app(scope, receive, send)
            return
        window = self._window(self.cache_key_from_request(scope["litestar_app"].request_class(scope)), config)
        if len(window.history) >= self.max_requests:
            raise TooManyRequestsException(headers=self.create_response_headers(cache_object=window))
        window.history.append(int(time()))
        await self.app(scope, receive, self.create_send_wrapper(send=send, cache_object=window))

    def _window(self, key: str, config: CountingRateLimitConfig) -> CacheObject:
        """The client's window in this minute, a new one if its last has ended."""
        windows = config.windows
        now = int(time())
        window = windows.get(key)
        if window is None or window.reset <= now:
            if len(windows) > SWEEP_ABOVE:
                for ended in [k for k, w in windows.items() if w.reset <= now]:
                    del windows[ended]
            window = windows[key] = CacheObject(history=[], reset=now + DURATION_VALUES[self.unit])
        return window


@dataclass
class CountingRateLimitConfig(RateLimitConfig):
    """A ``RateLimitConfig`` holding the windows its middleware counts in (one dict per app and kind)."""

    middleware_class: type[RateLimitMiddleware] = CountingRateLimitMiddleware
    windows: dict[str, CacheObject] = field(default_factory=dict)
    reads: bool = field(kw_only=True)
    """Whether the limit counts reads (GET, HEAD, OPTIONS); else writes."""


def _who(request: Request[Any, Any, Any]) -> str:
    # A bearer token names its own bucket (hashed: secrets never sit in memory as keys); without
    # one, the client address does. An unknown token is refused by the key check right after.
    authorization = request.headers.get("authorization", "")
    if authorization.startswith("Bearer ") and len(authorization) < 200:
        return "key:" + hashlib.sha256(authorization.encode()).hexdigest()[:32]
    return "address:" + get_remote_address(request)


def _identifier(kind: str) -> Callable[[Request[Any, Any, Any]], str]:
    def identify(request: Request[Any, Any, Any]) -> str:
        return f"{kind}:{_who(request)}"

    return identify


def counted_by(scope: Scope, reads: bool) -> bool:
    """Whether the limit of reads (``reads``), or of writes, counts this request: told by its method
    alone, before anything is built for it (Litestar's ``check_throttle_handler`` takes a ``Request``)."""
    return scope["type"] == ScopeType.HTTP and (scope["method"] in READ_METHODS) == reads


@dataclass(frozen=True)
class RateLimits:
    """The app's rate-limit middleware, and the lifespans they need (the Redis client, where shared)."""

    middleware: list[DefineMiddleware]
    lifespan: list[Callable[[Litestar], AbstractAsyncContextManager[None]]]


def rate_limits(settings: Settings) -> RateLimits:
    """The rate limits for reads and for writes (a limit of 0 adds none), counted in Redis where
    ``redis_url`` is set, else in the process's memory."""
    if settings.redis_url:
        # Imported here: the Redis client is memory a worker counting in its own memory need not hold.
        from service.api.shared_limits import SharedRateLimitConfig, SharedWindows

        shared = SharedWindows(settings.redis_url)
    else:
        shared = None
    middleware = []
    for kind, per_minute in (
        ("read", settings.read_rate_limit_per_minute),
        ("write", settings.write_rate_limit_per_minute),
    ):
        if per_minute <= 0:
            continue
        common: dict[str, Any] = {
            "rate_limit": ("minute", per_minute),
            "exclude": UNLIMITED,
            "identifier_for_request": _identifier(kind),
            "reads": kind == "read",
        }
        if shared:
            config: RateLimitConfig = SharedRateLimitConfig(**common, windows=shared)
        else:
            config = CountingRateLimitConfig(**common)
        middleware.append(config.middleware)
    return RateLimits(middleware, [shared.lifespan] if shared and middleware else [])
