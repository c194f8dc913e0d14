"""API keys: making one (its secret shown once, only its hash kept), finding it by secret, revoking it.

A key's ``scope`` grants what the scopes before it grant: ``read`` reads, ``write`` reads and
writes, ``admin`` also merges sources.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Literal, get_args

import asyncpg
import msgspec

from service.domain import audit
from service.errors import Conflict, InvalidInput, NotFound
from service.repositories import keys as repo

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)

PREFIX = "prov_"
"""Every secret starts with it, so that a leaked one is easy to recognise (and to scan for)."""

ACTOR = "cli"
"""The actor of the audit entries of key changes: keys are made and revoked on the command line only."""

SECRET_PATTERN = re.compile(rf"^{PREFIX}[A-Za-z0-9_-]{{43}}$")
"""``PREFIX`` and 32 random bytes in URL-safe base64, as ``new_secret`` makes them."""


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A stored key, without its secret: that is never kept."""

    name: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None = None

    def grants(self, needed: Scope) -> bool:
        """Whether this key's scope is ``needed`` or above it."""
        return SCOPES.index(self.scope) >= SCOPES.index(needed)


def new_secret() -> str:
    """A fresh secret: the prefix and 256 random bits."""
    return PREFIX + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """The SHA-256 of a secret, as stored.

    A fast hash is right here: the secrets are 256 random bits, not passwords, so there is nothing to
    guess from a leaked hash, and a slow hash would only slow every request.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_secret(token: str) -> bool:
    """Whether ``token`` has the shape of a secret this service makes."""
    return SECRET_PATTERN.fullmatch(token) is not None


def _key(record: asyncpg.Record) -> ApiKey:
    return msgspec.convert(dict(record.items()), ApiKey)


async def create(conn: asyncpg.Connection, name: str, scope: str) -> tuple[ApiKey, str]:
    """Store a new key named ``name``; returns it with its secret, which nothing keeps."""
    name = name.strip()
    if not name:
        raise InvalidInput.field("name", "the name is blank")
    if len(name) > 100:
        raise InvalidInput.field("name", "the name is longer than 100 characters")
    if scope not in SCOPES:
        raise InvalidInput.field("scope", f"give one of {', '.join(SCOPES)}")
    secret = new_secret()
    async with conn.transaction():
        try:
            record = await repo.insert(conn, name, scope, secret_hash(secret))
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "api_keys_name_key":
                raise Conflict(f"a key named {name!r} exists already (revoked keys keep their names)") from None
            raise
        change = {"name": name, "scope": scope}
        await audit.append(
            conn, actor=ACTOR, action="create", entity_type="api_key", entity_id=record["id"], change=change
        )
    return _key(record), secret


async def authenticate(conn: asyncpg.Connection, secret: str) -> ApiKey | None:
    """The unrevoked key of this secret; None for an unknown, revoked or malformed one."""
    if not looks_like_secret(secret):
        return None
    record = await repo.active_by_hash(conn, secret_hash(secret))
    return _key(record) if record is not None else None


async def every(conn: asyncpg.Connection) -> list[ApiKey]:
    """Every key, revoked ones too, oldest first."""
    return [_key(r) for r in await repo.every(conn)]


async def revoke(conn: asyncpg.Connection, name: str) -> ApiKey:
    """Revoke the key named ``name`` from now on; 404 when none has that name."""
    async with conn.transaction():
        record = await repo.revoke(conn, name)
        if record is None:
            raise NotFound(f"no key is named {name!r}")
        change = {"name": name, "revoked_at": audit.moment(record["revoked_at"])}
        await audit.append(
            conn, actor=ACTOR, action="revoke", entity_type="api_key", entity_id=record["id"], change=change
        )
    return _key(record)
