"""The sealer: a task of the app that chains the audit entries of committed writes, soon after each write."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from service.domain import audit

if TYPE_CHECKING:
    import asyncpg
    from litestar import Litestar, Request

log = logging.getLogger("provenance")

SHUTDOWN_SECONDS = 5.0
"""How long the last seal at shutdown may take before it is left to the next start."""

IDLE_SECONDS = 1.0
"""How often the sealer looks for pending entries when no write of this process woke it (another
process's writes, an import, entries left by a crash)."""

GATHER_SECONDS = 0.05
"""The least time between two seals' starts: writes answered within it share the next seal. A seal is
several round trips and a commit of its own, and at hundreds of writes a second, one a write cost
``POST /claims`` about a tenth of the server's time (bench/README.md); an entry idle ones wait no longer
than before, a busy worker's at most this much more."""

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Sealer:
    """Seals pending audit entries whenever a write of this process finished (at most once every
    ``GATHER_SECONDS``), and every second."""

    def __init__(self, pool: asyncpg.Pool, acquire_timeout: float) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout
        self.woken = asyncio.Event()
        self.stopping = False

    def wake(self) -> None:
        """Ask for a seal soon; writes finishing together share one."""
        self.woken.set()

    async def seal(self) -> int:
        """Seal what is pending now."""
        async with self.pool.acquire(timeout=self.acquire_timeout) as conn:
            return await audit.seal(conn)

    async def run(self) -> None:
        """Seal now (what a crash or another process left), then after each wake-up or idle second, no
        sooner than ``GATHER_SECONDS`` after the last seal began, until cancelled; a failure (the database
        down) is tried again on the next round."""
        loop = asyncio.get_running_loop()
        while not self.stopping:
            # Cleared before sealing: a write answered from now on wakes the next round, one answered
            # before is sealed by this one.
            self.woken.clear()
            began = loop.time()
            try:
                await self.seal()
            except Exception as exc:
                log.warning("sealing the audit log failed, will retry: %s", exc)
            # asyncio.timeout rather than wait_for, which in Python 3.11 can swallow the task's cancellation
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(IDLE_SECONDS):
                    await self.woken.wait()
            if (rest := began + GATHER_SECONDS - loop.time()) > 0:
                await asyncio.sleep(rest)


def sealer_lifespan() -> Any:
    """A lifespan context running the sealer on the app's pool (opened by the pool's lifespan before it)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        sealer = app.state.sealer = Sealer(app.state.pool, app.state.settings.acquire_timeout)
        task = asyncio.create_task(sealer.run(), name="audit-sealer")
        try:
            yield
        finally:
            sealer.stopping = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(Exception):  # a last seal at shutdown; the next start seals anyway
                await asyncio.wait_for(sealer.seal(), SHUTDOWN_SECONDS)

    return lifespan


async def wake_after_write(request: Request[Any, Any, Any]) -> None:
    """``after_response`` hook: once a write has answered, wake the sealer to chain its entry."""
    if request.method in WRITE_METHODS and (sealer := getattr(request.app.state, "sealer", None)) is not None:
        sealer.wake()
