"""Writes rolled back by PostgreSQL for a serialization failure or a deadlock run again."""

from __future__ import annotations

import asyncpg
import pytest

from service.db import ATTEMPTS, retrying


class FlakyWrite:
    """A write on a real connection whose first ``failures`` attempts are rolled back."""

    def __init__(self, failures: int, error: type[Exception]) -> None:
        self.failures = failures
        self.error = error
        self.attempts = 0

    async def __call__(self, conn: asyncpg.Connection) -> int:
        self.attempts += 1
        async with conn.transaction():
            value: int = await conn.fetchval("SELECT 41 + 1")
            if self.attempts <= self.failures:
                raise self.error("rolled back by the server")
        return value


@pytest.mark.parametrize(
    "error", [asyncpg.SerializationError, asyncpg.DeadlockDetectedError, asyncpg.InvalidCachedStatementError]
)
async def test_a_rolled_back_write_is_run_again(conn: asyncpg.Connection, error: type[Exception]) -> None:
    write = FlakyWrite(failures=ATTEMPTS - 1, error=error)
    assert await retrying(write)(conn) == 42
    assert write.attempts == ATTEMPTS


async def test_the_error_goes_up_after_the_last_attempt(conn: asyncpg.Connection) -> None:
    write = FlakyWrite(failures=ATTEMPTS, error=asyncpg.DeadlockDetectedError)
    with pytest.raises(asyncpg.DeadlockDetectedError):
        await retrying(write)(conn)
    assert write.attempts == ATTEMPTS


async def test_inside_a_callers_transaction_nothing_is_retried(conn: asyncpg.Connection) -> None:
    write = FlakyWrite(failures=1, error=asyncpg.SerializationError)
    with pytest.raises(asyncpg.SerializationError):
        async with conn.transaction():
            await retrying(write)(conn)
    assert write.attempts == 1


async def test_other_errors_are_not_retried(conn: asyncpg.Connection) -> None:
    write = FlakyWrite(failures=1, error=asyncpg.UniqueViolationError)
    with pytest.raises(asyncpg.UniqueViolationError):
        await retrying(write)(conn)
    assert write.attempts == 1
