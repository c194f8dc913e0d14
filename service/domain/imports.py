"""Bulk import of claims, one ``POST /claims`` body a line, stored in batches and reported line by line.

A line is a ``ClaimIn`` with one optional field more, ``id``, which the claim keeps (so upstream
links from later lines, or from outside, still hold); a line whose ``id`` is already stored, or
came earlier in the same import, is counted as already stored and skipped, so an interrupted import
can simply be run again. A line without ``id`` gets a new one.

**Per line, in batches.** Each line is stored, or refused with the problem ``POST /claims`` would
have answered (its status, detail, offending fields, candidates), and a refused line stores nothing;
the other lines are stored all the same. Lines are taken in batches (10,000 by default), each in
one transaction: the batch reads what it needs of the stored data in a few set-based queries,
resolves its lines in file order by the rules of ``POST /claims`` (``service.domain.batch``), then
writes the new sources, the claims, their hops and first revisions with COPY, checks every chain
in one pass, and appends one audit entry per claim, hash-chained in order. The database is left as
if each line had been POSTed in turn: the same sources (with their aliases, name index and
affiliations), claims, search vectors, revisions and audit entries; only the write times are the
batch's. A batch commits whole or not at all: should the database refuse it for a reason the rules
did not foresee, its lines are stored again one at a time, each in its own transaction as
``POST /claims`` stores them, which names the line at fault. A line holding a NUL character (which
PostgreSQL cannot store) takes that path too, so that it gets the database's own answer.

While a batch runs it holds the lock under which inline sources are created, so requests naming
inline sources wait for it (a batch takes about a second), and the audit log's lock from its last
write to its commit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import msgspec

from service.db import RETRYABLE
from service.domain import audit
from service.domain import claims as claims_domain
from service.domain.batch import Batch, wanted
from service.domain.ids import field_id
from service.errors import ProvenanceError, problem_document
from service.model import ClaimIn, Id
from service.repositories import claims as claims_repo
from service.repositories import imports as repo
from service.repositories import sources as sources_repo

log = logging.getLogger(__name__)

BATCH_LINES = 10_000
ATTEMPTS = 3
_PATH = re.compile(r"`\$\.(.+)`$")


class ClaimLine(ClaimIn):
    """One NDJSON line: a ``POST /claims`` body, with the claim's ``id`` when it comes from an export."""

    id: Id | None = None


class LineFailure(NamedTuple):
    """A line that was not stored: its number (from 1, blank lines counted) and the problem it met."""

    number: int
    problem: dict[str, Any]


class ImportReport(msgspec.Struct):
    """What one import did."""

    imported: int = 0
    already_stored: int = 0
    failed: int = 0


class ParsedLine(NamedTuple):
    """A line that parsed: its number, its claim and the id it keeps (None: a new one)."""

    number: int
    claim: ClaimLine
    claim_id: UUID | None
    raw: bytes


_decoder = msgspec.json.Decoder(ClaimLine)


def _schema_problem(exc: msgspec.ValidationError) -> dict[str, Any]:
    """The 422 that ``POST /claims`` answers a body breaking the schema with, the detail saying where."""
    message = str(exc)
    path = _PATH.search(message)
    field = path.group(1) if path else "body"
    return {
        "status": 422,
        "title": "Unprocessable Entity",
        "detail": message,
        "errors": [{"field": field, "message": message.split(" - ", maxsplit=1)[0]}],
    }


def parse(number: int, raw: bytes) -> ParsedLine | LineFailure:
    """A line decoded and checked against the schema of ``POST /claims``, or the problem it has."""
    try:
        claim = _decoder.decode(raw)
        claim_id = field_id(claim.id, "id") if claim.id is not None else None
    except msgspec.ValidationError as exc:
        return LineFailure(number, _schema_problem(exc))
    except msgspec.DecodeError as exc:
        return LineFailure(number, {"status": 400, "title": "Bad Request", "detail": f"invalid JSON: {exc}"})
    except ProvenanceError as exc:
        return LineFailure(number, problem_document(exc))
    return ParsedLine(number, claim, claim_id, raw)


def message(problem: dict[str, Any]) -> str:
    """A problem in one line of text: its detail, then the offending fields and candidates it adds."""
    detail: str = problem["detail"]
    parts = [
        f"{e['field']}: {e['message']}"
        for e in problem.get("errors") or []
        if e["message"] not in detail and f"{e['field']}: {e['message']}" != detail
    ]
    parts += [f"candidate {c['name']} ({c['kind']}, {c['id']})" for c in problem.get("candidates") or []]
    return f"{detail} ({'; '.join(parts)})" if parts else detail


