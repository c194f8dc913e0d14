"""Whether this process can serve: beyond the database answering, its schema must be the one the code
was written for, and the audit log's entries must be getting sealed."""

from __future__ import annotations

import asyncpg

from service import migrations
from service.repositories import server as repo


async def problems(conn: asyncpg.Connection, sealer_stuck_after: float) -> list[str]:
    """What keeps the service from serving, in words naming what to do; none when it can."""
    state = await repo.state(conn)
    found = []
    if state is None or state["revision"] is None:
        return [f"the database has no schema: run `provenance migrate` (the code needs {migrations.head()})"]
    if state["revision"] != migrations.head():
        found.append(
            f"the database schema is at {state['revision']}, the code needs {migrations.head()}: "
            "run `provenance migrate`"
        )
    waited = state["oldest_pending"]
    if waited is not None and waited > sealer_stuck_after:
        found.append(
            f"the audit sealer is stuck: an entry has waited {waited:.0f} s to be sealed "
            f"(more than {sealer_stuck_after:.0f} s)"
        )
    return found
