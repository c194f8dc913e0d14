"""An initial load's second process: it parses, resolves and encodes each batch while the load's one
connection writes the batch before, so that Python's work and PostgreSQL's run on two cores.

The load (``service.domain.imports``) keeps the connection; this process keeps the rules' work and
no connection. For each batch the load sends its lines (``parse``) and hears what they need to read
of the stored data; it reads that before the batch before is written and sends it (``resolve``)
with the audit log's time, the batch after it sent to be parsed first; the process completes those
facts with what the batch before stores (``batch.after``), resolves the lines by the rules of
``POST /claims``, and answers each line's outcome and the batch's rows as binary COPY payloads, its
audit entries chained after the batch before's. Should a batch not be stored whole, the load asks
for the next one again (``again``) against facts and a chain head read afresh.

Messages go through two queues, whose feeder threads send while both sides work on, so neither
side ever waits for the other to read. They name their batch by number, and the load takes the
answers it waits for by number too.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import queue
import traceback
from collections import defaultdict, deque
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from service.domain.batch import Batch, Wanted, after
from service.domain.lines import Head, Outcome, Parsed, ParsedLine, copies, in_order, parse_all, resolve
from service.repositories.binary_copy import Copy
from service.repositories.imports import StoredFacts

POLL_SECONDS = 0.5
"""How often a wait for the process's answer checks that it still runs."""
STOP_SECONDS = 10
"""How long a process asked to stop may take before it is killed."""


class Parse(NamedTuple):
    """Parse batch ``number``'s numbered lines; answer what they need to read (``Heard``)."""

    number: int
    segment: list[tuple[int, bytes]]


class Resolve(NamedTuple):
    """Resolve batch ``number``, parsed, against ``facts``, completed with what the batch before it
    stores unless ``head`` is given (the facts and head were then read after that batch was stored,
    or there was none); answer ``Resolved``."""

    number: int
    facts: StoredFacts
    at: datetime
    head: Head | None


class Again(NamedTuple):
    """Resolve batch ``number``, the last resolved, again, against ``facts`` and ``head`` read afresh."""

    number: int
    facts: StoredFacts
    at: datetime
    head: Head


class Heard(NamedTuple):
    """What batch ``number`` needs to read of the stored data."""

    number: int
    want: Wanted


class Resolved(NamedTuple):
    """Batch ``number`` ready to write: each line's outcome in order, and its rows."""

    number: int
    outcomes: list[Outcome]
    copies: list[Copy]


class Failed(NamedTuple):
    """The process met an error; it has stopped."""

    traceback: str


class ResolverFailed(RuntimeError):
    """The resolving process failed or died."""


class _Resolving:
    """The process's side: parsed batches waiting for their facts, and the batch last resolved."""

    def __init__(self, actor: str | None, max_line_bytes: int | None) -> None:
        self.actor = actor
        self.max_line_bytes = max_line_bytes
        self.parsed: dict[int, Parsed] = {}
        self.last: tuple[int, Parsed, Batch, Head] | None = None

    def answer(self, message: Parse | Resolve | Again) -> Heard | Resolved:
        if isinstance(message, Parse):
            parsed = parse_all(message.segment, self.max_line_bytes)
            self.parsed[message.number] = parsed
            return Heard(message.number, parsed.want)
        if isinstance(message, Resolve):
            parsed = self.parsed.pop(message.number)
            if message.head is not None:
                return self._resolved(message.number, parsed, message.facts, message.at, message.head)
            assert self.last is not None and self.last[0] == message.number - 1, "it continues the batch before"
            _, _, earlier, head = self.last
            facts = after(message.facts, earlier, parsed.want)
            return self._resolved(message.number, parsed, facts, message.at, head)
        assert self.last is not None and self.last[0] == message.number, "only the last batch is resolved again"
        return self._resolved(message.number, self.last[1], message.facts, message.at, message.head)

    def _resolved(self, number: int, parsed: Parsed, facts: StoredFacts, at: datetime, head: Head) -> Resolved:
        lines = [line for line in parsed.taken if isinstance(line, ParsedLine)]
        batch, outcomes = resolve(facts, lines)
        written, head_after = copies(batch, self.actor, sealed=(head, at))
        assert head_after is not None
        self.last = (number, parsed, batch, head_after)
        return Resolved(number, in_order(parsed.taken, outcomes), written)


def _serve(requests: Any, answers: Any, actor: str | None, max_line_bytes: int | None) -> None:
    """The process: answer each request in order until told to stop (None), or report the first error."""
    gc.disable()  # a batch makes a million objects, none of them cyclic (service.bulk says more)
    resolving = _Resolving(actor, max_line_bytes)
    while (message := requests.get()) is not None:
        try:
            answers.put(resolving.answer(message))
        except BaseException:
            answers.put(Failed(traceback.format_exc()))
            return


class Resolver:
    """The load's side of the resolving process: requests go out at once, answers come back in order."""

    def __init__(self, actor: str | None, max_line_bytes: int | None) -> None:
        context = multiprocessing.get_context("spawn")  # the load runs threads and an event loop: no fork
        self._heard: dict[int, Wanted] = {}
        self._resolved: defaultdict[int, deque[Resolved]] = defaultdict(deque)
        self._requests = context.Queue()
        self._answers = context.Queue()
        self._process = context.Process(
            target=_serve,
            args=(self._requests, self._answers, actor, max_line_bytes),
            name="provenance-load-resolver",
            daemon=True,
        )
        self._process.start()

    def parse(self, number: int, segment: list[tuple[int, bytes]]) -> None:
        """Have batch ``number``'s numbered lines parsed; ``wanted(number)`` answers it."""
        self._requests.put(Parse(number, segment))

    def resolve(self, number: int, facts: StoredFacts, at: datetime, head: Head | None = None) -> None:
        """Have batch ``number`` resolved (``Resolve``); ``resolved(number)`` answers it."""
        self._requests.put(Resolve(number, facts, at, head))

    def again(self, number: int, facts: StoredFacts, at: datetime, head: Head) -> None:
        """Have batch ``number``, the last resolved, resolved again (``Again``); ``resolved(number)`` answers it."""
        self._requests.put(Again(number, facts, at, head))

    async def wanted(self, number: int) -> Wanted:
        """What batch ``number`` needs to read."""
        while number not in self._heard:
            await self._answer()
        return self._heard.pop(number)

    async def resolved(self, number: int) -> Resolved:
        """Batch ``number`` resolved (its oldest answer not yet taken)."""
        while not self._resolved[number]:
            await self._answer()
        return self._resolved[number].popleft()

    async def _answer(self) -> None:
        """Take the next answer, whichever it is."""
        answer = await asyncio.to_thread(self._next_answer)
        if isinstance(answer, Failed):
            raise ResolverFailed(f"the load's resolving process failed:\n{answer.traceback}")
        if isinstance(answer, Heard):
            self._heard[answer.number] = answer.want
        else:
            self._resolved[answer.number].append(answer)

    def _next_answer(self) -> Any:
        while True:
            try:
                return self._answers.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not self._process.is_alive():
                    exit_code = self._process.exitcode
                    raise ResolverFailed(f"the load's resolving process died (exit code {exit_code})") from None

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
def started(actor: str | None, max_line_bytes: int | None = None) -> Iterator[Resolver]:
    """A resolving process for the time of a load."""
    resolver = Resolver(actor, max_line_bytes)
    try:
        yield resolver
    except BaseException:
        resolver.close(kill=True)
        raise
    resolver.close()
