"""Each request followed through the logs: an id for every request, one log line for every answer, and
the id on every log line written meanwhile and in every problem+json body. ``service.api.front`` gives
each request its id and writes its line.

The id is the caller's ``X-Request-Id`` when it is a sane token (letters, digits, ``.``, ``_``, ``-``,
at most 128), else the trace id of a W3C ``traceparent``, else a new one; the answer carries it back
in ``X-Request-Id``; an unknown path's 404 has an id and a line too. Log lines are human-readable by
default, one JSON object each with ``PROVENANCE_LOG_FORMAT=json``; the per-request line (logger
``provenance.access``) holds the time, id, method, route template (never the raw path with its ids),
status, duration and the name of the API key, never its secret and never a claim's words.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

if TYPE_CHECKING:
    from litestar.types import Scope

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
"""The id of the request being answered, for log lines and problem bodies."""

_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
access_log = logging.getLogger("provenance.access")


def request_id_of(raw_headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The id a request goes by: its valid ``X-Request-Id``, else its ``traceparent``'s trace id, else new."""
    given = parent = ""
    for name, value in raw_headers:
        if name == b"x-request-id":  # ASGI header names come lower-cased
            given = value.decode("latin-1")
        elif name == b"traceparent":
            parent = value.decode("latin-1")
    if _GIVEN_ID.fullmatch(given):
        return given
    traced = _TRACEPARENT.fullmatch(parent.strip().lower())
    if traced and traced[1] != "0" * 32:
        return traced[1]
    return _made.next()


class MadeIds:
    """New request ids, 32 hex digits: 16 drawn at random once a process, then a count of 16.

    Unique across the processes of a deployment as uuid4's are (the random half, drawn again in a
    forked child), and within one by the count, without a system call for each request's randomness.
    """

    def __init__(self) -> None:
        self.drawn()
        os.register_at_fork(after_in_child=self.drawn)

    def drawn(self) -> None:
        """A new random half and a count from zero: at start and in a forked child."""
        self.prefix = os.urandom(8).hex()
        self.count = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.count):016x}"


_made = MadeIds()


def header_of(scope: Scope, name: bytes) -> str | None:
    """A request's first header ``name`` (lower-case, as ASGI gives header names), read from its scope
    without building Litestar's ``Headers`` of them all, which a read that looks at no other header
    would build for this one alone."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class WithRequestId(logging.Filter):
    """Puts the current request's id (or ``-``) on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


# What a JSON line carries besides the message: the request's fields, where the record has them.
_FIELDS = ("method", "route", "status", "duration_ms", "key")


class LineParts(NamedTuple):
    """What a line says: a record's parts, or the access line's without a record."""

    created: float
    level: str
    logger: str
    request_id: str
    message: str
    fields: dict[str, Any]
    exception: str | None = None


class LineFormatter(logging.Formatter):
    """A formatter that builds a line from its parts (``line``), so that a record and the access line
    written without one (``Lines.access``) come out alike."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return self.line(
            LineParts(
                record.created,
                record.levelname,
                record.name,
                getattr(record, "request_id", "-"),
                record.getMessage(),
                {name: getattr(record, name) for name in _FIELDS if hasattr(record, name)},
                record.exc_text,
            )
        )

    def line(self, parts: LineParts) -> str:
        """One line (with an exception, its traceback too) from its parts."""
        raise NotImplementedError

    def access(
        self,
        created: float,
        request_id: str,
        method: str,
        route: str | None,
        status: int,
        took_ms: float,
        key: str | None,
    ) -> str:
        """The access line, as a record of ``access_log`` with these fields would be formatted."""
        message, fields = access_parts(method, route, status, took_ms, key)
        return self.line(LineParts(created, "INFO", access_log.name, request_id, message, fields))


class JsonLines(LineFormatter):
    """One JSON object a line: time, level, logger, request id, message, and the request's fields."""

    def line(self, parts: LineParts) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(parts.created, UTC).isoformat(timespec="milliseconds"),
            "level": parts.level.lower(),
            "logger": parts.logger,
            "request_id": parts.request_id,
            "message": parts.message,
            **parts.fields,
        }
        if parts.exception:
            line["exception"] = parts.exception
        return json.dumps(line, ensure_ascii=False, default=str)


