"""The benchmark's databases and the ``provenance`` command run on them: the server
(``DATABASE_URL``, else the embedded one under ``.bench/pgdata``), each database dropped and made
afresh or kept, migrated, and loaded with a generated corpus through ``provenance import``, whose
seconds, in all and by phase, the results record.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.paths import BIN, ROOT, WORK


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def server_url() -> str:
    """``DATABASE_URL``, else the embedded server under ``.bench/pgdata`` (started on demand)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from service.embedded import embedded_url

    return embedded_url(WORK / "pgdata")


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create database ``name``; its URL."""
    asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'))
    return with_database(admin_url, name)


async def database_exists(url: str, name: str) -> bool:
    """Whether the server at ``url`` holds a database ``name``."""
    conn = await asyncpg.connect(url)
    try:
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name))
    finally:
        await conn.close()


def provenance(url: str, *args: str) -> str:
    """Run ``provenance ARGS`` on the database at ``url``; its standard output."""
    return _provenance(url, *args).stdout


def _provenance(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run([str(BIN / "provenance"), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"provenance {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


_LOAD_PHASES = re.compile(r"^as an initial load: (.*)$", re.MULTILINE)
_PHASE = re.compile(r"([a-z][a-z ]*) (\d+\.\d) s")


def load_phases(stderr: str) -> dict[str, float]:
    """The seconds of each phase ``provenance import`` reports for an initial load (none otherwise)."""
    found = _LOAD_PHASES.search(stderr)
    return {name: float(seconds) for name, seconds in _PHASE.findall(found.group(1))} if found else {}


def load_corpus(url: str, claims: int, seed: int, corpus: Path | None) -> tuple[float, dict[str, float]]:
    """Generate (unless given) and import the corpus; seconds the import took, and those of its phases."""
    if corpus is None:
        corpus = WORK / f"corpus-{claims}-{seed}.ndjson"
        if not corpus.exists():
            print(f"  generating {claims:,} claims", flush=True)
            partial = corpus.with_suffix(".partial")
            command = [sys.executable, "-m", "bench.corpus", "--claims", str(claims), "--seed", str(seed)]
            subprocess.run([*command, "--output", str(partial)], check=True, cwd=ROOT)
            partial.rename(corpus)
    print(f"  importing {corpus.name}", flush=True)
    started = time.monotonic()
    done = _provenance(url, "import", str(corpus))
    return time.monotonic() - started, load_phases(done.stderr)


# Each table of the service with its TOAST and indexes, as PostgreSQL stores it (not the benchmark's
# own bench_ids, nor alembic's version).
TABLE_BYTES = """
SELECT c.relname, pg_total_relation_size(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT IN ('alembic_version', 'bench_ids')
 ORDER BY 2 DESC
"""


async def _disk(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {name: size for name, size in await conn.fetch(TABLE_BYTES)}
    finally:
        await conn.close()


def disk(url: str) -> dict[str, int]:
    """Bytes on disk of each table of the schema, its TOAST and indexes included, largest first."""
    return asyncio.run(_disk(url))
