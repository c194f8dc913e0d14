"""Fuzz the served app against its OpenAPI document with Schemathesis: ``make fuzz``.

A throwaway database (on ``DATABASE_URL``'s server, else an embedded PostgreSQL in a temporary
folder) is migrated and seeded, an admin key is made with ``provenance keys create``, and
``provenance serve`` answers on a free port with the rate limits lifted. Schemathesis then runs
every operation, every check and every phase within the time budget (``schemathesis.toml``); its
exit code is this script's. The server and the database are gone afterwards.

Arguments after ``--`` go to ``schemathesis run`` as they are (``--seed 1``, ``--max-time 60``...).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCHEMA = ROOT / "openapi" / "openapi.json"
DICTIONARIES = ROOT / "schemathesis-report" / "dictionaries"
READY_WITHIN = 60.0
"""Seconds the served app has to answer ``/ready``."""

sys.path.insert(0, str(ROOT))  # this file runs as a script: the tests' helpers are found from the repository
from tests.helpers import admin_statement, free_port, wait_until_ready, with_database  # noqa: E402


@contextlib.contextmanager
def server_url() -> Iterator[str]:
    """``DATABASE_URL``, else an embedded PostgreSQL in a temporary folder, stopped afterwards."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    from service.embedded import embedded_url

    with tempfile.TemporaryDirectory(prefix="provenance-fuzz-pg-") as data_dir:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR, as in most containers
            url = embedded_url(data_dir)
        yield url


@contextlib.contextmanager
def throwaway_database(server: str) -> Iterator[str]:
    """A database of its own on ``server``, dropped afterwards: a developer's data is never touched."""
    name = f"provenance_fuzz_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin_statement(server, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(server, name)
    finally:
        asyncio.run(admin_statement(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _stored_ids(database_url: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(database_url)
    try:
        return {
            "claims": [str(r[0]) for r in await conn.fetch("SELECT id FROM claims ORDER BY id")],
            "sources": [str(r[0]) for r in await conn.fetch("SELECT id FROM sources ORDER BY id")],
            "organizations": [
                str(r[0])
                for r in await conn.fetch("SELECT id FROM sources WHERE kind IN ('organization', 'outlet') ORDER BY id")
            ],
        }
    finally:
        await conn.close()


def write_dictionaries(database_url: str) -> None:
    """The seeded ids as fuzz dictionaries (``schemathesis.toml`` binds them): requests that name
    stored claims and sources reach the service's logic instead of its 404s and 422s."""
    DICTIONARIES.mkdir(parents=True, exist_ok=True)
    for name, ids in asyncio.run(_stored_ids(database_url)).items():
        (DICTIONARIES / f"{name}.dict").write_text("".join(f'"{i}"\n' for i in ids), encoding="utf-8")


def provenance(env: dict[str, str], *args: str) -> str:
    """Run the ``provenance`` command and return what it printed."""
    done = subprocess.run([str(BIN / "provenance"), *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"fuzz: provenance {args[0]} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


@contextlib.contextmanager
def served(env: dict[str, str], port: int) -> Iterator[str]:
    """``provenance serve`` on ``port`` as in production; stopped (SIGTERM, then SIGKILL) afterwards."""
    base_url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "provenance"), "serve", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        try:
            wait_until_ready(
                base_url,
                process=process,
                output=lambda: f"the server exited with {process.returncode} before it was ready",
                within=READY_WITHIN,
            )
        except AssertionError as failed:
            sys.exit(f"fuzz: {failed}")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(extra: list[str]) -> int:
    """Set up, fuzz, tear down; Schemathesis's exit code."""
    with server_url() as server, throwaway_database(server) as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            # 0 lifts a limit: the fuzzer sends far more than a client's minute allows.
            "PROVENANCE_RATE_LIMIT_PER_MINUTE": "0",
            "PROVENANCE_WRITE_RATE_LIMIT_PER_MINUTE": "0",
        }
        provenance(env, "migrate")
        provenance(env, "seed")
        write_dictionaries(database_url)
        secret = provenance(env, "keys", "create", "--name", "fuzz", "--scope", "admin").strip().splitlines()[-1]
        with served(env, free_port()) as base_url:
            command = [
                str(BIN / "schemathesis"),
                "--config-file",
                str(ROOT / "schemathesis.toml"),
                "run",
                str(SCHEMA),
                "--url",
                base_url,
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {secret}",
                *extra,
            ]
            return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    arguments = sys.argv[1:]
    sys.exit(main(arguments[1:] if arguments[:1] == ["--"] else arguments))
