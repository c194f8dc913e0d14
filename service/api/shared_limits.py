"""Rate limits shared by every worker and process: fixed windows counted in Redis (``PROVENANCE_REDIS_URL``).

Why not Litestar's ``RedisStore`` behind the stock middleware: ``RateLimitMiddleware`` reads a
client's window (``store.get``), decides, then writes the window back (``store.set``), guarded only by
a lock of its own process. Two processes reading the same window both add their request to what they
read, and the last write wins: N processes let up to N times the limit through. Here each request is
one Lua script, which Redis runs atomically: it reads the window's count, adds the request unless the
count is at the limit, and gives a new window its expiry. One round trip, one integer a client, and
the total let through in a window is the limit, whichever process answers.

A window opens at a client's first request and lasts a minute, as the in-memory ones do; its key is
``provenance:rate-limit:{read|write}:{key or address}``. The headers and the 429 are those of
``service.api.limits``, whichever way the windows are counted.

Redis down or slow (``TIMEOUT``) fails open: the request goes through uncounted, without
``RateLimit-*`` headers; ``provenance_rate_limit_store_errors_total`` counts the failure and a warning
says so, at most once a minute a process. After a failure Redis is left alone for
``PAUSE_AFTER_FAILURE``, so a server that does not answer costs one timeout a second, not one a request.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import monotonic, time
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.connection import parse_url

from service.api.limits import WINDOW_SECONDS, Window
from service.api.metrics import RATE_LIMIT_STORE_ERRORS

if TYPE_CHECKING:
    from litestar import Litestar
    from redis.commands.core import AsyncScript

log = logging.getLogger(__name__)

KEY_PREFIX = "provenance:rate-limit:"
TIMEOUT = 0.5
"""Seconds to connect to Redis, and for it to answer, before a request goes through uncounted."""
PAUSE_AFTER_FAILURE = 1.0
"""Seconds Redis is not asked again after it failed."""
WARN_EVERY = 60.0
"""Seconds between two warnings that Redis fails."""

# KEYS[1]: the client's window; ARGV[1]: the limit; ARGV[2]: the window's length in milliseconds.
# Answers the requests the window held before this one, and the milliseconds it has left.
COUNT_IN_WINDOW = """
local seen = tonumber(redis.call('GET', KEYS[1]) or '0')
if seen < tonumber(ARGV[1]) then
  redis.call('INCR', KEYS[1])
end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  left = tonumber(ARGV[2])
end
return {seen, left}
"""


class SharedWindows:
    """Every client's window, in Redis; the client is opened and closed by ``lifespan``."""

    def __init__(self, url: str) -> None:
        self._url = url
        parsed: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        self._password: str | None = parsed.get("password")
        self._script: AsyncScript | None = None
        self._quiet_until = 0.0
        self._warned_at = -math.inf
        self._failures = 0

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        """Opens the Redis client while the app runs (it connects at the first request)."""
        # No retries: a request waits for one attempt at most, then goes through uncounted.
        client = Redis.from_url(
            self._url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT, retry=Retry(NoBackoff(), 0)
        )
        self._script = client.register_script(COUNT_IN_WINDOW)
        try:
            yield
        finally:
            self._script = None
            await client.aclose()

    async def count(self, key: str, limit: int, seconds: int = WINDOW_SECONDS) -> Window | None:
        """Count a request in ``key``'s window, unless it already holds ``limit``: the window as it was
        before this request; ``None`` where Redis failed (or failed less than a second ago)."""
        script = self._script
        if script is None or monotonic() < self._quiet_until:
            return None
        try:
            seen, left = await script(keys=[KEY_PREFIX + key], args=[limit, seconds * 1000])
        except Exception as exc:  # whatever Redis does wrong, a request never fails for it
            self._failed(exc)
            return None
        now = int(time())
        return Window(int(seen), now + max(1, math.ceil(int(left) / 1000)))

    def _failed(self, exc: Exception) -> None:
        RATE_LIMIT_STORE_ERRORS.inc()
        self._failures += 1
        now = monotonic()
        self._quiet_until = now + PAUSE_AFTER_FAILURE
        if now - self._warned_at < WARN_EVERY:
            return
        reason = f"{type(exc).__name__}: {exc}"
        if self._password:
            reason = reason.replace(self._password, "****")
        log.warning(
            "rate limits: Redis failed %d time(s) since the last warning (%s); requests go through uncounted",
            self._failures,
            reason,
        )
        self._warned_at, self._failures = now, 0
