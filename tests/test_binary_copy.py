"""COPY's binary format written in Python: every field reads back in PostgreSQL as the value it was made
from, NULL included, and a payload of many rows is stored whole."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from service.repositories import binary_copy
from service.repositories.binary_copy import Copy, payload, row, send

ID = UUID("0b5e4a5c-8d0e-4f43-9c52-2d5c7e0b9f10")
OTHER = UUID("628da9bb-78db-5b7e-81c0-506713da09c8")
ZAGREB_SUMMER = timezone(timedelta(hours=2))

# (column type, field function, value made, value read back)
FIELDS: list[tuple[str, Callable[[Any], bytes], Any, Any]] = [
    ("uuid", binary_copy.uuid, ID, ID),
    ("text", binary_copy.text, "Razvozhayev, Развожаев: \"quoted\"\n\ttabbed \\ 🙂", None),
    ("text", binary_copy.text, "", None),
    ("smallint", binary_copy.int2, -3, None),
    ("integer", binary_copy.int4, 2_000_000_000, None),
    ("bigint", binary_copy.int8, 9_000_000_000_000, None),
    ("timestamptz", binary_copy.timestamptz, datetime(2024, 6, 25, 12, 0, 0, 123456, tzinfo=ZAGREB_SUMMER), None),
    ("timestamptz", binary_copy.timestamptz, datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None),
    ("timestamptz", binary_copy.timestamptz, datetime(1, 1, 2, tzinfo=UTC), None),
    ("date", binary_copy.date_, date(2020, 1, 1), None),
    ("date", binary_copy.date_, date(1970, 6, 1), None),
    ("bytea", binary_copy.bytea, bytes(range(256)), None),
    ("bytea", binary_copy.bytea, b"", None),
    ("uuid[]", binary_copy.uuid_array, [ID, OTHER, ID], None),
    ("uuid[]", binary_copy.uuid_array, [], None),
]  # fmt: skip


async def stored(conn: asyncpg.Connection, column_type: str, field: bytes) -> Any:
    """The one value a table of one column holds after a COPY of one row with ``field``."""
    async with conn.transaction():
        await conn.execute(f"CREATE TEMP TABLE copied (value {column_type}) ON COMMIT DROP")
        await send(conn, Copy("copied", ["value"], payload([row(field)])))
        return await conn.fetchval("SELECT value FROM copied")


class TestFields:
    @pytest.mark.parametrize(("column_type", "field", "value", "expected"), FIELDS)
    async def test_a_field_reads_back_as_the_value_it_was_made_from(
        self, conn: asyncpg.Connection, column_type: str, field: Callable[[Any], bytes], value: Any, expected: Any
    ) -> None:
        assert await stored(conn, column_type, field(value)) == (value if expected is None else expected)

    @pytest.mark.parametrize(
        ("column_type", "field"),
        [("uuid", binary_copy.uuid), ("text", binary_copy.text), ("timestamptz", binary_copy.timestamptz),
         ("date", binary_copy.date_), ("bytea", binary_copy.bytea)],
    )  # fmt: skip
    async def test_none_is_null(
        self, conn: asyncpg.Connection, column_type: str, field: Callable[[Any], bytes]
    ) -> None:
        assert await stored(conn, column_type, field(None)) is None

    async def test_jsonb_is_its_text_parsed(self, conn: asyncpg.Connection) -> None:
        value = await stored(conn, "jsonb", binary_copy.jsonb(b'{"b": [1, "\\u00e9"], "a": null}'))
        assert value == {"a": None, "b": [1, "é"]}


class TestPayload:
    async def test_many_rows_of_many_columns_are_stored_in_order(self, conn: asyncpg.Connection) -> None:
        rows = [
            row(binary_copy.int4(n), binary_copy.text(f"row {n}" * (n % 7)), binary_copy.uuid(ID)) for n in range(5000)
        ]
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE copied (n integer, label text, id uuid) ON COMMIT DROP")
            await send(conn, Copy("copied", ["n", "label", "id"], payload(rows)))
            stored = await conn.fetch("SELECT n, label, id FROM copied")
        assert [tuple(r) for r in stored] == [(n, f"row {n}" * (n % 7), ID) for n in range(5000)]

    async def test_a_row_short_of_a_column_is_refused_whole(self, conn: asyncpg.Connection) -> None:
        with pytest.raises(asyncpg.BadCopyFileFormatError):
            async with conn.transaction():
                await conn.execute("CREATE TEMP TABLE copied (n integer, label text) ON COMMIT DROP")
                await send(conn, Copy("copied", ["n", "label"], payload([row(binary_copy.int4(1))])))
