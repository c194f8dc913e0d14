"""PostgreSQL's binary COPY format, written in Python: a batch's rows made into bytes anywhere, with no
connection (``send`` alone needs one), so that an initial load's resolving process hands its writer data ready to send.

Each field function returns a whole field (its length, then its value); ``row`` joins a row's fields;
``payload`` frames rows as one ``COPY ... FROM STDIN (FORMAT binary)`` stream. The values are those
of PostgreSQL's binary send/receive functions (``src/backend/utils/adt``): a ``timestamptz`` is
microseconds since 2000-01-01 UTC, a ``date`` days since then, a ``jsonb`` a version byte and its
text, an array a header (dimensions, null flag, element type, length, lower bound) and its elements.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from uuid import UUID

import asyncpg

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
NULL = struct.pack(">i", -1)

UUID_OID = 2950
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_POSTGRES_EPOCH_DATE = date(2000, 1, 1)
_MICROSECOND = timedelta(microseconds=1)

_int2 = struct.Struct(">ih").pack
_int4 = struct.Struct(">ii").pack
_int8 = struct.Struct(">iq").pack
_length = struct.Struct(">i").pack
_count = struct.Struct(">h").pack
_UUID_FIELD = _length(16)
_ARRAY_HEADER = struct.Struct(">iiiiii").pack  # field length, then ndim, has-null, element type, length, lower bound
_EMPTY_UUID_ARRAY = _length(12) + struct.pack(">iii", 0, 0, UUID_OID)


def uuid(value: UUID | None) -> bytes:
    """A ``uuid`` field."""
    return NULL if value is None else _UUID_FIELD + value.bytes


def text(value: str | None) -> bytes:
    """A ``text`` field."""
    if value is None:
        return NULL
    data = value.encode()
    return _length(len(data)) + data


@functools.lru_cache(maxsize=1 << 12)
def word(value: str | None) -> bytes:
    """A ``text`` field of a value that recurs (a kind, a language, a cue): made once, then remembered."""
    return text(value)


def int2(value: int) -> bytes:
    """A ``smallint`` field."""
    return _int2(2, value)


def int4(value: int | None) -> bytes:
    """An ``integer`` field."""
    return NULL if value is None else _int4(4, value)


def int8(value: int) -> bytes:
    """A ``bigint`` field."""
    return _int8(8, value)


def timestamptz(value: datetime | None) -> bytes:
    """A ``timestamptz`` field, from an aware time."""
    return NULL if value is None else _int8(8, (value - _POSTGRES_EPOCH) // _MICROSECOND)


def date_(value: date | None) -> bytes:
    """A ``date`` field."""
    return NULL if value is None else _int4(4, (value - _POSTGRES_EPOCH_DATE).days)


def bytea(value: bytes | None) -> bytes:
    """A ``bytea`` field."""
    return NULL if value is None else _length(len(value)) + value


def json(encoded: bytes) -> bytes:
    """A ``json`` field from its JSON text, which PostgreSQL keeps byte for byte."""
    return _length(len(encoded)) + encoded


def jsonb(encoded: bytes) -> bytes:
    """A ``jsonb`` field from its JSON text."""
    return _length(len(encoded) + 1) + b"\x01" + encoded


def uuid_array(values: Sequence[UUID]) -> bytes:
    """A one-dimensional ``uuid[]`` field without nulls."""
    if not values:
        return _EMPTY_UUID_ARRAY
    header = _ARRAY_HEADER(20 + 20 * len(values), 1, 0, UUID_OID, len(values), 1)
    return header + b"".join([_UUID_FIELD + value.bytes for value in values])


_COUNTS = [_count(n) for n in range(64)]


def row(*fields: bytes) -> bytes:
    """One row of the given fields, in the order of the COPY's column list."""
    return _COUNTS[len(fields)] + b"".join(fields)


def count(fields: int) -> bytes:
    """What starts a row of ``fields`` fields: for rows joined by hand (``b"".join((count(n), ...))``)."""
    return _COUNTS[fields]


def payload(rows: Iterable[bytes]) -> bytes:
    """Rows framed as one binary COPY stream."""
    return b"".join([HEADER, *rows, TRAILER])


class Copy(NamedTuple):
    """One table's rows as a binary COPY stream, for the columns named."""

    table: str
    columns: Sequence[str]
    data: bytes


async def send(conn: asyncpg.Connection, copy: Copy) -> None:
    """Store a table's rows with COPY."""
    # A memoryview, since asyncpg takes bytes for a path.
    await conn.copy_to_table(copy.table, source=memoryview(copy.data), columns=list(copy.columns), format="binary")
