"""The domain's exceptions and how every error becomes an RFC 9457 problem.

Exception tree::

    ProvenanceError                 a domain rule refused the request
     ├── Unauthorized               401: no API key, or an unknown, revoked or malformed one
     ├── Forbidden                  403: the API key's scope does not reach this operation
     ├── NotFound                   404: an id that names nothing (or is not an id at all)
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
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException

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
    """A merged source: the request belongs at its survivor (308 with ``Location``)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class Unavailable(ProvenanceError):
    """The database does not answer."""

    status = 503
    headers = {"Retry-After": "1"}


def _problem(status: int, detail: str, *, title: str | None = None, **extra: Any) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=status,
        title=title or HTTPStatus(status).phrase,
        detail=detail,
        extra={k: v for k, v in extra.items() if v is not None} or None,
    )


def _from_domain(exc: ProvenanceError) -> ProblemDetailsException:
    problem = _problem(exc.status, exc.detail, errors=exc.errors or None, **exc.extra)
    problem.headers = exc.headers
    return problem


def _field_name(key: str | None, source: Any) -> str:
    # Litestar names body fields "data" at the top level and query parameters by their own name.
    return key if key and key != "data" else "body"


def _from_http(exc: HTTPException) -> ProblemDetailsException:
    errors = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        errors = [
            FieldError(_field_name(item.get("key"), item.get("source")), str(item.get("message", "")))
            for item in exc.extra
            if isinstance(item, Mapping)
        ]
    status = exc.status_code
    if errors and [e["message"] for e in errors] == ["'data'"]:
        # Litestar's word for a request with no body at all: nothing to parse, so a 400.
        return _problem(400, "the request needs a JSON body")
    if errors:
        # The request parsed but breaks the schema: invalid input, as PRODUCT.md section 3 says.
        status = 422
    detail = exc.detail if exc.detail and exc.detail != HTTPStatus(exc.status_code).phrase else ""
    problem = _problem(status, detail or HTTPStatus(status).description, errors=errors)
    problem.headers = dict(exc.headers or {})
    if status == 429 and "RateLimit-Reset" in problem.headers:
        problem.headers["Retry-After"] = problem.headers["RateLimit-Reset"]
    return problem


_CONSTRAINT_MESSAGES = {
    "sources_wikidata_key": (409, "another source already has this Wikidata identifier"),
    "affiliations_unique": (409, "this affiliation is already recorded"),
    "claim_relations_unique": (409, "this relation is already recorded"),
    "affiliations_not_self_check": (422, "a source cannot be affiliated to itself"),
    "affiliations_period_check": (422, "an affiliation's since must not be after its until"),
}


def _from_integrity(exc: asyncpg.IntegrityConstraintViolationError) -> ProblemDetailsException:
    constraint = getattr(exc, "constraint_name", None) or ""
    fallback = (
        (422, "the request breaks a rule of the stored data")
        if isinstance(exc, asyncpg.CheckViolationError)
        else (409, "the request conflicts with stored data")
    )
    status, detail = _CONSTRAINT_MESSAGES.get(constraint, fallback)
    return _problem(status, detail, constraint=constraint or None)


def _from_data_error(exc: asyncpg.DataError) -> ProblemDetailsException:
    # Class 22 errors are values PostgreSQL cannot store, such as a NUL character in a text.
    return _problem(422, f"a value cannot be stored: {exc.args[0] if exc.args else 'invalid data'}")


# What a request meets when PostgreSQL is down, restarting or out of reach: worth a retry, not a 500.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,  # refused or missing socket; TimeoutError (pool acquire, command deadline) is one too
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def _from_unavailable(exc: Exception) -> ProblemDetailsException:
    log.warning("database unavailable: %r", exc)
    problem = _problem(503, "The database does not answer right now; retry in a moment.")
    problem.headers = dict(Unavailable.headers or {})
    return problem


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


def _from_client_error(exc: Exception) -> ProblemDetailsException:
    return _from_unavailable(exc) if connection_lost(exc) else _from_unexpected(exc)


def _from_collision(exc: Exception) -> ProblemDetailsException:
    log.warning("write rolled back after retries: %r", exc)
    problem = _problem(503, "The write kept colliding with concurrent writes; retry in a moment.")
    problem.headers = dict(Unavailable.headers or {})
    return problem


def _from_unexpected(exc: Exception) -> ProblemDetailsException:
    log.exception("unhandled error", exc_info=exc)
    return _problem(500, "The server failed to answer this request; it has been logged.")


def problem_document(
    exc: ProvenanceError | asyncpg.IntegrityConstraintViolationError | asyncpg.DataError,
) -> dict[str, Any]:
    """The problem+json body a request refused with ``exc`` gets, for reports that list several (bulk import)."""
    if isinstance(exc, ProvenanceError):
        problem = _from_domain(exc)
    elif isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        problem = _from_integrity(exc)
    else:
        problem = _from_data_error(exc)
    extra = problem.extra if isinstance(problem.extra, dict) else {}
    return {"status": problem.status_code, "title": problem.title, "detail": problem.detail, **extra}


def moved_handler(request: Request[Any, Any, Any], exc: Moved) -> Response[bytes]:
    """A permanent redirect that keeps the method and body; it has no body of its own."""
    return Response(b"", status_code=308, headers={"Location": exc.location}, media_type="text/plain")


def problem_details_config() -> ProblemDetailsConfig:
    """Every error of the app, as problem+json."""
    mapping: dict[type[Exception], Any] = {
        ProvenanceError: _from_domain,
        HTTPException: _from_http,
        asyncpg.IntegrityConstraintViolationError: _from_integrity,
        asyncpg.DataError: _from_data_error,
        **dict.fromkeys(DATABASE_UNAVAILABLE, _from_unavailable),
        asyncpg.InterfaceError: _from_client_error,
        # asyncpg's protocol left in a state it cannot go on from, as when PostgreSQL dies mid-reply;
        # the pool closes that connection when it comes back.
        asyncpg.InternalClientError: _from_unavailable,
        asyncpg.TransactionRollbackError: _from_collision,
        asyncpg.InvalidCachedStatementError: _from_collision,
        Exception: _from_unexpected,
    }
    return ProblemDetailsConfig(exception_to_problem_detail_map=mapping)
