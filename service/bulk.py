"""Bulk import and export of claims as NDJSON: one claim a line, in the shape of ``POST /claims``.

A line is a ``ClaimIn`` with one optional field more, ``id``. Export writes every claim, oldest
first, with its ``id``, and each hop naming its source inline (aliases, description, identifiers,
affiliations by organization name), so that an empty database rebuilds the sources as it stores
the claims. A hop linking an upstream claim carries ``upstream_claim_id`` and no source: the stored
hop takes the upstream claim's first source, as ``POST /claims`` does.

Import (``service.domain.imports``) stores the lines in batches, each line reported by its number
when it fails, and keeps a line's ``id``. So upstream links need no rewriting: a claim comes back
under the id it had, and every link to it, from later lines or from outside, still holds. Export
writes the oldest first but never a claim before its upstream claim (a chain edit may link an
older claim to a newer one), so each link names a claim already imported. A line whose ``id`` is
already stored is skipped, so an interrupted import can simply be run again; a line without ``id``
(a plain ``POST /claims`` body) gets a new one. A line fails when it is not JSON, breaks the schema,
or is refused by the domain (an ambiguous inline source, an upstream id that names no stored
claim); the others are stored all the same.

Export then import into an empty database gives the same traces. Not carried, because a claim
line has no place for them: relations, reviews and revisions; retraction (a retracted claim comes
back active); sources that no hop names; and the aliases and details of an organization named only
in affiliations (it comes back with its name and kind). Sources are found by name as for an inline
source, so two stored sources with the same name and kind come back as one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import asyncpg
import msgspec
from tqdm import tqdm  # type: ignore[import-untyped]

from service import db
from service.domain.imports import BATCH_LINES, ClaimLine, ImportReport, LineFailure, import_lines, message
from service.model import AppearedIn, HopIn
from service.repositories import bulk as repo

__all__ = ["BATCH_LINES", "ClaimLine", "ImportReport", "claim_line", "export_claims", "run_export", "run_import"]

IMPORT_ACTOR = "import"
"""The actor the audit log and revisions record for ``provenance import``."""


# --- import --------------------------------------------------------------------------------------


_BLANK_LINE = re.compile(rb"\n(?=[ \t\r\v\f]*\n)")  # a line's end, the next line blank
_CHUNK = 1 << 20


def _count_claim_lines(path: Path) -> int:
    """The lines that are not blank (as ``bytes.strip`` sees them), counted a megabyte at a time."""
    count, rest = 0, b""
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            complete, newline, rest = (rest + chunk).rpartition(b"\n")
            lines = b"\n" + complete + newline  # each whole line after a line end
            count += lines.count(b"\n") - 1 - len(_BLANK_LINE.findall(lines))
    return count + (1 if rest.strip() else 0)


def _lines_of(file: str) -> Iterator[bytes]:
    if file == "-":
        yield from sys.stdin.buffer
        return
    with open(file, "rb", buffering=1 << 20) as lines:
        yield from lines


async def _import(database_url: str, file: str, batch_lines: int) -> ImportReport:
    total = None if file == "-" else _count_claim_lines(Path(file))
    conn = await db.connect(database_url)
    reader = await db.connect(database_url)  # reads ahead for the next batch while one is written
    try:
        with tqdm(total=total, unit="claim", file=sys.stderr) as bar:

            def on_failure(failure: LineFailure) -> None:
                bar.write(f"line {failure.number}: {message(failure.problem)}", file=sys.stderr)

            return await import_lines(
                conn,
                _lines_of(file),
                actor=IMPORT_ACTOR,
                on_failure=on_failure,
                on_lines=bar.update,
                batch_lines=batch_lines,
                reader=reader,
                load=True,
            )
    finally:
        await reader.close()
        await conn.close()


@contextlib.contextmanager
def _no_cyclic_collection() -> Iterator[None]:
    """No cyclic garbage collection while importing: a batch makes a million objects, none of them
    cyclic (reference counting frees them), and walking them took a quarter of the importer's time
    even at raised thresholds (100,000 claims: 9.3 s of Python, 6.9 s without; the same peak memory)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def run_import(database_url: str, file: str, batch_lines: int = BATCH_LINES) -> ImportReport:
    """Import the NDJSON claims of ``file`` (``-`` for stdin) with a progress bar on stderr."""
    with _no_cyclic_collection():
        return asyncio.run(_import(database_url, file, batch_lines))


# --- export --------------------------------------------------------------------------------------


def claim_line(record: asyncpg.Record) -> ClaimLine:
    """An exported claim as a line that import (and ``POST /claims``, without ``id``) accepts."""
    return ClaimLine(
        id=str(record["id"]),
        text=record["text"],
        kind=record["kind"],
        language=record["language"],
        appeared_in=AppearedIn(
            url=record["url"],
            title=record["title"],
            author=record["author"],
            outlet=record["outlet"],
            published_at=record["published_at"],
        ),
        stated_at=record["stated_at"],
        chain=msgspec.convert(record["chain"], list[HopIn], strict=False),
    )


async def export_claims(conn: asyncpg.Connection, out: IO[bytes]) -> int:
    """Write every claim as one line, upstream claims first, from one snapshot; returns how many."""
    count = 0
    encoder = msgspec.json.Encoder()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        async for record in repo.claims_for_export(conn):
            out.write(encoder.encode(claim_line(record)) + b"\n")
            count += 1
    return count


async def _export(database_url: str, out: IO[bytes]) -> int:
    conn = await db.connect(database_url)
    try:
        return await export_claims(conn, out)
    finally:
        await conn.close()


def run_export(database_url: str, output: str | None) -> int:
    """Export every claim to ``output`` (stdout when ``None``); returns how many.

    A file is written under a temporary name and renamed when complete, so a failed export never
    leaves a truncated file behind under the name asked for.
    """
    if output is None:
        count = asyncio.run(_export(database_url, sys.stdout.buffer))
        sys.stdout.buffer.flush()
        return count
    target = Path(output)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("wb") as out:
            count = asyncio.run(_export(database_url, out))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return count
