"""The domain's exceptions, and what RFC 9457 problem each makes (``problem_of``): pure, so that the
domain and the import can name a problem without the web framework; ``service.api.errors`` hands them
to Litestar.

Exception tree::

    ProvenanceError                 a domain rule refused the request
     ├── Unauthorized               401: no API key, or an unknown, revoked or malformed one
     ├── Forbidden                  403: the API key's scope does not reach this operation
     ├── NotFound                   404: an id that names nothing (or is not an id at all)
     ├── BadRequest                 400: a query parameter the operation does not have
     ├── InvalidInput               422: the body or a parameter breaks a rule; names the fields
     │    ├── AmbiguousSource       422: an inline source matches several stored ones
     │    └── IdempotencyKeyReused  422: an Idempotency-Key sent again with another request
     ├── Conflict                   409: the request clashes with what is stored
     │    └── IdempotencyKeyInUse   409: the first request with this Idempotency-Key is still running
     ├── PreconditionFailed         412: If-Match names a version that is no longer current
     ├── PreconditionRequired       428: an edit came without If-Match
     └── Unavailable                503: the database does not answer; retry after a moment

Connection failures and deadlines (``DATABASE_UNAVAILABLE``) become the same 503 with ``Retry-After``,
and so do asyncpg's client errors that a dropped connection caused (``connection_lost``).

``Moved`` (a merged source) is not an error: it answers 308 with ``Location``.
Litestar's own ``HTTPException`` family (validation, unknown routes, methods) and asyncpg's
integrity errors are mapped here too, and anything else becomes a 500 problem without a trace.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(dict[str, str]):
    """One offending field: ``{"field": "chain[1].source_id", "message": "..."}``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field=field, message=message)


class ProvenanceError(Exception):
    """A request the domain refuses; ``status`` says how it reaches HTTP."""

    status: int = 400
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, errors: Sequence[FieldError] = (), **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.extra = extra


AUTH_REALM = 'Bearer realm="provenance"'


class Unauthorized(ProvenanceError):
    """No usable API key; ``WWW-Authenticate`` says how to send one (RFC 6750)."""

    status = 401

    def __init__(self, detail: str, *, key_sent: bool) -> None:
        super().__init__(detail)
        # With a key that was sent but is no good, the client learns it must get another one.
        self.headers = {"WWW-Authenticate": AUTH_REALM + (', error="invalid_token"' if key_sent else "")}


class Forbidden(ProvenanceError):
    """A valid API key whose scope is below what the operation needs."""

    status = 403

    def __init__(self, detail: str, *, needed: str) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": f'{AUTH_REALM}, error="insufficient_scope", scope="{needed}"'}


class NotFound(ProvenanceError):
    """Nothing is stored under this id."""

    status = 404


class BadRequest(ProvenanceError):
    """A request this API cannot read as one of its operations (a query parameter it does not have)."""

    status = 400


class InvalidInput(ProvenanceError):
    """The request breaks a rule; ``errors`` names the fields."""

    status = 422

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        """One offending field, also used as the detail."""
        return cls(f"{field}: {message}", errors=[FieldError(field, message)])


class AmbiguousSource(InvalidInput):
    """An inline source matches several stored sources; ``candidates`` lists them."""


class IdempotencyKeyReused(InvalidInput):
    """An ``Idempotency-Key`` already answered another request (method, path or body)."""


class Conflict(ProvenanceError):
    """The request clashes with what is stored."""

    status = 409


class IdempotencyKeyInUse(Conflict):
    """The first request with this ``Idempotency-Key`` has not finished: retry in a moment."""

    headers = {"Retry-After": "1"}


class PreconditionFailed(ProvenanceError):
    """The resource changed since the client read it."""

    status = 412


class PreconditionRequired(ProvenanceError):
    """An edit must say which version it edits."""

    status = 428


class Moved(Exception):
    """A merged source: the request belongs at its survivor (the API answers 308 with ``Location``:
    the same path under the survivor's id, with ``suffix`` after it)."""

    def __init__(self, survivor: UUID, suffix: str = "") -> None:
        super().__init__(survivor, suffix)
        self.survivor = survivor
        self.suffix = suffix


class Unavailable(ProvenanceError):
    """The database does not answer."""

    status = 503
    headers = {"Retry-After": "1"}


# The problems the database's own constraints make, by constraint name: the rules raise the same
# (``service.domain.rules.conflict``), so a refusal reads alike whichever of the two catches it.
CONSTRAINT_PROBLEMS: dict[str, tuple[int, str]] = {
    "sources_wikidata_key": (409, "another source already has this Wikidata identifier"),
    "affiliations_unique": (409, "this affiliation is already recorded"),
    "claim_relations_unique": (409, "this relation is already recorded"),
    "affiliations_not_self_check": (422, "a source cannot be affiliated to itself"),
    "affiliations_period_check": (422, "an affiliation's since must not be after its until"),
}


class Problem(NamedTuple):
    """An RFC 9457 problem: its status, detail and extension members, and the headers it goes with."""

    status: int
    detail: str
    extra: dict[str, Any]
    headers: dict[str, str] | None = None

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase


def problem_of(exc: ProvenanceError | asyncpg.IntegrityConstraintViolationError | asyncpg.DataError) -> Problem:
    """The problem a request refused with ``exc`` gets."""
    if isinstance(exc, ProvenanceError):
        extra = {k: v for k, v in {"errors": exc.errors or None, **exc.extra}.items() if v is not None}
        return Problem(exc.status, exc.detail, extra, exc.headers)
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        constraint = getattr(exc, "constraint_name", None) or ""
        fallback = (
            (422, "the request breaks a rule of the stored data")
            if isinstance(exc, asyncpg.CheckViolationError)
            else (409, "the request conflicts with stored data")
        )
        status, detail = CONSTRAINT_PROBLEMS.get(constraint, fallback)
        return Problem(status, detail, {"constraint": constraint} if constraint else {})
    # Class 22 errors are values PostgreSQL cannot store, such as a NUL character in a text.
    return Problem(422, f"a value cannot be stored: {exc.args[0] if exc.args else 'invalid data'}", {})


def problem_document(
    exc: ProvenanceError | asyncpg.IntegrityConstraintViolationError | asyncpg.DataError,
) -> dict[str, Any]:
    """The problem+json body a request refused with ``exc`` gets, for reports that list several (bulk import)."""
    problem = problem_of(exc)
    return {"status": problem.status, "title": problem.title, "detail": problem.detail, **problem.extra}


# What a request meets when PostgreSQL is down, restarting or out of reach: worth a retry, not a 500.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,  # refused or missing socket; TimeoutError (pool acquire, command deadline) is one too
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    # of DATABASE_URL's hosts none is read-write: a failover is under way (docs/operations.md)
    asyncpg.TargetServerAttributeNotMatched,
)


# How asyncpg's client reports a connection PostgreSQL dropped under a request, as misuse: a statement
# on it or the end of its transaction ("... connection is closed"), or a call after the pool took the
# dead connection back ("... released back to the pool"). The service makes neither mistake otherwise.
LOST_CONNECTION = ("connection is closed", "released back to the pool")


def connection_lost(exc: BaseException) -> bool:
    """Whether an error of asyncpg's client comes from PostgreSQL dropping the connection: it says so,
    or it was raised while handling the drop."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DATABASE_UNAVAILABLE) or any(words in str(seen) for words in LOST_CONNECTION):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
