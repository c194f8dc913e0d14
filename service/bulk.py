"""Bulk import and export of claims as NDJSON: one claim a line, in the shape of ``POST /claims``.

A line is a ``ClaimIn`` with one optional field more, ``id``. Export writes every claim, oldest
first, with its ``id``, and each hop naming its source inline (aliases, description, identifiers,
affiliations by organization name), so that an empty database rebuilds the sources as it stores
the claims. A hop linking an upstream claim carries ``upstream_claim_id`` and no source: the stored
hop takes the upstream claim's first source, as ``POST /claims`` does.

Import stores each line in a transaction of its own, so one bad line undoes nothing else, and
keeps a line's ``id``. So upstream links need no rewriting: a claim comes back under the id it had,
and every link to it, from later lines or from outside, still holds. Export writes the oldest
first but never a claim before its upstream claim (a chain edit may link an older claim to a newer
one), so each link names a claim already imported. A line whose ``id`` is already stored is
skipped, so an interrupted import can simply be run again; a line without ``id`` (a plain
``POST /claims`` body) gets a new one. A line fails, reported by its number, when it is not JSON,
breaks the schema, or is refused by the domain (an ambiguous inline source, an upstream id that
names no stored claim); the others are stored all the same.

Export then import into an empty database gives the same traces. Not carried, because a claim
line has no place for them: relations, reviews and revisions; retraction (a retracted claim comes
back active); sources that no hop names; and the aliases and details of an organization named only
in affiliations (it comes back with its name and kind). Sources are found by name as for an inline
source, so two stored sources with the same name and kind come back as one.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

import asyncpg
import msgspec
from tqdm import tqdm  # type: ignore[import-untyped]

from service import db
from service.domain import claims as claims_domain
from service.domain.ids import field_id
from service.errors import ProvenanceError
from service.model import AppearedIn, ClaimIn, HopIn, Id
from service.repositories import bulk as repo
from service.repositories import claims as claims_repo


class ClaimLine(ClaimIn):
    """One NDJSON line: a ``POST /claims`` body, with the claim's ``id`` when it comes from an export."""

    id: Id | None = None


class ImportReport(msgspec.Struct):
    """What one import did."""

    imported: int = 0
    already_stored: int = 0
    failed: int = 0


class LineRefused(Exception):
    """A line that cannot be stored; the message says why."""


# --- import --------------------------------------------------------------------------------------


def _domain_message(exc: ProvenanceError) -> str:
    parts = [f"{e['field']}: {e['message']}" for e in exc.errors if f"{e['field']}: {e['message']}" != exc.detail]
    candidates = exc.extra.get("candidates") or []
    parts += [f"candidate {c['name']} ({c['kind']}, {c['id']})" for c in candidates]
    return f"{exc.detail} ({'; '.join(parts)})" if parts else exc.detail


async def import_line(conn: asyncpg.Connection, line: bytes) -> bool:
    """Store one line in its own transaction: True if stored, False if its ``id`` already was."""
    try:
        claim = msgspec.json.decode(line, type=ClaimLine)
        claim_id = field_id(claim.id, "id") if claim.id is not None else None
        if claim_id is not None and await claims_repo.exists(conn, claim_id):
            return False
        await claims_domain.create(conn, claim, id=claim_id, actor="import")
    except msgspec.ValidationError as exc:
        raise LineRefused(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise LineRefused(f"invalid JSON: {exc}") from None
    except ProvenanceError as exc:
        raise LineRefused(_domain_message(exc)) from None
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "claims_pkey":  # stored meanwhile by another import of the same line
            return False
        raise LineRefused(f"conflicts with stored data: {exc}") from None
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise LineRefused(f"breaks a rule of the stored data: {exc}") from None
    except asyncpg.DataError as exc:
        raise LineRefused(f"a value cannot be stored: {exc}") from None
    return True


async def import_lines(
    conn: asyncpg.Connection,
    lines: Iterable[bytes],
    on_failure: Callable[[int, str], None],
    on_line: Callable[[], None] = lambda: None,
) -> ImportReport:
    """Store every non-blank line; ``on_failure(number, message)`` hears of each that fails."""
    report = ImportReport()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            if await import_line(conn, line):
                report.imported += 1
            else:
                report.already_stored += 1
        except LineRefused as exc:
            report.failed += 1
            on_failure(number, str(exc))
        on_line()
    return report


def _count_claim_lines(path: Path) -> int:
    with path.open("rb") as file:
        return sum(1 for line in file if line.strip())


def _lines_of(file: str) -> Iterator[bytes]:
    if file == "-":
        yield from sys.stdin.buffer
        return
    with open(file, "rb") as lines:
        yield from lines


async def _import(database_url: str, file: str) -> ImportReport:
    total = None if file == "-" else _count_claim_lines(Path(file))
    conn = await db.connect(database_url)
    try:
        with tqdm(total=total, unit="claim", file=sys.stderr) as bar:

            def on_failure(number: int, message: str) -> None:
                bar.write(f"line {number}: {message}", file=sys.stderr)

            return await import_lines(conn, _lines_of(file), on_failure, lambda: bar.update())
    finally:
        await conn.close()


def run_import(database_url: str, file: str) -> ImportReport:
    """Import the NDJSON claims of ``file`` (``-`` for stdin) with a progress bar on stderr."""
    return asyncio.run(_import(database_url, file))


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
