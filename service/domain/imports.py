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
in one pass, and records one audit entry per claim, in order (sealed into the chain after the
batch commits, as every write's entry is). The database is left as
if each line had been POSTed in turn: the same sources (with their aliases, name index and
affiliations), claims, search vectors, revisions and audit entries; only the write times are the
batch's. A batch commits whole or not at all: should the database refuse it for a reason the rules
did not foresee, its lines are stored again one at a time, each in its own transaction as
``POST /claims`` stores them, which names the line at fault. A line holding a NUL character (which
PostgreSQL cannot store) takes that path too, so that it gets the database's own answer.

**Initial load.** Asked to (``load``, as ``provenance import`` does), an import into a database
holding no claims is one transaction that builds the keys, indexes and foreign keys of the tables it
fills after their rows, and seals its audit entries as it writes them (``Importer._load``).

An import that stored 10,000 claims or more ends by analyzing the tables it wrote, so that queries
are planned for their new sizes at once.

While a batch runs it holds the lock under which inline sources are created, so requests naming
inline sources wait for it (a few seconds for 10,000 lines).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import msgspec

from service.db import RETRYABLE
from service.domain import audit
from service.domain import claims as claims_domain
from service.domain.batch import Batch, Wanted, after, wanted
from service.domain.ids import field_id
from service.errors import ProvenanceError, problem_document
from service.model import ClaimIn, Id
from service.repositories import claims as claims_repo
from service.repositories import imports as repo
from service.repositories import sources as sources_repo
from service.repositories.imports import StoredFacts

log = logging.getLogger(__name__)

BATCH_LINES = 10_000
ANALYZE_AFTER = 10_000
"""Claims an import stores past which it refreshes the planner's statistics of the tables it wrote."""
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
    return ParsedLine(number, claim, claim_id)


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


class Single(NamedTuple):
    """A line stored on its own, the way POST /claims stores it (a NUL inside: PostgreSQL's own answer)."""

    number: int
    raw: bytes


Segment = list[tuple[int, bytes]] | Single


Parsed = tuple[list[ParsedLine | LineFailure], Wanted]
"""A batch's lines parsed, and what they need to read of the stored data."""


class Prepared(NamedTuple):
    """A batch parsed and resolved against the stored facts it assumed, ready to write."""

    taken: list[ParsedLine | LineFailure]
    want: Wanted
    facts: StoredFacts
    batch: Batch
    outcomes: list[bool | LineFailure]


def resolve(facts: StoredFacts, lines: list[ParsedLine]) -> tuple[Batch, list[bool | LineFailure]]:
    """The lines resolved in order against ``facts``: the batch to store, and each line's outcome."""
    batch = Batch(facts)
    outcomes: list[bool | LineFailure] = []
    for line in lines:
        try:
            outcomes.append(batch.add(line.claim, line.claim_id))
        except ProvenanceError as exc:
            outcomes.append(LineFailure(line.number, problem_document(exc)))
    return batch, outcomes


class Importer:
    """Stores lines in batches and hears of each failure and of progress.

    With a second connection to read from (``reader``), the next batch is parsed and resolved while
    the current one is written: against the stored data as read before the current batch commits,
    plus what the current batch stores (``batch.after``). The write of each batch reads its facts
    again under its locks and resolves the batch anew should they differ (a concurrent write), so
    the rules always apply to what is stored.
    """

    def __init__(
        self,
        conn: asyncpg.Connection,
        *,
        actor: str | None,
        on_failure: Callable[[LineFailure], None],
        on_lines: Callable[[int], None] = lambda count: None,
        batch_lines: int = BATCH_LINES,
        max_line_bytes: int | None = None,
        reader: asyncpg.Connection | None = None,
        load: bool = False,
    ) -> None:
        self.conn = conn
        self.load = load
        self.loaded = False
        """Whether the lines went in as an initial load (``load`` asked for one and no claim was stored)."""
        self.reader = reader
        self.actor = actor
        self.on_failure = on_failure
        self.on_lines = on_lines
        self.batch_lines = batch_lines
        self.max_line_bytes = max_line_bytes
        self.report = ImportReport()
        self.refused_batches = 0
        """Batches the database refused whole, whose lines were then stored one at a time."""
        self.resolved_again = 0
        """Batches resolved anew at write time, the stored data having changed since they were prepared."""

    async def run(self, lines: Iterable[bytes] | AsyncIterable[bytes]) -> ImportReport:
        """Store every non-blank line, in order; the report of what was done."""
        if self.load and await self._load(lines):
            if self.report.imported >= ANALYZE_AFTER:
                await repo.analyze_written(self.conn)
            return self.report
        ready: asyncio.Task[Prepared] | None = None  # the batch prepared (or being prepared), not yet written
        try:
            async for segment in self._segments(lines):
                if isinstance(segment, Single):
                    if ready is not None:
                        await self._write(await ready)
                        ready = None
                    await self._store_single(segment)
                elif ready is None:
                    ready = self._start(segment, earlier=None)
                else:
                    prepared, ready = await ready, None

                    def prepare_next(written: Batch, segment: list[tuple[int, bytes]] = segment) -> None:
                        nonlocal ready
                        ready = self._start(segment, earlier=written)

                    # With one connection, the next batch is prepared once this one is written.
                    await self._write(prepared, prepare_next if self.reader is not None else None)
                    if ready is None:
                        ready = self._start(segment, earlier=None)
            if ready is not None:
                await self._write(await ready)
                ready = None
            if self.report.imported >= ANALYZE_AFTER:
                await repo.analyze_written(self.conn)
        finally:
            if ready is not None:
                ready.cancel()
        return self.report

    def _start(self, segment: list[tuple[int, bytes]], *, earlier: Batch | None) -> asyncio.Task[Prepared]:
        return asyncio.create_task(self._prepare(segment, earlier=earlier, conn=self.reader or self.conn))

    async def _segments(self, lines: Iterable[bytes] | AsyncIterable[bytes]) -> AsyncIterator[Segment]:
        """Batches of numbered non-blank lines; a line holding a NUL comes alone."""
        numbered: list[tuple[int, bytes]] = []
        number = 0
        async for raw in _each(lines):
            number += 1
            if not raw.strip():
                continue
            if b"\\u0000" in raw:
                if numbered:
                    yield numbered
                    numbered = []
                yield Single(number, raw)
                continue
            numbered.append((number, raw))
            if len(numbered) >= self.batch_lines:
                yield numbered
                numbered = []
        if numbered:
            yield numbered

    def _parse(self, number: int, raw: bytes) -> ParsedLine | LineFailure:
        if self.max_line_bytes is not None and len(raw) > self.max_line_bytes:
            detail = f"the line is longer than {self.max_line_bytes:,} bytes, the largest body POST /claims takes"
            return LineFailure(number, {"status": 413, "title": "Request Entity Too Large", "detail": detail})
        return parse(number, raw)

    def _parse_all(self, segment: list[tuple[int, bytes]]) -> tuple[list[ParsedLine | LineFailure], Wanted]:
        taken = [self._parse(number, raw) for number, raw in segment]
        return taken, wanted([(line.claim, line.claim_id) for line in taken if isinstance(line, ParsedLine)])

    async def _prepare(
        self,
        segment: list[tuple[int, bytes]],
        *,
        earlier: Batch | None,
        conn: asyncpg.Connection,
        parsed: Parsed | None = None,
    ) -> Prepared:
        """Parse a batch (unless ``parsed``) and resolve it against the stored facts (read on ``conn``) and
        what ``earlier`` stores."""
        if parsed is None:
            parsed = await asyncio.to_thread(self._parse_all, segment)
        want = parsed[1]
        facts = await repo.stored_facts(conn, **want._asdict())
        if earlier is not None:
            facts = after(facts, earlier, want)
        return await asyncio.to_thread(_resolved, parsed, facts)

    async def _write(self, prepared: Prepared, prepare_next: Callable[[Batch], None] | None = None) -> None:
        """Store a prepared batch and report on each of its lines in order."""
        parsed = any(isinstance(line, ParsedLine) for line in prepared.taken)
        await self._report(prepared, await self._stored_outcomes(prepared, prepare_next) if parsed else [])

    async def _report(self, prepared: Prepared, outcomes: list[bool | LineFailure] | None) -> None:
        """Report on each line of a batch stored (``outcomes``), or store its lines one at a time (None)."""
        if outcomes is None:
            # Refused whole for a reason the rules did not foresee: each line on its own names the culprit.
            for line in prepared.taken:
                if isinstance(line, ParsedLine):
                    await self._store_one(line)
                else:
                    self._fail(line)
        else:
            stored = iter(outcomes)
            for line in prepared.taken:
                self._count(next(stored) if isinstance(line, ParsedLine) else line)
        self.on_lines(len(prepared.taken))

    async def _stored_outcomes(
        self, prepared: Prepared, prepare_next: Callable[[Batch], None] | None
    ) -> list[bool | LineFailure] | None:
        """Each line's outcome once the batch is stored whole (again after a deadlock or serialization
        failure); None if the database refused it."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await self._store_batch(prepared, prepare_next)
            except RETRYABLE as exc:
                if attempt == ATTEMPTS:
                    self._refused(prepared, exc)
                    return None
            except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
                self._refused(prepared, exc)
                return None
            prepare_next = None  # the next batch is being prepared already
        return None

    def _refused(self, prepared: Prepared, exc: Exception) -> None:
        self.refused_batches += 1
        log.warning(
            "the batch of lines %d to %d was refused (%r); its lines are stored one at a time",
            prepared.taken[0].number,
            prepared.taken[-1].number,
            exc,
        )

    async def _store_batch(
        self, prepared: Prepared, prepare_next: Callable[[Batch], None] | None
    ) -> list[bool | LineFailure]:
        """Store a batch in one transaction: per line, True (stored), False (already stored) or its failure."""
        conn = self.conn
        async with conn.transaction():
            await repo.check_chains_by_batch(conn)
            await claims_repo.lock_chains(conn, shared=True)
            await sources_repo.lock_source_creation(conn, shared=False)
            facts = await repo.stored_facts(conn, **prepared.want._asdict())
            batch, outcomes = prepared.batch, prepared.outcomes
            if facts != prepared.facts:
                self.resolved_again += 1
                lines = [line for line in prepared.taken if isinstance(line, ParsedLine)]
                batch, outcomes = await asyncio.to_thread(resolve, facts, lines)
            if prepare_next is not None:
                prepare_next(batch)
            await self._write_rows(batch)
        return outcomes

    async def _write_rows(self, batch: Batch) -> None:
        """Write a resolved batch: its new sources, its claims with their hops and first revisions, and
        their audit entries (pending, or sealed at once in an initial load)."""
        conn = self.conn
        # Each snapshot encoded once, for its revision and its audit entry alike.
        changes = [(claim.id, audit.canonical(claim.snapshot)) for claim in batch.claims]
        await repo.insert_sources(conn, batch.sources)
        await repo.insert_claims(conn, batch.claims, [change for _, change in changes], self.actor)
        if changes:
            append = audit.append_sealed_many if self.loaded else audit.append_many
            await append(conn, actor=self.actor, action="create", entity_type="claim", changes=changes)

    # --- the initial load ------------------------------------------------------------------------

    async def _load(self, lines: Iterable[bytes] | AsyncIterable[bytes]) -> bool:
        """Store every line as an initial load if no claim is stored (read under the load's locks);
        False, having read no line, if one is.

        An initial load is one transaction: it locks the claims, hops and revisions (their DROPs do),
        the sources against change, the inline sources' creation, chain edits and the audit log's
        sealers, drops the keys, indexes and foreign keys that ``repo.defer_building`` names, stores
        the batches, each under a savepoint, with their audit entries sealed at once, then builds what
        it dropped over the rows and commits. Everything or nothing is stored: a load that stops
        midway leaves the database as it was, and can simply be run again.
        """
        conn = self.conn
        transaction = conn.transaction()
        await transaction.start()
        try:
            await repo.check_chains_by_batch(conn)
            await claims_repo.lock_chains(conn, shared=False)
            await sources_repo.lock_source_creation(conn, shared=False)
            if not await repo.holds_no_claims(conn):
                await transaction.rollback()
                return False
            deferred = await repo.defer_building(conn)
            self.loaded = True
            await self._load_batches(lines)
            await repo.build(conn, deferred)
        except BaseException:
            await transaction.rollback()
            raise
        await transaction.commit()
        return True

    async def _load_batches(self, lines: Iterable[bytes] | AsyncIterable[bytes]) -> None:
        """The batches of a load, each resolved while the one before is written.

        The load's one connection reads the next batch's facts before the current batch's rows go
        in, and ``after`` completes them with what the current batch stores: nothing else writes
        meanwhile, so they are exactly what its write would read. The next batch is resolved, and the
        one after it parsed, in a thread while the database stores the current one.
        """
        segments = self._segments(lines).__aiter__()
        upcoming: deque[tuple[Segment, Parsed | None]] = deque()

        async def pull(count: int = 2) -> None:
            while len(upcoming) < count:
                segment = await anext(segments, None)
                if segment is None:
                    return
                upcoming.append((segment, None))

        await pull()
        current: Prepared | None = None
        while current is not None or upcoming:
            if current is None:
                segment, parsed = upcoming.popleft()
                if isinstance(segment, Single):
                    await self._store_single(segment)
                else:
                    current = await self._prepare(segment, earlier=None, conn=self.conn, parsed=parsed)
                await pull()
                continue
            ahead: asyncio.Task[tuple[Prepared, Parsed | None]] | None = None
            if upcoming and not isinstance(upcoming[0][0], Single):
                segment, parsed = upcoming[0]
                assert not isinstance(segment, Single)
                if parsed is None:
                    parsed = await asyncio.to_thread(self._parse_all, segment)
                    upcoming[0] = (segment, parsed)
                facts = after(await repo.stored_facts(self.conn, **parsed[1]._asdict()), current.batch, parsed[1])
                then = upcoming[1][0] if len(upcoming) > 1 and upcoming[1][1] is None else None
                ahead = asyncio.create_task(
                    asyncio.to_thread(self._resolve_and_parse, parsed, facts, then if isinstance(then, list) else None)
                )
            stored = await self._load_batch(current)
            current = None
            if ahead is not None:
                prepared, then_parsed = await ahead
                if then_parsed is not None:
                    upcoming[1] = (upcoming[1][0], then_parsed)
                if stored:  # else resolved again, against what the lines stored one at a time made
                    upcoming.popleft()
                    current = prepared
                await pull()

    def _resolve_and_parse(
        self, parsed: Parsed, facts: StoredFacts, then: list[tuple[int, bytes]] | None
    ) -> tuple[Prepared, Parsed | None]:
        return _resolved(parsed, facts), self._parse_all(then) if then is not None else None

    async def _load_batch(self, prepared: Prepared) -> bool:
        """Store a batch of a load under a savepoint, or its lines one at a time should the database refuse
        it; whether it was stored whole."""
        outcomes: list[bool | LineFailure] | None = prepared.outcomes
        try:
            async with self.conn.transaction():
                await self._write_rows(prepared.batch)
        except (*RETRYABLE, asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
            self._refused(prepared, exc)
            outcomes = None
        await self._report(prepared, outcomes)
        return outcomes is not None

    async def _store_single(self, single: Single) -> None:
        parsed = self._parse(single.number, single.raw)
        if isinstance(parsed, ParsedLine):
            await self._store_one(parsed)
        else:
            self._fail(parsed)
        self.on_lines(1)

    async def _store_one(self, line: ParsedLine) -> None:
        """Store one line in its own transaction, as ``POST /claims`` stores a claim."""
        try:
            if line.claim_id is not None and await claims_repo.exists(self.conn, line.claim_id):
                self._count(False)
                return
            if self.loaded:  # the row triggers leave the load's chains to check_chains
                async with self.conn.transaction():
                    created = await claims_domain.create(self.conn, line.claim, id=line.claim_id, actor=self.actor)
                    await repo.check_chains(self.conn, [created["id"]])
            else:
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


def _resolved(parsed: Parsed, facts: StoredFacts) -> Prepared:
    taken, want = parsed
    batch, outcomes = resolve(facts, [line for line in taken if isinstance(line, ParsedLine)])
    return Prepared(taken, want, facts, batch, outcomes)


async def _each(lines: Iterable[bytes] | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if isinstance(lines, AsyncIterable):
        async for raw in lines:
            yield raw
    else:
        for raw in lines:
            yield raw


async def import_lines(
    conn: asyncpg.Connection,
    lines: Iterable[bytes] | AsyncIterable[bytes],
    *,
    actor: str | None,
    on_failure: Callable[[LineFailure], None],
    on_lines: Callable[[int], None] = lambda count: None,
    batch_lines: int = BATCH_LINES,
    max_line_bytes: int | None = None,
    reader: asyncpg.Connection | None = None,
    load: bool = False,
) -> ImportReport:
    """Store every non-blank line; ``on_failure`` hears of each line that fails, ``on_lines`` of progress.

    With ``reader`` (a second connection), each batch is prepared while the one before is written.
    With ``load``, a database holding no claims takes the lines as an initial load (``Importer._load``).
    """
    importer = Importer(
        conn,
        actor=actor,
        on_failure=on_failure,
        on_lines=on_lines,
        batch_lines=batch_lines,
        max_line_bytes=max_line_bytes,
        reader=reader,
        load=load,
    )
    return await importer.run(lines)


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
