"""The whole shape past one machine, measured: two API processes writing through PgBouncer in
transaction mode to a primary, reading from its streaming replica, their limits counted in one Redis,
under the mixed load of tests/test_whole_shape.py (writers that read each write back at once from the
other process with its token, readers tracing claims and statements), for a minute.

    python -m bench.shape                 # make bench: 60 s; figures to bench/results/shape/<date>.json
    python -m bench.shape --smoke         # make bench-smoke: 5 s; to .bench/smoke-shape.json

The primary and the replica are private clusters of Debian's PostgreSQL binaries, PgBouncer is
Debian's, the Redis one of its own: tests/clusters.py and tests/poolers.py start them, as the tests
do. Nothing is pinned: the two API processes, PostgreSQL twice, PgBouncer and the load generator (one
Python process, httpx) share the two cores, so these figures say what the shape holds on one small
machine, not what each part could do on its own (the main benchmark says that). It fails (exit 1)
on any error, lost write, stale read or a log that does not verify.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.machine import machine
from bench.paths import RESULTS, WORK
from tests.clusters import fetchval, replicated
from tests.helpers import bearer, make_key, redis_server, served_process
from tests.poolers import pgbouncer
from tests.test_whole_shape import MixedLoad, mixed_load, shape_env


def figures(load: MixedLoad, seconds: float) -> dict[str, Any]:
    """Requests a second, p50 and p99 of each kind of request."""
    kinds = {}
    for kind, durations in load.seconds.items():
        ordered = sorted(durations)
        kinds[kind] = {
            "requests": len(ordered),
            "rps": round(len(ordered) / seconds, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2) if ordered else None,
        }
    return kinds


def run(seconds: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="provenance-shape-") as folder,
        replicated(Path(folder)) as (primary, standby),
    ):
        secret = asyncio.run(make_key(primary.url()))
        with pgbouncer(primary.url(), pool_size=8) as bounced, redis_server() as (_, redis_url):
            env = shape_env(bounced, standby, redis_url)
            with served_process(env=env) as (_, first), served_process(env=env) as (_, second):
                load = asyncio.run(mixed_load([first, second], secret, seconds))
                verified = httpx.get(f"{first}/audit/verify", headers=bearer(secret), timeout=120).json()
        query = "SELECT count(*) FROM claims WHERE id = ANY($1::uuid[])"
        stored = asyncio.run(fetchval(primary.url(), query, load.created))
    return {
        "date": f"{datetime.now(UTC):%Y-%m-%d}",
        "machine": machine(),
        "seconds": seconds,
        "shape": "2 API processes, PgBouncer (transaction mode, 8 server connections), a primary, a streaming "
        "replica, Redis",
        "requests": figures(load, seconds),
        "statuses": {str(k): v for k, v in sorted(load.statuses.items())},
        "errors": len(load.failures),
        "written": len(load.created),
        "lost_writes": len(load.created) - stored,
        "stale_reads": load.stale,
        "reads": load.reads,
        "reads_by_replica": load.by_replica,
        "audit_verified": verified.get("ok") is True,
        "audit_entries": verified.get("entries"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--smoke", action="store_true", help="5 s; results to .bench/")
    args = parser.parse_args(argv)
    seconds = 5 if args.smoke else args.seconds
    result = run(seconds)
    print(json.dumps(result, indent=2))
    path = WORK / "smoke-shape.json" if args.smoke else RESULTS / "shape" / f"{result['date']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    broken = result["errors"] or result["lost_writes"] or result["stale_reads"] or not result["audit_verified"]
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
