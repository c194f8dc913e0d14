"""The one-row read driven in the app's own process: what a request costs the app, without a server.

    python -m bench.inprocess [--claims 1000000] [--requests 20000] [--concurrency 32] [--bare] [--paths trace]

On a database and request list that ``python -m bench.run`` left (``provenance_bench_<size>`` and
``.bench/requests-<size>/status.txt``), it sends ``GET /claims/{id}/status`` (or ``--paths``' file's
requests, such as ``trace``; with ``--paths create``, scenario (f)'s ``POST /claims`` bodies, with a
write key it makes) straight to the ASGI app
(the service as ``provenance serve`` builds it, its log lines written to ``/dev/null``; or, with
``--bare``, scenario (a0)'s app), ``--concurrency`` at a time, and prints requests a second and the
process's CPU time per request. No sockets, no server, no load generator: run it pinned
(``taskset -c 0``) and compare CPU per request, which other jobs on the machine disturb less than
wrk's requests a second. It times code against code on one machine, never a target.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
from typing import Any

import uvloop

from bench import report
from bench.databases import server_url, with_database
from bench.paths import WORK


def app_of(bare: bool) -> Any:
    """The app to drive: the served service, its log lines to /dev/null, or the bare app."""
    os.environ.setdefault("PROVENANCE_RATE_LIMIT_PER_MINUTE", "1000000000")  # as bench.run serves it
    os.environ.setdefault("PROVENANCE_WRITE_RATE_LIMIT_PER_MINUTE", "1000000000")
    if bare:
        from bench.bare import create_app

        return create_app()
    from service.app import served_app

    app = served_app()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (the process's for its whole life)
    return app


CREATE = "create"
"""The request file of (f): ``POST /claims`` bodies, one a line, rather than paths."""


async def one(app: Any, target: str, token: str | None = None) -> None:
    """One request: ``GET`` of a path, or with ``token``, ``POST /claims`` of a body."""
    body = b""
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), (b"accept", b"*/*")]
    if token is not None:
        body, target = target.encode(), "/claims"
        headers += [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json")]
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET" if token is None else "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    received = False
    statuses = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    if statuses != [200 if token is None else 201]:
        raise RuntimeError(f"{target}: answered {statuses}")


async def write_key() -> str:
    """The secret of a new write key in the benchmark's database."""
    from service import db
    from service.domain import audit, keys

    conn = await db.connect(os.environ["DATABASE_URL"])
    try:
        _, secret = await keys.create(conn, f"inprocess-{os.getpid()}-{time.time_ns()}", "write")
        await audit.seal(conn)
    finally:
        await conn.close()
    return secret


async def drive(app: Any, paths: list[str], requests: int, concurrency: int, writes: bool) -> tuple[float, float]:
    """Requests a second and CPU seconds a request, after a warm-up of the same size."""
    token = await write_key() if writes else None
    async with app.lifespan():
        sent = 0

        async def run() -> None:
            nonlocal sent
            numbers = iter(range(sent, sent + requests))
            sent += requests  # the timed run sends the bodies after the warm-up's, as (f) goes on through its file

            async def worker() -> None:
                for n in numbers:
                    await one(app, paths[n % len(paths)], token)

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        await run()
        wall, cpu = time.perf_counter(), time.process_time()
        await run()
        return requests / (time.perf_counter() - wall), (time.process_time() - cpu) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000, help="the corpus size bench.run loaded")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--bare", action="store_true", help="drive scenario (a0)'s app instead")
    parser.add_argument(
        "--paths", default="status", help="the request file bench.run left: status (the one-row read), trace, ..."
    )
    args = parser.parse_args()
    label = report.size_label(args.claims)
    os.environ["DATABASE_URL"] = with_database(server_url(), f"provenance_bench_{label}")
    lines = (WORK / f"requests-{label}" / f"{args.paths}.txt").read_text()
    writes = args.paths == CREATE
    paths = lines.splitlines() if writes else lines.split()
    app = app_of(args.bare)
    per_second, cpu = uvloop.run(drive(app, paths, args.requests, args.concurrency, writes))
    print(f"{'bare' if args.bare else 'service'}: {per_second:,.0f} requests/s, {cpu * 1e6:.1f} us of CPU a request")


if __name__ == "__main__":
    main()
