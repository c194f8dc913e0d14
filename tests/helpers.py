"""The tests' toolbox: plain functions every test module imports from here (fixtures live in conftest).

- databases and apps: ``Server``, ``empty_tables``, ``running``, ``fresh_app``, ``issue_key``, ``make_key``,
  ``bearer``;
- request bodies: ``inline``, ``hop``, ``claim_body``, and the seed story, ``ryder_story``;
- writes through the API: ``create_claim``, ``create_source``, ``relayed_ryder_story``;
- answers: ``assert_problem`` (with ``error_fields``);
- write loads: ``Load`` (concurrent ``POST /claims`` writers and what they met), ``chain_of``;
- served processes: ``free_port``, ``wait_until_ready``, ``served_process``, ``serving``, ``service_env``;
- a Redis of the test's own: ``redis_server``.

Private PostgreSQL clusters (``Postmaster``) are in tests/clusters.py.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from litestar import Litestar
from opentelemetry.sdk.trace import TracerProvider

from service.app import create_app
from service.db import statement_cache_size
from service.domain import keys
from service.settings import Settings

TEST_POOLER = "pgbouncer" if os.environ.get("PROVENANCE_TEST_THROUGH") == "pgbouncer" else "none"
"""What the tests reach their database through (conftest.py): ``pgbouncer`` in transaction mode, or ``none``."""
ADMIN_KEY_NAME = "tests-admin"
"""The key the ``client`` fixture sends: the actor of every write it makes."""
READING_POSTS = {"/extract"}
"""POSTs that store nothing (reading an article's attributions): reads, declared and guarded as such, with
no Idempotency-Key (nothing to replay)."""

PROBLEM = "application/problem+json"

# --- databases and apps ---------------------------------------------------------------------------

TABLES = ", ".join(
    [
        "claim_reviews", "claim_revisions", "claim_relations", "hops", "claims",
        "affiliations", "source_aliases", "source_name_tokens", "token_deletes", "sources", "api_keys", "audit_log",
        "audit_pending", "idempotency_keys",
    ]
)  # fmt: skip


async def empty_tables(conn: asyncpg.Connection) -> None:
    """Truncate every table; audit_log refuses TRUNCATE, so its triggers are off for this (superuser)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(f"TRUNCATE {TABLES}")


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def admin_statement(url: str, statement: str) -> None:
    """Run one statement on its own connection (CREATE and DROP DATABASE cannot run in a transaction)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


class Server:
    """The PostgreSQL server the tests use, able to make throwaway databases."""

    def __init__(self, url: str) -> None:
        self.url = url

    def create_database(self) -> str:
        name = f"provenance_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(admin_statement(self.url, f'CREATE DATABASE "{name}"'))
        return with_database(self.url, name)

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        asyncio.run(admin_statement(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@asynccontextmanager
async def running(application: Litestar) -> AsyncIterator[Litestar]:
    """Run the app's lifespan in a task of its own: anyio wants it entered and left in one task,
    and pytest-asyncio sets a fixture up and tears it down in different ones."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # raises what made the start-up fail
    try:
        yield application
    finally:
        stop.set()
        await task


@asynccontextmanager
async def fresh_app(
    database_url: str, *, tracer_provider: TracerProvider | None = None, **settings: Any
) -> AsyncIterator[Litestar]:
    """A running app on the test database emptied of earlier tests' rows: a pool of 1 to 4 and no
    rate limits (tests make many requests a minute; tests/test_limits.py checks the limits on apps
    of its own), unless ``settings`` say otherwise; traced into ``tracer_provider`` when given."""
    defaults: dict[str, Any] = {
        "pooler": TEST_POOLER,
        "pool_min_size": 1,
        "pool_max_size": 4,
        "read_rate_limit_per_minute": 0,
        "write_rate_limit_per_minute": 0,
    }
    application = create_app(
        Settings(database_url=database_url, **{**defaults, **settings}), tracer_provider=tracer_provider
    )
    async with running(application):
        async with application.state.pool.acquire() as conn:
            await empty_tables(conn)
        yield application


async def issue_key(pool_or_conn: asyncpg.Pool | asyncpg.Connection, name: str, scope: str) -> str:
    """Make an API key straight through the domain and return its secret."""
    if isinstance(pool_or_conn, asyncpg.Pool):
        async with pool_or_conn.acquire() as conn:
            return await issue_key(conn, name, scope)
    _, secret = await keys.create(pool_or_conn, name, scope)
    return secret


async def connect(database_url: str) -> asyncpg.Connection:
    """A plain connection to ``database_url``, with no statement cache when the tests run through PgBouncer."""
    return await asyncpg.connect(database_url, statement_cache_size=statement_cache_size(TEST_POOLER))


async def make_key(database_url: str, scope: str = "admin") -> str:
    """A new API key of ``scope`` on ``database_url``, made on a connection of its own; its secret."""
    conn = await connect(database_url)
    try:
        return await issue_key(conn, f"tests-{uuid.uuid4().hex[:8]}", scope)
    finally:
        await conn.close()


def bearer(secret: str) -> dict[str, str]:
    """The ``Authorization`` header sending ``secret``."""
    return {"Authorization": f"Bearer {secret}"}


# --- request bodies -------------------------------------------------------------------------------


def inline(name: str, kind: str = "person", **fields: Any) -> dict[str, Any]:
    """An inline source for a hop."""
    return {"name": name, "kind": kind, **fields}


def claim_body(text: str, *hops: dict[str, Any], kind: str = "paraphrase", **fields: Any) -> dict[str, Any]:
    """A ``POST /claims`` body."""
    return {"text": text, "kind": kind, "chain": list(hops), **fields}


def hop(source: dict[str, Any] | str | None, cue: str = "said", **fields: Any) -> dict[str, Any]:
    """A hop naming its source inline (a dict) or by id (a string)."""
    if isinstance(source, dict):
        fields["source"] = source
    elif isinstance(source, str):
        fields["source_id"] = source
    return {"cue": cue, **fields}


STORY = "Austin initiated the conversation"
"""What the seed story says: "Hina reports, citing Reuters, that Pentagon spokesman Patrick Ryder told
reporters that Austin initiated the conversation"."""


def ryder_hop(cue: str = "told reporters", *, role: str | None = None, pentagon: bool = False) -> dict[str, Any]:
    """Patrick Ryder's hop, inline; with ``pentagon``, his source is the Pentagon's spokesman."""
    affiliations = {"affiliations": [{"organization": {"name": "Pentagon"}, "role": "spokesman"}]} if pentagon else {}
    fields = {"role": role} if role is not None else {}
    return hop(inline("Patrick Ryder", **affiliations), cue, **fields)


def ryder_story(
    text: str = STORY,
    *,
    outlet: str | None = "Hina",
    wire: str | None = "Reuters",
    wire_cue: str | None = None,
    upstream: str | None = None,
    wire_source: dict[str, Any] | str | None = None,
    ryder_cue: str = "told reporters",
    role: str | None = "spokesman",
    pentagon: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    """The ``POST /claims`` body of the seed story: ``outlet`` (Hina) reports, citing ``wire`` (Reuters),
    what Patrick Ryder told reporters (with ``role``; as the Pentagon's spokesman with ``pentagon``).

    - ``outlet=None``: the wire story alone, Reuters reporting what Ryder told reporters;
    - ``wire=None``: Hina reports Ryder's words itself;
    - ``wire_cue``: the wire's cue, "citing" under an outlet and "reports" alone;
    - ``upstream``: the id of the stored wire story, which Hina's second hop cites in place of the
      wire's and Ryder's hops; that hop names ``wire_source`` (inline or an id), or no source at all;
    - ``fields``: the rest of the body (``kind``, ``appeared_in``, ``stated_at``...).
    """
    hops: list[dict[str, Any]] = []
    if outlet is not None:
        hops.append(hop(inline(outlet, "outlet"), "reports"))
    cue = wire_cue if wire_cue is not None else "citing" if outlet is not None else "reports"
    if upstream is not None:
        hops.append(hop(wire_source, cue, upstream_claim_id=upstream))
        return claim_body(text, *hops, **fields)
    if wire is not None:
        hops.append(hop(wire_source if wire_source is not None else inline(wire, "outlet"), cue))
    hops.append(ryder_hop(ryder_cue, role=role, pentagon=pentagon))
    return claim_body(text, *hops, **fields)


# --- writes through the API -----------------------------------------------------------------------


async def create_claim(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """Create a claim through the API and return it; fails the test on anything but 201."""
    response = await client.post("/claims", json=body)
    assert response.status_code == 201, response.text
    claim: dict[str, Any] = response.json()
    return claim


async def create_source(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """Create a source through the API and return it."""
    response = await client.post("/sources", json=body)
    assert response.status_code == 201, response.text
    source: dict[str, Any] = response.json()
    return source


async def relayed_ryder_story(
    client: httpx.AsyncClient, *, kind: str = "paraphrase", **report_fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The seed story in two claims: the Reuters wire story (Pentagon spokesman Ryder told reporters),
    and Hina's report citing it upstream, with ``report_fields``; returns (Hina's report, the wire story)."""
    wire = await create_claim(client, ryder_story(outlet=None, pentagon=True, kind=kind))
    report = await create_claim(client, ryder_story(upstream=wire["id"], kind=kind, **report_fields))
    return report, wire


# --- answers --------------------------------------------------------------------------------------


def error_fields(problem: dict[str, Any]) -> list[str]:
    """The fields a problem's ``errors`` name, in order."""
    return [error["field"] for error in problem.get("errors") or []]


def assert_problem(
    response: httpx.Response, status: int, *, detail: str | None = None, field: str | None = None
) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem: ``status`` (answered and in the body), ``application/problem+json``,
    a non-empty title and detail (holding ``detail`` when given) and, when ``field`` is given, ``errors``
    naming that one field. Returns the problem's body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM, response.headers["content-type"]
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    if detail is not None:
        assert detail in problem["detail"], problem
    if field is not None:
        assert error_fields(problem) == [field], problem
    return problem


# --- write loads ----------------------------------------------------------------------------------

OUTLETS = ["Reuters", "Hina", "Tanjug", "Agence France-Presse", "Kyodo", "Yonhap"]


def chain_of(writer: int, number: int) -> list[dict[str, Any]]:
    """One to three hops through distinct outlets, varying with the writer and the number."""
    length = 1 + (writer + number) % 3
    return [hop(inline(OUTLETS[(writer + number + i) % len(OUTLETS)], "outlet")) for i in range(length)]


@dataclass
class Load:
    """What a load of concurrent requests met."""

    created: dict[str, int] = field(default_factory=dict)
    """The id of each claim answered 201, with the number of hops it was posted with."""
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    """Requests that got no complete answer, or a 500."""
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def writer(self, client: httpx.AsyncClient, writer: int) -> None:
        """POST /claims until stopped; a 503 is waited out briefly, as a client honouring Retry-After would."""
        for number in itertools.count():
            if self.stop.is_set():
                return
            chain = chain_of(writer, number)
            try:
                response = await client.post("/claims", json=claim_body(f"writer {writer} claim {number}", *chain))
            except httpx.TransportError as exc:
                self.failures.append(f"POST /claims: {exc!r}")
                continue
            self.statuses[response.status_code] += 1
            if response.status_code == 201:
                self.created[response.json()["id"]] = len(chain)
            elif response.status_code == 503:
                assert response.headers["retry-after"]
                await asyncio.sleep(0.05)
            else:
                self.failures.append(f"POST /claims: {response.status_code} {response.text}")

    async def wait_for_answers(self, count: int, within: float) -> None:
        """Until ``count`` more requests got an answer, for at most ``within`` seconds."""
        target = sum(self.statuses.values()) + count
        deadline = time.monotonic() + within
        while sum(self.statuses.values()) < target:
            assert time.monotonic() < deadline, f"the load stalled: {self.statuses}"
            await asyncio.sleep(0.05)

    async def wait_for_created(self, count: int, within: float) -> None:
        """Until ``count`` more claims got a 201, for at most ``within`` seconds."""
        target = len(self.created) + count
        deadline = time.monotonic() + within
        while len(self.created) < target:
            assert time.monotonic() < deadline, f"only {len(self.created)} claims created: {self.statuses}"
            await asyncio.sleep(0.05)


# --- served processes -----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_ready(
    base: str,
    *,
    process: subprocess.Popen[Any] | None = None,
    output: Callable[[], str] = str,
    within: float = 120,
) -> None:
    """Poll ``GET {base}/ready`` until it answers 200; fails the test if ``process`` exits first (showing
    ``output()``, what it printed) or if ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        if process is not None:
            assert process.poll() is None, output()
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.1)  # polling a starting process; bounded by the deadline above


@contextmanager
def served_process(
    *options: str, env: dict[str, str], log: Path | None = None, ready_within: float = 120
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``provenance serve OPTIONS`` on a free port, logging to ``log`` (a temporary file without one),
    once it is ready: the process and its base URL. Stopped on exit if a test left it running (SIGTERM,
    SIGKILL after 30 s)."""
    with tempfile.TemporaryDirectory(prefix="provenance-serve-") as folder:
        log = log or Path(folder) / "serve.log"
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            *options,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        with log.open("wb") as output:
            process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(base, process=process, output=log.read_text, within=ready_within)
            yield process, base
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


@contextmanager
def serving(*options: str, env: dict[str, str], ready_within: float = 120) -> Iterator[str]:
    """``provenance serve OPTIONS`` on a free port until it is ready; its base URL. Stopped on exit."""
    with served_process(*options, env=env, ready_within=ready_within) as (_, base):
        yield base


def service_env(database_url: str, **variables: str) -> dict[str, str]:
    """The environment of a served process on ``database_url``, without rate limits."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "PROVENANCE_POOLER": TEST_POOLER,
        "PROVENANCE_RATE_LIMIT_PER_MINUTE": "0",
        "PROVENANCE_WRITE_RATE_LIMIT_PER_MINUTE": "0",
        **variables,
    }


# --- a Redis of the test's own --------------------------------------------------------------------


@contextmanager
def redis_server(
    *options: str, port: int | None = None, within: float = 10
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``redis-server OPTIONS`` on ``port`` (else a free one) of the loopback, keeping nothing on disk, once
    it takes connections: the process and its URL. Each test gets an empty Redis, so no run counts in
    another's windows. Killed on exit if a test left it running."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed (make test-deps installs it)"
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="provenance-redis-") as folder:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        process = subprocess.Popen(
            [*command, "--dir", folder, *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + within
            while True:
                assert process.poll() is None, "redis-server exited at start"
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "redis-server did not take connections"
                    time.sleep(0.05)  # polling a starting process; bounded by the deadline above
            yield process, f"redis://127.0.0.1:{port}/0"
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
