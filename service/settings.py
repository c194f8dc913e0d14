"""Configuration from the environment, in one Struct."""

from __future__ import annotations

import os

import msgspec
from litestar.di import NamedDependency

FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the service reads from its environment."""

    database_url: str | None = None
    """PostgreSQL DSN; unset means an embedded server under ``data_dir``."""
    data_dir: str = ".provenance"
    pool_min_size: int = 2
    pool_max_size: int = 10
    command_timeout: float = 10.0
    """Seconds one SQL command may take before the request fails (503)."""
    acquire_timeout: float = 3.0
    """Seconds a request waits for a pooled connection before it fails (503)."""
    trace_max_depth: int = 32
    """How many upstream links a trace follows at most."""
    public_reads: bool = True
    """Whether reads need no API key; writes always need one."""
    read_rate_limit_per_minute: int = 600
    """Reads one API key (else one address) may make a minute; 0 lifts the limit."""
    write_rate_limit_per_minute: int = 120
    """Writes one API key (else one address) may make a minute; 0 lifts the limit."""
    max_body_bytes: int = 1_048_576
    """The largest request body accepted; a larger one is a 413."""
    shutdown_timeout: int = 20
    """Seconds ``provenance serve`` lets requests in flight finish after SIGTERM before cancelling them."""
    max_import_bytes: int = 134_217_728
    """The largest body ``POST /claims/import`` accepts (NDJSON, streamed); a larger one is a 413."""
    session_secret: str | None = None
    """The secret sealing the workspace's session cookies (AES-GCM) and signing its CSRF tokens; unset,
    each process makes its own, so a restart signs everyone out and ``--workers N`` needs it set."""

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read ``DATABASE_URL`` and ``PROVENANCE_*`` variables; keyword overrides win."""
        env = os.environ
        values: dict[str, object] = {
            "database_url": env.get("DATABASE_URL") or None,
            "data_dir": env.get("PROVENANCE_DATA_DIR", ".provenance"),
            "pool_min_size": int(env.get("PROVENANCE_POOL_MIN_SIZE", "2")),
            "pool_max_size": int(env.get("PROVENANCE_POOL_MAX_SIZE", "10")),
            "command_timeout": float(env.get("PROVENANCE_COMMAND_TIMEOUT", "10")),
            "acquire_timeout": float(env.get("PROVENANCE_ACQUIRE_TIMEOUT", "3")),
            "public_reads": env.get("PROVENANCE_PUBLIC_READS", "true").strip().lower() not in FALSE_WORDS,
            "read_rate_limit_per_minute": int(env.get("PROVENANCE_RATE_LIMIT_PER_MINUTE", "600")),
            "write_rate_limit_per_minute": int(env.get("PROVENANCE_WRITE_RATE_LIMIT_PER_MINUTE", "120")),
            "max_body_bytes": int(env.get("PROVENANCE_MAX_BODY_BYTES", "1048576")),
            "shutdown_timeout": int(env.get("PROVENANCE_SHUTDOWN_TIMEOUT", "20")),
            "max_import_bytes": int(env.get("PROVENANCE_MAX_IMPORT_BYTES", "134217728")),
            "session_secret": env.get("PROVENANCE_SESSION_SECRET") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return msgspec.convert(values, cls)


AppSettings = NamedDependency[Settings]
"""A handler parameter receiving the app's settings."""
