"""The lines of an import: one ``POST /claims`` body a line, parsed, resolved a batch at a time, and
reported on, line by line, as ``POST /claims`` would have answered each.

These are the parts an import shares with the process that resolves an initial load's batches
(``service.imports.worker``), which keeps no connection: everything here works on bytes, parsed
lines and the stored facts read for them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import msgspec

from service.domain import audit
from service.domain.ids import field_id
from service.errors import ProvenanceError, problem_document
from service.imports import store as repo
from service.imports.resolve import Batch, Wanted, wanted
from service.imports.store import StoredFacts
from service.model import ClaimIn, Id
from service.repositories.binary_copy import Copy

_PATH = re.compile(r"`\$\.(.+)`$")


class ClaimLine(ClaimIn):
    """One NDJSON line: a ``POST /claims`` body, with the claim's ``id`` when it comes from an export."""

    id: Id | None = None
    # The import stores claims as made by hand: an extracted claim goes through POST /claims, which records its model.
    extracted_by: None = None


class LineFailure(NamedTuple):
    """A line that was not stored: its number (from 1, blank lines counted) and the problem it met."""

    number: int
    problem: dict[str, Any]


class ImportReport(msgspec.Struct):
    """What one import did; for an initial load, the seconds each of its phases took, in order."""

    imported: int = 0
    already_stored: int = 0
    failed: int = 0
    load_seconds: dict[str, float] = msgspec.field(default_factory=dict)


class ParsedLine(NamedTuple):
    """A line that parsed: its number, its claim and the id it keeps (None: a new one)."""

    number: int
    claim: ClaimLine
    claim_id: UUID | None


Outcome = bool | LineFailure
"""What became of a line: stored (True), already stored (False), or refused."""

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


def parse(number: int, raw: bytes, max_line_bytes: int | None = None) -> ParsedLine | LineFailure:
    """A line decoded and checked against the schema of ``POST /claims`` (and, when given, the largest
    body it takes), or the problem it has."""
    if max_line_bytes is not None and len(raw) > max_line_bytes:
        detail = f"the line is longer than {max_line_bytes:,} bytes, the largest body POST /claims takes"
        return LineFailure(number, {"status": 413, "title": "Request Entity Too Large", "detail": detail})
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


class Parsed(NamedTuple):
    """A batch's lines parsed, and what they need to read of the stored data."""

    taken: list[ParsedLine | LineFailure]
    want: Wanted


def parse_lines(segment: list[tuple[int, bytes]], max_line_bytes: int | None = None) -> list[ParsedLine | LineFailure]:
    """Each of a batch's numbered lines parsed (``parse``), in order."""
    return [parse(number, raw, max_line_bytes) for number, raw in segment]


def parse_batch(segment: list[tuple[int, bytes]], max_line_bytes: int | None = None) -> Parsed:
    """A batch of numbered lines parsed, and what the lines that parsed need to read."""
    taken = parse_lines(segment, max_line_bytes)
    return Parsed(taken, wanted([(line.claim, line.claim_id) for line in taken if isinstance(line, ParsedLine)]))


def resolve(facts: StoredFacts, lines: list[ParsedLine]) -> tuple[Batch, list[Outcome]]:
    """The lines resolved in order against ``facts``: the batch to store, and each line's outcome."""
    batch = Batch(facts)
    outcomes: list[Outcome] = []
    for line in lines:
        try:
            outcomes.append(batch.add(line.claim, line.claim_id))
        except ProvenanceError as exc:
            outcomes.append(LineFailure(line.number, problem_document(exc)))
    return batch, outcomes


def in_order(taken: list[ParsedLine | LineFailure], outcomes: list[Outcome]) -> list[Outcome]:
    """Every line's outcome in file order: its parse failure, or what resolving it gave."""
    resolved = iter(outcomes)
    return [line if isinstance(line, LineFailure) else next(resolved) for line in taken]


Head = tuple[int, bytes | None]
"""Where the audit log's chain ends: the last entry's seq and hash (0 and None when empty)."""


def copies(
    batch: Batch, actor: str | None, *, sealed: tuple[Head, datetime] | None = None
) -> tuple[list[Copy], Head | None]:
    """A resolved batch as COPY payloads in the order their references need: its new sources, its claims
    with their hops and first revisions, and their audit entries: pending, or with ``sealed`` (the
    head and time of an initial load's entries) chained at once, with the head after them."""
    # Each snapshot encoded once, for its revision and its audit entry alike.
    changes = [(claim.id, audit.canonical(claim.snapshot)) for claim in batch.claims]
    written = repo.source_copies(batch.sources)
    written += repo.claim_copies(batch.claims, [change for _, change in changes], actor)
    if not changes:
        return written, sealed[0] if sealed else None
    if sealed is None:
        written.append(
            audit.pending_copy(actor=actor, action="create", entity_type="claim", changes=changes, revision=1)
        )
        return written, None
    head, at = sealed
    entries, head = audit.sealed_copy(
        head, at, actor=actor, action="create", entity_type="claim", changes=changes, revision=1
    )
    written.append(entries)
    return written, head