class TextLines(LineFormatter):
    """``time level logger [request id] message``, the time's date and seconds formatted once a second
    rather than once a line."""

    _second = -1
    _stamp = ""

    def line(self, parts: LineParts) -> str:
        line = f"{self._time(parts.created)} {parts.level} {parts.logger} [{parts.request_id}] {parts.message}"
        return f"{line}\n{parts.exception}" if parts.exception else line

    def access(
        self,
        created: float,
        request_id: str,
        method: str,
        route: str | None,
        status: int,
        took_ms: float,
        key: str | None,
    ) -> str:
        # The line ``line`` makes of the access record, in one format rather than through its parts.
        keyed = "" if key is None else f" key={key}"
        return (
            f"{self._time(created)} INFO provenance.access [{request_id}] "
            f"{method} {route or '-'} {status} {took_ms:.1f}ms{keyed}"
        )

    def _time(self, created: float) -> str:
        """``2026-12-07 12:00:00,123``: the date and seconds formatted once a second."""
        second = int(created)
        if second != self._second:
            self._stamp, self._second = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second)), second
        return f"{self._stamp},{int((created - second) * 1000):03d}"


class Lines(logging.StreamHandler):  # type: ignore[type-arg]
    """The served process's one handler: its lines to standard error, through a buffer that is flushed
    once a turn of the event loop rather than once a line.

    Each flush is a system call. Under load one turn of the loop answers several requests, so their
    access lines go out in one ``write``; a line waits at most for the turn to end (a line written
    outside the loop, from a thread or at exit, is flushed at once, and ``logging.shutdown`` flushes at
    exit). Only a process killed outright can lose the lines of its last turn.
    """

    def __init__(self, formatter: LineFormatter, stream: TextIO | None = None) -> None:
        if stream is None:
            stream = open(  # noqa: SIM115 (the process's for its whole life)
                sys.stderr.fileno(), "w", buffering=1 << 16, encoding="utf-8", errors="backslashreplace", closefd=False
            )
        super().__init__(stream)
        self.setFormatter(formatter)
        self.addFilter(WithRequestId())
        self.lines = formatter
        self._flush_in: asyncio.AbstractEventLoop | None = None

    def flush(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            super().flush()
            return
        if self._flush_in is not loop:
            self._flush_in = loop
            loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_in = None
        super().flush()

    def access(self, method: str, route: str | None, status: int, took_ms: float, key: str | None) -> None:
        """The access line, written as ``access_log.info`` would write it through this handler, without
        the ``LogRecord``, the filter and the formatter's dispatch (about a quarter of a one-row read's
        time beyond a bare app's, bench/README.md)."""
        line = self.lines.access(time.time(), REQUEST_ID.get() or "-", method, route, status, took_ms, key)
        with self.lock:  # type: ignore[union-attr]
            self.stream.write(line + self.terminator)
            self.flush()


def access_parts(
    method: str, route: str | None, status: int, took_ms: float, key: str | None
) -> tuple[str, dict[str, Any]]:
    """The access line's message (``GET /claims/{claim_id} 200 1.2ms key=desk``) and its fields."""
    message = f"{method} {route or '-'} {status} {took_ms:.1f}ms{f' key={key}' if key is not None else ''}"
    return message, {"method": method, "route": route, "status": status, "duration_ms": round(took_ms, 2), "key": key}


_served: Lines | None = None
"""The handler ``configure_logging`` set, while it is the root's only one."""


def write_access_line(method: str, route: str | None, status: int, took_ms: float, key: str | None) -> None:
    """The access line (logger ``provenance.access``): method, route template, status, time, key name.

    Where the process's logging is as ``configure_logging`` set it, straight through its handler
    (``Lines.access``); else as a record of ``access_log``, to whatever handlers a test or a tool set."""
    root = logging.root.handlers
    if _served is not None and len(root) == 1 and root[0] is _served and not access_log.handlers:
        _served.access(method, route, status, took_ms, key)
        return
    message, fields = access_parts(method, route, status, took_ms, key)
    access_log.info("%s", message, extra=fields)


def configure_logging(log_format: str, level: str = "info") -> None:
    """The served process's logging: every line with its request id, as text or as JSON lines."""
    global _served
    handler = Lines(JsonLines() if log_format == "json" else TextLines())
    # No line says which thread, process or line of code wrote it, so none of them is looked up for
    # each record (the logging HOWTO's "Optimization").
    logging._srcfile = None  # documented, if private-looking, switch
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    _served = handler
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # provenance.access says more (the route, the key, the request id): uvicorn's own access log is off.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers[:] = []
    uvicorn_access.propagate = False