class Importer:
    """Takes lines one by one and stores them in batches; hears of each failure and of progress."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        *,
        actor: str | None,
        on_failure: Callable[[LineFailure], None],
        on_lines: Callable[[int], None] = lambda count: None,
        batch_lines: int = BATCH_LINES,
        max_line_bytes: int | None = None,
    ) -> None:
        self.conn = conn
        self.max_line_bytes = max_line_bytes
        self.actor = actor
        self.on_failure = on_failure
        self.on_lines = on_lines
        self.batch_lines = batch_lines
        self.report = ImportReport()
        self.refused_batches = 0
        """Batches the database refused whole, whose lines were then stored one at a time."""
        self._pending: list[ParsedLine | LineFailure] = []

    async def add(self, number: int, raw: bytes) -> None:
        """Take line ``number``; blank lines are skipped."""
        if not raw.strip():
            return
        parsed: ParsedLine | LineFailure
        if self.max_line_bytes is not None and len(raw) > self.max_line_bytes:
            detail = f"the line is longer than {self.max_line_bytes:,} bytes, the largest body POST /claims takes"
            parsed = LineFailure(number, {"status": 413, "title": "Request Entity Too Large", "detail": detail})
        else:
            parsed = parse(number, raw)
        if isinstance(parsed, ParsedLine) and b"\\u0000" in raw:
            # PostgreSQL stores no NUL: the line goes the way of POST /claims to get the same answer.
            await self.flush()
            await self._store_one(parsed)
            self.on_lines(1)
            return
        self._pending.append(parsed)
        if len(self._pending) >= self.batch_lines:
            await self.flush()

    async def flush(self) -> None:
        """Store the lines taken so far, and report on each in order."""
        taken, self._pending = self._pending, []
        lines = [line for line in taken if isinstance(line, ParsedLine)]
        outcomes = await self._batch_outcomes(lines) if lines else []
        if outcomes is None:
            # Refused whole for a reason the rules did not foresee: each line on its own names the culprit.
            for line in taken:
                if isinstance(line, ParsedLine):
                    await self._store_one(line)
                else:
                    self._fail(line)
        else:
            stored = iter(outcomes)
            for line in taken:
                self._count(next(stored) if isinstance(line, ParsedLine) else line)
        self.on_lines(len(taken))

    async def finish(self) -> ImportReport:
        """Store what is left and say what the import did."""
        await self.flush()
        return self.report

    async def _batch_outcomes(self, lines: list[ParsedLine]) -> list[bool | LineFailure] | None:
        """The outcome of each line of a batch stored whole, again after a deadlock or serialization
        failure; None if the database refused it."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await self._store_batch(lines)
            except RETRYABLE as exc:
                if attempt == ATTEMPTS:
                    self._refused(lines, exc)
                    return None
            except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
                self._refused(lines, exc)
                return None
        return None

    def _refused(self, lines: list[ParsedLine], exc: Exception) -> None:
        self.refused_batches += 1
        log.warning(
            "the batch of lines %d to %d was refused (%r); its lines are stored one at a time",
            lines[0].number,
            lines[-1].number,
            exc,
        )

    async def _store_batch(self, lines: list[ParsedLine]) -> list[bool | LineFailure]:
        """Store a batch in one transaction: per line, True (stored), False (already stored) or its failure."""
        conn = self.conn
        async with conn.transaction():
            await repo.check_chains_by_batch(conn)
            await claims_repo.lock_chains(conn, shared=True)
            await sources_repo.lock_source_creation(conn, shared=False)
            keys, source_ids, upstream_ids, wikidata = wanted([line.claim for line in lines])
            facts = await repo.stored_facts(
                conn,
                claim_ids=[line.claim_id for line in lines if line.claim_id is not None],
                keys=sorted(keys),
                source_ids=list(source_ids),
                upstream_ids=list(upstream_ids),
                wikidata=sorted(wikidata),
            )
            batch = Batch(facts)
            outcomes: list[bool | LineFailure] = []
            for line in lines:
                try:
                    outcomes.append(batch.add(line.claim, line.claim_id))
                except ProvenanceError as exc:
                    outcomes.append(LineFailure(line.number, problem_document(exc)))
            await repo.insert_sources(conn, batch.sources)
            await repo.insert_claims(conn, batch.claims, self.actor)
            changes = [(claim.id, claim.snapshot) for claim in batch.claims]
            await audit.append_many(conn, actor=self.actor, action="create", entity_type="claim", changes=changes)
        return outcomes

    async def _store_one(self, line: ParsedLine) -> None:
        """Store one line in its own transaction, as ``POST /claims`` stores a claim."""
        try:
            if line.claim_id is not None and await claims_repo.exists(self.conn, line.claim_id):
                self._count(False)
                return
            await claims_domain.create(self.conn, line.claim, id=line.claim_id, actor=self.actor)
        except (ProvenanceError, asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
            if isinstance(exc, asyncpg.UniqueViolationError) and exc.constraint_name == "claims_pkey":
                self._count(False)  # stored meanwhile by another import of the same line
                return
            self._fail(LineFailure(line.number, problem_document(exc)))
            return
        self._count(True)

    def _count(self, outcome: bool | LineFailure) -> None:
        if isinstance(outcome, LineFailure):
            self._fail(outcome)
        elif outcome:
            self.report.imported += 1
        else:
            self.report.already_stored += 1

    def _fail(self, failure: LineFailure) -> None:
        self.report.failed += 1
        self.on_failure(failure)


async def import_lines(
    conn: asyncpg.Connection,
    lines: Iterable[bytes] | AsyncIterable[bytes],
    *,
    actor: str | None,
    on_failure: Callable[[LineFailure], None],
    on_lines: Callable[[int], None] = lambda count: None,
    batch_lines: int = BATCH_LINES,
    max_line_bytes: int | None = None,
) -> ImportReport:
    """Store every non-blank line; ``on_failure`` hears of each line that fails, ``on_lines`` of progress."""
    importer = Importer(
        conn,
        actor=actor,
        on_failure=on_failure,
        on_lines=on_lines,
        batch_lines=batch_lines,
        max_line_bytes=max_line_bytes,
    )
    number = 0
    if isinstance(lines, AsyncIterable):
        async for raw in lines:
            number += 1
            await importer.add(number, raw)
    else:
        for raw in lines:
            number += 1
            await importer.add(number, raw)
    return await importer.finish()


async def split_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The lines of a body that arrives in chunks (the last one may lack its newline)."""
    rest = b""
    async for chunk in chunks:
        if not chunk:
            continue
        rest += chunk
        *complete, rest = rest.split(b"\n")
        for line in complete:
            yield line
    if rest:
        yield rest
