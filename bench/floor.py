"""What PostgreSQL alone takes to store claims whose sources and hops are already resolved: the floor
under ``provenance import``, whatever the import does in Python.

    python -m bench.floor --size 100k      # after a benchmark run made provenance_bench_100k

``python -m bench.run`` measures it too, at its largest size right after the import, and sets the
import's rate beside the restore floor's.

It reads the claims, hops, first revisions and (as their audit entries) the revisions' bytes of a
benchmark database with binary COPY, then stores them again into fresh databases two ways, timing
only the storing, in one transaction each:

- **live**: into the migrated schema with its keys, indexes, foreign keys and triggers in place (the
  chain check set to its batch mode, as the import sets it), which is what the import does;
- **restore**: as pg_restore does, the rows into tables stripped of their keys, indexes and foreign
  keys, which are then built over them (``maintenance_work_mem`` 512 MB).

Both databases are dropped afterwards. The figures go to ``.bench/floor-<size>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import time
from typing import Any

import asyncpg

from bench.databases import provenance, server_url, with_database
from bench.paths import WORK
from service.imports import store as imports_repo
from service.repositories import audit as audit_repo

# What is copied: each table with the columns the import itself writes with COPY (the rest left to
# the database's defaults and generated columns, as for the import: the search vector, seq...).
COLUMNS = {
    "sources": imports_repo.SOURCE_COLUMNS,
    "claims": imports_repo.CLAIM_COLUMNS,
    "hops": imports_repo.HOP_COLUMNS,
    "claim_revisions": imports_repo.REVISION_COLUMNS,
}
AUDIT = audit_repo.PENDING_COLUMNS
# A claim's entry names its first revision and holds no bytes of its own, as the import writes it.
AUDIT_ROWS = """
SELECT actor, 'create', 'claim', claim_id, NULL::bytea, number FROM claim_revisions WHERE number = 1
"""
TIMED = ("claims", "hops", "claim_revisions")
"""The tables whose storing is timed (sources are stored first, untimed: the claims refer to them)."""

# The keys, uniques and foreign keys of the timed tables and of those referring to claims, and the
# other indexes of the timed tables: what "restore" drops before and builds after.
CONSTRAINTS = """
SELECT conrelid::regclass::text AS tbl, conname AS name, pg_get_constraintdef(oid) AS def, contype::text AS kind
  FROM pg_constraint
 WHERE contype IN ('p', 'u', 'f')
   AND (conrelid::regclass::text = ANY ($1) OR (contype = 'f' AND confrelid::regclass::text = ANY ($1)))
"""
INDEXES = """
SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def
  FROM pg_index
 WHERE indrelid::regclass::text = ANY ($1) AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)
"""


async def dump(url: str) -> tuple[int, dict[str, bytes]]:
    """The number of claims and, per table, its rows in COPY's binary format."""
    conn = await asyncpg.connect(url)
    try:
        data = {}
        for table, columns in COLUMNS.items():
            out = io.BytesIO()
            where = " WHERE number = 1" if table == "claim_revisions" else ""
            await conn.copy_from_query(f"SELECT {', '.join(columns)} FROM {table}{where}", output=out, format="binary")
            data[table] = out.getvalue()
        out = io.BytesIO()
        await conn.copy_from_query(AUDIT_ROWS, output=out, format="binary")
        data["audit_pending"] = out.getvalue()
        return int(await conn.fetchval("SELECT count(*) FROM claims")), data
    finally:
        await conn.close()


async def fresh(admin_url: str, name: str) -> str:
    """A new, migrated database ``name``; its URL."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(admin_url, name)
    await asyncio.to_thread(provenance, url, "migrate")
    return url


async def drop(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def copy(conn: asyncpg.Connection, table: str, data: dict[str, bytes]) -> None:
    columns = AUDIT if table == "audit_pending" else COLUMNS[table]
    await conn.copy_to_table(table, source=io.BytesIO(data[table]), columns=columns, format="binary")


async def store(url: str, data: dict[str, bytes], *, restore: bool) -> dict[str, float]:
    """Store the timed rows and their audit entries; seconds for the rows, and for building after."""
    conn = await asyncpg.connect(url)
    try:
        await copy(conn, "sources", data)
        tables = list(TIMED)
        constraints = await conn.fetch(CONSTRAINTS, tables) if restore else []
        indexes = await conn.fetch(INDEXES, tables) if restore else []
        async with conn.transaction():
            await conn.execute("SET LOCAL provenance.chain_check = 'batch'")
            for c in sorted(constraints, key=lambda c: c["kind"] != "f"):  # foreign keys first
                await conn.execute(f'ALTER TABLE {c["tbl"]} DROP CONSTRAINT "{c["name"]}"')
            for i in indexes:
                await conn.execute(f'DROP INDEX "{i["name"]}"')
            started = time.perf_counter()
            for table in (*TIMED, "audit_pending"):
                await copy(conn, table, data)
            rows = time.perf_counter() - started
            await conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for c in sorted(constraints, key=lambda c: c["kind"] == "f"):  # keys first
                await conn.execute(f'ALTER TABLE {c["tbl"]} ADD CONSTRAINT "{c["name"]}" {c["def"]}')
            for i in indexes:
                await conn.execute(i["def"])
            built = time.perf_counter() - started - rows
        return {"rows_seconds": round(rows, 2), "build_seconds": round(built, 2)}
    finally:
        await conn.close()


async def measure(admin_url: str, url: str) -> dict[str, Any]:
    """Both floors under the claims of the database at ``url``, stored into fresh databases on ``admin_url``'s
    server."""
    claims, data = await dump(url)
    result: dict[str, Any] = {
        "claims": claims,
        "mb": {t: round(len(b) / 2**20, 1) for t, b in data.items()},
    }
    for way in ("live", "restore"):
        name = f"provenance_floor_{way}"
        url = await fresh(admin_url, name)
        try:
            timing = await store(url, data, restore=way == "restore")
        finally:
            await drop(admin_url, name)
        seconds = timing["rows_seconds"] + timing["build_seconds"]
        result[way] = {
            **timing,
            "claims_per_second": round(claims / seconds),
            "us_per_claim": round(seconds / claims * 1e6),
        }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.floor", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--size", default="100k", help="the benchmark database to read: provenance_bench_<size>")
    args = parser.parse_args(argv)
    admin_url = server_url()
    result = {
        "size": args.size,
        **asyncio.run(measure(admin_url, with_database(admin_url, f"provenance_bench_{args.size}"))),
    }
    WORK.mkdir(exist_ok=True)
    (WORK / f"floor-{args.size}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
