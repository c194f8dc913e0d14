"""How every error becomes an RFC 9457 problem+json answer: the domain's problems (``service.errors``),
Litestar's own (validation, unknown routes and methods), and the database's (constraints, values it
cannot store, unavailable, colliding writes); anything else is a 500 without a trace. A merged
source's ``Moved`` is a 308 to the survivor.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException

from service.api.metrics import DATABASE_ERRORS, RATE_LIMITED
from service.api.requests import REQUEST_ID
from service.errors import (
    DATABASE_UNAVAILABLE,
    FieldError,
    Moved,
    ProvenanceError,
    Unavailable,
    connection_lost,
    problem_of,
)

log = logging.getLogger("service.errors")


def _problem(status: int, detail: str, *, title: str | None = None, **extra: Any) -> ProblemDetailsException:
    # The request's id, so that a report of this problem leads to its log lines.
    extra["request_id"] = REQUEST_ID.get()
    return ProblemDetailsException(
        status_code=status,
        title=title or HTTPStatus(status).phrase,
        detail=detail,
        extra={k: v for k, v in extra.items() if v is not None} or None,
    )


def _from_known(
    exc: ProvenanceError | asyncpg.IntegrityConstraintViolationError | asyncpg.DataError,
) -> ProblemDetailsException:
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError | asyncpg.DataError):
        kind = "constraint" if isinstance(exc, asyncpg.IntegrityConstraintViolationError) else "value"
        DATABASE_ERRORS.labels(kind=kind).inc()
    known = problem_of(exc)
    problem = _problem(known.status, known.detail, **known.extra)
    problem.headers = known.headers
    return problem


def _field_name(key: str | None, source: Any) -> str:
    # Litestar names body fields "data" at the top level and query parameters by their own name.
    return key if key and key != "data" else "body"


def problem_of_http(exc: HTTPException) -> ProblemDetailsException:
    """The problem an ``HTTPException`` of Litestar's is answered with (a 429 counted among the refused)."""
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
        # The request parsed but breaks the schema: invalid input (docs/contract.md, errors).
        status = 422
    detail = exc.detail if exc.detail and exc.detail != HTTPStatus(exc.status_code).phrase else ""
    problem = _problem(status, detail or HTTPStatus(status).description, errors=errors)
    problem.headers = dict(exc.headers or {})
    if status == 429:
        RATE_LIMITED.inc()
    if status == 429 and "RateLimit-Reset" in problem.headers:
        problem.headers["Retry-After"] = problem.headers["RateLimit-Reset"]
    return problem


def _retry_later(kind: str, detail: str) -> ProblemDetailsException:
    """A 503 with ``Retry-After``, counted among the database errors of its kind."""
    DATABASE_ERRORS.labels(kind=kind).inc()
    problem = _problem(503, detail)
    problem.headers = dict(Unavailable.headers or {})
    return problem


def _from_unavailable(exc: Exception) -> ProblemDetailsException:
    log.warning("database unavailable: %r", exc)
    return _retry_later("unavailable", "The database does not answer right now; retry in a moment.")


def _from_client_error(exc: Exception) -> ProblemDetailsException:
    if connection_lost(exc):
        return _from_unavailable(exc)
    DATABASE_ERRORS.labels(kind="client").inc()
    return _from_unexpected(exc)


def _from_collision(exc: Exception) -> ProblemDetailsException:
    log.warning("write rolled back after retries: %r", exc)
    return _retry_later("collision", "The write kept colliding with concurrent writes; retry in a moment.")


def _from_unexpected(exc: Exception) -> ProblemDetailsException:
    log.exception("unhandled error", exc_info=exc)
    return _problem(500, "The server failed to answer this request; it has been logged.")


def moved_handler(request: Request[Any, Any, Any], exc: Moved) -> Response[bytes]:
    """A permanent redirect that keeps the method and body; it has no body of its own."""
    location = f"/sources/{exc.survivor}{exc.suffix}"
    return Response(b"", status_code=308, headers={"Location": location}, media_type="text/plain")


def problem_details_config() -> ProblemDetailsConfig:
    """Every error of the app, as problem+json."""
    mapping: dict[type[Exception], Any] = {
        ProvenanceError: _from_known,
        HTTPException: problem_of_http,
        asyncpg.IntegrityConstraintViolationError: _from_known,
        asyncpg.DataError: _from_known,
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
