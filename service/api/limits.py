"""Abuse limits: requests a minute per API key (else per address), reads and writes apart.

Each request a limit counts (reads: GET, HEAD, OPTIONS; writes: the rest) is counted in its client's
fixed window of a minute, before it is routed (``service.api.front``): past the limit it is answered
429 with ``Retry-After``, and every counted answer carries ``RateLimit-Policy``, ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset``, the IETF draft's headers as Litestar's
``RateLimitMiddleware`` sends them. ``/health``, ``/ready`` and ``/schema`` are never counted.

With ``PROVENANCE_REDIS_URL`` set, the windows are counted in Redis, one budget for every worker and
process (``service.api.shared_limits``). Without it they live in the process's memory: with
``--workers N`` each worker counts on its own, so the effective limit is up to N times the setting.

Why not Litestar's middleware: it builds a ``Request`` and a send wrapper for each limit and request,
encodes each client's whole window history to JSON and back in its store on every request, and waits
for an ``anyio.Lock`` that yields to the event loop each time; as route middleware it also puts a
second exception handler in every route. The benchmark found each of these costing the one-row read
a share of its time (bench/README.md). Counting a window in the dict never awaits, so no other
request can come between reading and counting it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from time import time
from typing import TYPE_CHECKING, Any

from service.api.auth import SAFE_METHODS
from service.settings import Settings

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import HTTPScope

    from service.api.shared_limits import SharedWindows

UNLIMITED = re.compile("^/health$|^/ready$|^/schema")
WINDOW_SECONDS = 60
SWEEP_ABOVE = 10_000
"""How many clients' windows may be kept in memory before the ended ones are dropped."""
HEADERS = ("RateLimit-Policy", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
_POLICY, _LIMIT, _REMAINING, _RESET = (name.lower().encode() for name in HEADERS)


@dataclass(slots=True)
class Window:
    """A client's fixed window: the requests counted in it, and when it ends (seconds since the epoch).

    A count, not Litestar's ``CacheObject`` list of every request's time: that list grew by one entry a
    request (to 300,000 a minute for one busy client under the benchmark's limits), and Redis's count
    had to be made into such a list for every request."""

    count: int
    reset: int


def client_of(scope: HTTPScope) -> str:
    """Whose budget a request spends: its bearer token's (hashed: secrets never sit in memory as keys),
    else its address's. An unknown token is refused by the key check once the request is routed."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value.startswith(b"Bearer ") and len(value) < 200:
                return "key:" + hashlib.sha256(value).hexdigest()[:32]
            break
    client = scope.get("client")
    return "address:" + (client[0] if client else "127.0.0.1")


@dataclass
class Limit:
    """One budget a minute, for reads or for writes, counted in memory or in Redis (``shared``)."""

    kind: str
    """``read`` or ``write``: the first part of each client's key."""
    per_minute: int
    shared: SharedWindows | None = None
    windows: dict[str, Window] = field(default_factory=dict)

    async def count(self, scope: HTTPScope) -> tuple[Window, bool] | None:
        """The client's window, with this request counted in it unless it was full already, and whether
        it was (the request is then refused); ``None`` where Redis failed and the request goes through
        uncounted."""
        key = f"{self.kind}:{client_of(scope)}"
        window = self._window(key) if self.shared is None else await self.shared.count(key, self.per_minute)
        if window is None:
            return None
        full = window.count >= self.per_minute
        if not full:
            window.count += 1
        return window, full

    def _window(self, key: str) -> Window:
        """The client's window in this minute, a new one if its last has ended."""
        windows = self.windows
        now = int(time())
        window = windows.get(key)
        if window is None or window.reset <= now:
            if len(windows) > SWEEP_ABOVE:
                for ended in [k for k, w in windows.items() if w.reset <= now]:
                    del windows[ended]
            window = windows[key] = Window(0, now + WINDOW_SECONDS)
        return window

    def headers(self, window: Window) -> dict[str, str]:
        """The ``RateLimit-*`` headers of an answer counted in ``window``."""
        return {name: value.decode() for name, (_, value) in zip(HEADERS, self.raw_headers(window), strict=True)}

    def raw_headers(self, window: Window) -> list[tuple[bytes, bytes]]:
        """``headers`` as an ASGI answer carries them, lower-cased names and values in bytes."""
        return [
            *self._fixed,
            (_REMAINING, b"%d" % max(0, self.per_minute - window.count)),
            (_RESET, b"%d" % (window.reset - int(time()))),
        ]

    def __post_init__(self) -> None:
        self._fixed = [(_POLICY, b"%d; w=%d" % (self.per_minute, WINDOW_SECONDS)), (_LIMIT, b"%d" % self.per_minute)]


@dataclass(frozen=True)
class Limits:
    """The app's limits of reads and of writes (either may be off), and the lifespans they need (the
    Redis client, where shared)."""

    read: Limit | None
    write: Limit | None
    lifespan: list[Callable[[Litestar], AbstractAsyncContextManager[None]]]

    def of(self, scope: HTTPScope) -> Limit | None:
        """The limit counting this HTTP request, told by its method and path alone; ``None`` if none does."""
        limit = self.read if scope["method"] in SAFE_METHODS else self.write
        if limit is None or UNLIMITED.match(scope["path"]):
            return None
        return limit


def rate_limits(settings: Settings) -> Limits:
    """The rate limits for reads and for writes (a limit of 0 is none), counted in Redis where
    ``redis_url`` is set, else in the process's memory."""
    shared: Any = None
    if settings.redis_url and (settings.read_rate_limit_per_minute > 0 or settings.write_rate_limit_per_minute > 0):
        # Imported here: the Redis client is memory a worker counting in its own memory need not hold.
        from service.api.shared_limits import SharedWindows

        shared = SharedWindows(settings.redis_url)
    read, write = (
        Limit(kind, per_minute, shared) if per_minute > 0 else None
        for kind, per_minute in (
            ("read", settings.read_rate_limit_per_minute),
            ("write", settings.write_rate_limit_per_minute),
        )
    )
    return Limits(read, write, [shared.lifespan] if shared else [])
