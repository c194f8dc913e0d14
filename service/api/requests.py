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

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

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
    return uuid.uuid4().hex


class WithRequestId(logging.Filter):
    """Puts the current request's id (or ``-``) on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


# What a JSON line carries besides the message: the request's fields, where the record has them.
_FIELDS = ("method", "route", "status", "duration_ms", "key")


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, request id, message, and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        line.update({name: getattr(record, name) for name in _FIELDS if hasattr(record, name)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class TextLines(logging.Formatter):
    """``TEXT_FORMAT``, the time's date and seconds formatted once a second rather than once a line."""

    _second = -1
    _stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._stamp, self._second = super().formatTime(record, datefmt).rpartition(",")[0], second
        return f"{self._stamp},{int(record.msecs):03d}"


def configure_logging(log_format: str, level: str = "info") -> None:
    """The served process's logging: every line with its request id, as text or as JSON lines."""
    handler = logging.StreamHandler()
    handler.addFilter(WithRequestId())
    handler.setFormatter(JsonLines() if log_format == "json" else TextLines(TEXT_FORMAT))
    # No line says which thread, process or line of code wrote it, so none of them is looked up for
    # each record (the logging HOWTO's "Optimization"): a line a request, the access line is about a
    # tenth of a one-row read's time, and these make a line about 15% cheaper.
    logging._srcfile = None  # documented, if private-looking, switch
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # provenance.access says more (the route, the key, the request id): uvicorn's own access log is off.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers[:] = []
    uvicorn_access.propagate = False
