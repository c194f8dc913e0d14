"""Export of every claim as NDJSON, one ``POST /claims`` body a line with the claim's ``id``: what
``provenance import`` (``service.imports``) reads back.

Each hop names its source inline (aliases, description, identifiers, affiliations by organization
name), so that an empty database rebuilds the sources as it stores the claims. A hop linking an
upstream claim carries ``upstream_claim_id`` and no source: the stored hop takes the upstream
claim's first source, as ``POST /claims`` does. A claim keeps its id on the way back, so every
link to it still holds; claims are written oldest first but never before their upstream claim.

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
from pathlib import Path
from typing import IO

import asyncpg
import msgspec

from service import db
from service.imports.lines import ClaimLine
from service.model import AppearedIn, HopIn
from service.repositories import export as repo


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
