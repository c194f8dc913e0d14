"""Bulk import of claims, one ``POST /claims`` body a line, stored in batches and reported line by line.

A line is a ``ClaimIn`` with one optional field more, ``id``, which the claim keeps (so upstream
links from later lines, or from outside, still hold); a line whose ``id`` is already stored, or
came earlier in the same import, is counted as already stored and skipped, so an interrupted import
can simply be run again. A line without ``id`` gets a new one.

**Per line, in batches.** Each line is stored, or refused with the problem ``POST /claims`` would
have answered (its status, detail, offending fields, candidates), and a refused line stores nothing;
the other lines are stored all the same. Lines are taken in batches (10,000 by default), each in
one transaction: the batch reads what it needs of the stored data in a few set-based queries,
resolves its lines in file order by the rules of ``POST /claims`` (``service.imports.resolve``), then
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
fills after their rows, and seals its audit entries as it writes them (``Importer._load``). Its
batches are parsed, resolved and made into COPY payloads by a second process
(``service.imports.worker``) while its connection writes the batch before.

An import that stored 10,000 claims or more ends by analyzing the tables it wrote, so that queries
are planned for their new sizes at once.

While a batch runs it holds the lock under which inline sources are created, so requests naming
inline sources wait for it (a few seconds for 10,000 lines).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import sys
import time
import uuid
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple, Protocol, TypeVar

import asyncpg
from tqdm import tqdm  # type: ignore[import-untyped]

from service import db
from service.db import ATTEMPTS, RETRYABLE
from service.domain import audit
from service.domain import claims as claims_domain
from service.errors import ProvenanceError, problem_document
from service.imports import store as repo
from service.imports import worker
from service.imports.lines import (
    ClaimLine,
    ImportReport,
    LineFailure,
    Outcome,
    Parsed,
    ParsedLine,
    copies,
    in_order,
    message,
    parse,
    parse_batch,
    parse_lines,
    resolve,
)
from service.imports.resolve import Batch, Wanted, after
from service.imports.store import StoredFacts
from service.repositories import claims as claims_repo
from service.repositories import sources as sources_repo

__all__ = [
    "ANALYZE_AFTER",
    "BATCH_LINES",
    "ClaimLine",
    "ImportReport",
    "Importer",
    "LineFailure",
    "Progress",
    "message",
    "split_lines",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

BATCH_LINES = 10_000
ANALYZE_AFTER = 10_000
"""Claims an import stores past which it refreshes the planner's statistics of the tables it wrote."""
AHEAD = 2
"""Batches an initial load has resolved ahead of the one it writes, at most."""


class Progress(Protocol):
    """What hears of an import as it goes: the HTTP answer's list of failures, the CLI's progress bar."""

    def failed(self, failure: LineFailure) -> None:
        """A line was not stored: its number and its problem."""

    def done(self, lines: int) -> None:
        """So many more lines were dealt with, stored or failed."""


class Single(NamedTuple):
    """A line stored on its own, the way POST /claims stores it (a NUL inside: PostgreSQL's own answer)."""

    number: int
    raw: bytes


Segment = list[tuple[int, bytes]] | Single


class Prepared(NamedTuple):
    """A batch parsed and resolved against the stored facts it assumed, ready to write."""

    taken: list[ParsedLine | LineFailure]
    want: Wanted
    facts: StoredFacts
    batch: Batch
    outcomes: list[Outcome]


