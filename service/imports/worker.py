"""An initial load's second process: it parses, resolves and encodes each batch while the load's one
connection writes the batch before, so that Python's work and PostgreSQL's run on two cores.

The load (``service.imports.pipeline``) keeps the connection; this process keeps the rules' work, no
connection, and a memory of everything stored that a batch could look up (``Known``): the load
reads it once, when the process starts, and the process then adds what each batch it resolves
stores. The load being the only writer while it runs, batches never read the database. For each
batch the load sends its lines and the audit log's time (``Request``); the process answers each
line's outcome and the batch's rows as binary COPY payloads, its audit entries chained after the
batch before's. It resolves each batch as if every batch before it were stored whole: should one not
be (its lines then stored one at a time), the load reads everything stored again, and sends it with
the audit log's head for the next batch; the batches resolved meanwhile are sent again.

Messages go through two queues, whose feeder threads send while both sides work on, so neither
side ever waits for the other to read. They name their batch by number, and the load takes the
answers it waits for by number too.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import queue
import traceback
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from service.imports.lines import Head, Outcome, ParsedLine, copies, in_order, parse_lines, resolve
from service.imports.resolve import Known
from service.imports.store import StoredFacts
from service.repositories.binary_copy import Copy

POLL_SECONDS = 0.5
"""How often a wait for the process's answer checks that it still runs."""
STOP_SECONDS = 10
"""How long a process asked to stop may take before it is killed."""


class Request(NamedTuple):
    """Parse and resolve batch ``number``'s numbered lines, their audit entries at ``at``; answer
    ``Answer``. With ``stored`` (everything stored) and ``head`` (the audit log's), resolve it against
    them rather than against what the process knows: what was stored, and where the chain ended, once
    the batch before it was."""

    number: int
    segment: list[tuple[int, bytes]]
    at: datetime
    head: Head | None = None
    stored: StoredFacts | None = None


class Answer(NamedTuple):
    """Batch ``number`` ready to write: each line's outcome in order, and its rows."""

    number: int
    outcomes: list[Outcome]
    copies: list[Copy]


class Failed(NamedTuple):
    """The process met an error; it has stopped."""

    traceback: str


class WorkerFailed(RuntimeError):
    """The resolving process failed or died."""


class _Work:
    """The process's side: what is stored, and where the audit log's chain ends, once the batches
    resolved so far are."""

    def __init__(self, actor: str | None, max_line_bytes: int | None) -> None:
        self.actor = actor
        self.max_line_bytes = max_line_bytes
        self.known: Known | None = None
        self.head: Head | None = None

    def answer(self, message: Request) -> Answer:
        if message.stored is not None:
            self.known = Known(message.stored)
        if message.head is not None:
            self.head = message.head
        assert self.known is not None and self.head is not None, "the first batch comes with what is stored"
        taken = parse_lines(message.segment, self.max_line_bytes)
        # Against everything stored: what the batch needs of it is never read apart.
        batch, outcomes = resolve(self.known.everything, [line for line in taken if isinstance(line, ParsedLine)])
        written, head = copies(batch, self.actor, sealed=(self.head, message.at))
        assert head is not None
        self.known.add(batch)
        self.head = head
        return Answer(message.number, in_order(taken, outcomes), written)


def _serve(requests: Any, answers: Any, actor: str | None, max_line_bytes: int | None) -> None:
    """The process: answer each request in order until told to stop (None), or report the first error."""
    gc.disable()  # a batch makes a million objects, none of them cyclic (``pipeline._no_cyclic_collection`` says why)
    resolving = _Work(actor, max_line_bytes)
    while (message := requests.get()) is not None:
        try:
            answers.put(resolving.answer(message))
        except BaseException:
            answers.put(Failed(traceback.format_exc()))
            return
    # Told to stop, every answer read: exit at once, rather than free all it knows object by object
    # while the load waits to join it.
    os._exit(0)


class Worker:
    """The load's side of the resolving process: requests go out at once, answers come back in order."""

    def __init__(self, actor: str | None, max_line_bytes: int | None) -> None:
        context = multiprocessing.get_context("spawn")  # the load runs threads and an event loop: no fork
        self._resolved: dict[int, Answer] = {}  # the load numbers every batch it sends anew
        self._requests = context.Queue()
        self._answers = context.Queue()
        self._process = context.Process(
            target=_serve,
            args=(self._requests, self._answers, actor, max_line_bytes),
            name="provenance-load-resolver",
            daemon=True,
        )
        self._process.start()

    def resolve(
        self,
        number: int,
        segment: list[tuple[int, bytes]],
        at: datetime,
        *,
        head: Head | None = None,
        stored: StoredFacts | None = None,
    ) -> None:
        """Have batch ``number`` resolved (``Request``); ``resolved(number)`` answers it."""
        self._requests.put(Request(number, segment, at, head, stored))

    async def resolved(self, number: int) -> Answer:
        """Batch ``number`` resolved."""
        while number not in self._resolved:
            await self._answer()
        return self._resolved.pop(number)

    async def _answer(self) -> None:
        """Take the next answer, whichever it is."""
        answer = await asyncio.to_thread(self._next_answer)
        if isinstance(answer, Failed):
            raise WorkerFailed(f"the load's resolving process failed:\n{answer.traceback}")
        self._resolved[answer.number] = answer

    def _next_answer(self) -> Any:
        while True:
            try:
                return self._answers.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not self._process.is_alive():
                    exit_code = self._process.exitcode
                    raise WorkerFailed(f"the load's resolving process died (exit code {exit_code})") from None

    def close(self, *, kill: bool = False) -> None:
        """Stop the process: when asked (it stops once its answers are read), or with ``kill`` at once."""
        if not kill:
            self._requests.put(None)
            self._process.join(timeout=STOP_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._requests.close()
        self._answers.close()


@contextlib.contextmanager
def started(actor: str | None, max_line_bytes: int | None = None) -> Iterator[Worker]:
    """A resolving process for the time of a load."""
    resolver = Worker(actor, max_line_bytes)
    try:
        yield resolver
    except BaseException:
        resolver.close(kill=True)
        raise
    resolver.close()