class Importer:
    """Stores lines in batches and tells ``progress`` of each failure and of the lines done.

    With a second connection to read from (``reader``), the next batch is parsed and resolved while
    the current one is written: against the stored data as read before the current batch commits,
    plus what the current batch stores (``batch.after``). The write of each batch reads its facts
    again under its locks and resolves the batch anew should they differ (a concurrent write), so
    the rules always apply to what is stored.
    """

    def __init__(
        self,
        conn: asyncpg.Connection,
        progress: Progress,
        *,
        actor: str | None,
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
        self.progress = progress
        self.batch_lines = batch_lines
        self.max_line_bytes = max_line_bytes
        self.report = ImportReport()
        self.refused_batches = 0
        """Batches the database refused whole, whose lines were then stored one at a time."""
        self.resolved_again = 0
        """Batches resolved anew at write time, the stored data having changed since they were prepared."""
        self._sent = 0
        """Batches an initial load has sent its resolving process, numbering them."""
        self._known = False
        """Whether an initial load's resolving process knows everything stored."""

    async def run(self, lines: Iterable[bytes] | AsyncIterable[bytes]) -> ImportReport:
        """Store every non-blank line, in order; the report of what was done."""
        if self.load and await self._load(lines):
            if self.report.imported >= ANALYZE_AFTER:
                with self._phase("analyzing"):
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

    async def _prepare(
        self,
        segment: list[tuple[int, bytes]],
        *,
        earlier: Batch | None,
        conn: asyncpg.Connection,
    ) -> Prepared:
        """Parse a batch and resolve it against the stored facts (read on ``conn``) and what ``earlier``
        stores."""
        parsed = await asyncio.to_thread(parse_batch, segment, self.max_line_bytes)
        want = parsed.want
        facts = await repo.stored_facts(conn, **want._asdict())
        if earlier is not None:
            facts = after(facts, earlier, want)
        return await asyncio.to_thread(_resolved, parsed, facts)

    async def _write(self, prepared: Prepared, prepare_next: Callable[[Batch], None] | None = None) -> None:
        """Store a prepared batch and report on each of its lines in order."""
        parsed = any(isinstance(line, ParsedLine) for line in prepared.taken)
        outcomes = await self._stored_outcomes(prepared, prepare_next) if parsed else []
        if outcomes is None:
            await self._store_each(prepared.taken)
        else:
            self._count_all(in_order(prepared.taken, outcomes))
        self.progress.done(len(prepared.taken))

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
                    self._refused(prepared.taken, exc)
                    return None
            except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
                self._refused(prepared.taken, exc)
                return None
            prepare_next = None  # the next batch is being prepared already
        return None

    def _refused(self, lines: list[ParsedLine | LineFailure] | list[tuple[int, bytes]], exc: Exception) -> None:
        self.refused_batches += 1
        first, last = lines[0], lines[-1]
        log.warning(
            "the batch of lines %d to %d was refused (%r); its lines are stored one at a time", first[0], last[0], exc
        )

    async def _store_each(self, taken: list[ParsedLine | LineFailure]) -> None:
        """The lines of a batch refused whole, each stored on its own: each line names its own culprit."""
        for line in taken:
            if isinstance(line, ParsedLine):
                await self._store_one(line)
            else:
                self._fail(line)

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
        """Write a resolved batch: its new sources, its claims with their hops and first revisions, and their
        audit entries, to be sealed after commit; then check its chains."""
        written, _ = await asyncio.to_thread(copies, batch, self.actor)
        await repo.stage(self.conn)
        await repo.write(self.conn, written)
        await repo.check_chains(self.conn, [claim.id for claim in batch.claims])

    # --- the initial load ------------------------------------------------------------------------

    async def _load(self, lines: Iterable[bytes] | AsyncIterable[bytes]) -> bool:
        """Store every line as an initial load if no claim is stored (read under the load's locks);
        False, having read no line, if one is.

        An initial load is one transaction: it locks the claims, hops, revisions, aliases, name
        tokens and affiliations (their DROPs do), the sources against change, the inline sources'
        creation, chain edits and the audit log's sealers, drops the keys, indexes and foreign keys
        that ``repo.defer_building`` names, stores the batches, each under a savepoint, with their
        audit entries sealed at once, checks every chain in one pass (a chain the rules let through
        and the database refuses fails the load: the rules make none), adds the deletion pairs of the
        new names to the shared name index, then builds what it dropped over the rows and commits.
        Everything or nothing is stored: a load that stops midway leaves the database as it was, and
        can simply be run again.
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
            with self._phase("dropping keys and indexes"):
                deferred = await repo.defer_building(conn)
            self.loaded = True
            await repo.stage(conn)
            await self._load_batches(lines)
            with self._phase("checking chains"):
                await repo.check_every_chain(conn)
            with self._phase("merging name index"):
                await repo.merge_staged(conn)
            with self._phase("building keys and indexes"):
                await repo.build(conn, deferred)
        except BaseException:
            await transaction.rollback()
            raise
        with self._phase("committing"):
            await transaction.commit()
        return True

    @contextlib.contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        """Add the time the block takes to the phase ``name`` of the load's report."""
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = self.report.load_seconds
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

    async def _timed(self, name: str, work: Awaitable[T]) -> T:
        with self._phase(name):
            return await work

    async def _load_batches(self, lines: Iterable[bytes] | AsyncIterable[bytes]) -> None:
        """The batches of a load, resolved in a second process (``service.imports.worker``); a line that
        comes alone is stored between them."""
        segments = self._segments(lines).__aiter__()
        self._known = False
        with worker.started(self.actor, self.max_line_bytes) as resolving:
            segment = await anext(segments, None)
            while segment is not None:
                if isinstance(segment, Single):
                    await self._store_single(segment)
                    segment = await anext(segments, None)
                else:
                    segment = await self._load_run(resolving, segment, segments)

    async def _load_run(
        self, resolving: worker.Worker, first: list[tuple[int, bytes]], segments: AsyncIterator[Segment]
    ) -> Single | None:
        """Load the batches from ``first`` to the next line that comes alone (returned) or the end (None).

        While batch n is written, the other process resolves the batches after it (``AHEAD`` of them
        at most), as if batch n were stored whole, against what it knows is stored. Should batch n not
        be stored whole (its lines then stored one at a time), those are resolved again, against
        everything stored read afresh.
        """
        sent: deque[tuple[int, list[tuple[int, bytes]]]] = deque()  # resolving or resolved, not yet written
        end: list[Single | None] = []  # what ended the run, once met
        restart = True  # the next batch sent follows lines stored one at a time (or none: the run's first)

        async def send(segment: list[tuple[int, bytes]]) -> None:
            nonlocal restart
            self._sent += 1
            at = await audit.clock(self.conn)
            if not restart:
                resolving.resolve(self._sent, segment, at)
            else:
                head = await audit.head_for_appending(self.conn)
                stored = (
                    None
                    if self._known
                    else await self._timed("reading stored facts", repo.everything_stored(self.conn))
                )
                resolving.resolve(self._sent, segment, at, head=head, stored=stored)
                self._known, restart = True, False
            sent.append((self._sent, segment))

        async def send_ahead() -> None:
            while not end and len(sent) <= AHEAD:
                segment = await anext(segments, None)
                if isinstance(segment, list):
                    await send(segment)
                else:
                    end.append(segment)

        await send(first)
        while sent:
            await send_ahead()
            number, segment = sent.popleft()
            ready = await self._timed("waiting for the resolving process", resolving.resolved(number))
            if not await self._timed("writing batches", self._load_batch(segment, ready)):
                # Answer as if this batch were stored whole: take those answers and send them again.
                again = list(sent)
                sent.clear()
                for number, _ in again:
                    await resolving.resolved(number)
                restart = True
                for _, segment in again:
                    await send(segment)
        return end[0] if end else None

    async def _load_batch(self, segment: list[tuple[int, bytes]], ready: worker.Answer) -> bool:
        """Store a batch of a load under a savepoint, or its lines one at a time should the database refuse
        it; whether it was stored whole."""
        try:
            async with self.conn.transaction():
                await repo.write(self.conn, ready.copies, merge=False)
        except (*RETRYABLE, asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
            self._refused(segment, exc)
            self._known = False
            await self._store_each(parse_lines(segment, self.max_line_bytes))
            self.progress.done(len(segment))
            return False
        self._count_all(ready.outcomes)
        self.progress.done(len(segment))
        return True

    async def _store_single(self, single: Single) -> None:
        parsed = parse(single.number, single.raw, self.max_line_bytes)
        if isinstance(parsed, ParsedLine):
            await self._store_one(parsed)
        else:
            self._fail(parsed)
        self.progress.done(1)

    async def _store_one(self, line: ParsedLine) -> None:
        """Store one line in its own transaction, as ``POST /claims`` stores a claim."""
        try:
            if line.claim_id is not None and await claims_repo.exists(self.conn, line.claim_id):
                self._count(False)
                return
            if self.loaded:  # the row triggers leave the load's chains to check_chains
                async with self.conn.transaction():
                    created = await claims_domain.create(self.conn, line.claim, id=line.claim_id, actor=self.actor)
                    await repo.check_chains(self.conn, [uuid.UUID(created.claim.id)])
                self._known = False  # stored where the resolving process does not see it
            else:
                await claims_domain.create(self.conn, line.claim, id=line.claim_id, actor=self.actor)
        except (ProvenanceError, asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
            if isinstance(exc, asyncpg.UniqueViolationError) and exc.constraint_name == "claims_pkey":
                self._count(False)  # stored meanwhile by another import of the same line
                return
            self._fail(LineFailure(line.number, problem_document(exc)))
            return
        self._count(True)

    def _count_all(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self._count(outcome)

    def _count(self, outcome: Outcome) -> None:
        if isinstance(outcome, LineFailure):
            self._fail(outcome)
        elif outcome:
            self.report.imported += 1
        else:
            self.report.already_stored += 1

    def _fail(self, failure: LineFailure) -> None:
        self.report.failed += 1
        self.progress.failed(failure)


def _resolved(parsed: Parsed, facts: StoredFacts) -> Prepared:
    batch, outcomes = resolve(facts, [line for line in parsed.taken if isinstance(line, ParsedLine)])
    return Prepared(parsed.taken, parsed.want, facts, batch, outcomes)


async def _each(lines: Iterable[bytes] | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if isinstance(lines, AsyncIterable):
        async for raw in lines:
            yield raw
    else:
        for raw in lines:
            yield raw


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


# --- from a file, for the command line ------------------------------------------------------------

IMPORT_ACTOR = "import"
"""The actor the audit log and revisions record for ``provenance import``."""

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


class _Bar:
    """The CLI's progress: a bar of lines done, each failure written above it."""

    def __init__(self, bar: tqdm) -> None:
        self.bar = bar

    def failed(self, failure: LineFailure) -> None:
        self.bar.write(f"line {failure.number}: {message(failure.problem)}", file=sys.stderr)

    def done(self, lines: int) -> None:
        self.bar.update(lines)


async def _import(database_url: str, file: str, batch_lines: int) -> ImportReport:
    total = None if file == "-" else _count_claim_lines(Path(file))
    conn = await db.connect(database_url)
    reader = await db.connect(database_url)  # reads ahead for the next batch while one is written
    try:
        with tqdm(total=total, unit="claim", file=sys.stderr) as bar:
            importer = Importer(conn, _Bar(bar), actor=IMPORT_ACTOR, batch_lines=batch_lines, reader=reader, load=True)
            return await importer.run(_lines_of(file))
    finally:
        await reader.close()
        await conn.close()


@contextlib.contextmanager
def _no_cyclic_collection() -> Iterator[None]:
    """No cyclic garbage collection while importing: a batch makes a million objects, none of them
    cyclic (reference counting frees them), and walking them costs a large share of the importer's
    time even at raised thresholds, for no memory saved (bench/README.md has the figures)."""
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
