"""Configuration from the environment, in one Struct."""

from __future__ import annotations

import os
from typing import Literal

import msgspec
from litestar.di import NamedDependency

FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the service reads from its environment."""

    database_url: str | None = None
    """PostgreSQL DSN; unset means an embedded server under ``data_dir``."""
    read_database_url: str | None = None
    """A streaming replica (one or more hosts) that ``GET`` routes read from; unset, every read goes to
    ``database_url``."""
    read_wait_ms: int = 250
    """Milliseconds a read carrying ``Provenance-Read-After`` waits for the replica to replay that write
    before the primary answers it instead."""
    read_max_lag: float = 5.0
    """Seconds the replica may lag behind its primary before reads go to the primary."""
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
    redis_url: str | None = None
    """Where the rate limits are counted, shared by every worker and process (``redis://``, ``rediss://``
    or ``unix://``); unset, each process counts in its own memory."""
    max_body_bytes: int = 1_048_576
    """The largest request body accepted; a larger one is a 413."""
    shutdown_timeout: int = 20
    """Seconds ``provenance serve`` lets requests in flight finish after SIGTERM before cancelling them."""
    max_import_bytes: int = 134_217_728
    """The largest body ``POST /claims/import`` accepts (NDJSON, streamed); a larger one is a 413."""
    sealer_stuck_after: float = 60.0
    """Seconds an audit entry may wait to be sealed before ``/ready`` calls the sealer stuck (503)."""
    metrics_public: bool = False
    """Whether ``/metrics`` answers without a key (a scraper on a private network); else it needs ``admin``."""
    metrics: bool = True
    """Whether requests are counted for ``/metrics``; off, neither the counting nor the route is there."""
    otel_endpoint: str | None = None
    """An OpenTelemetry collector (OTLP over HTTP): set, each request and its SQL statements are traced
    there (``service/api/tracing.py``); unset, nothing is traced."""
    pooler: Literal["none", "pgbouncer"] = "none"
    """What stands between the service and PostgreSQL: ``none``, or ``pgbouncer`` (or any pooler in transaction
    mode), which turns asyncpg's statement cache off, since a named statement prepared in one transaction is not
    on the server connection the pooler hands the next (``service/db.py``)."""
    log_format: Literal["text", "json"] = "text"
    """How ``provenance serve`` writes its log lines: ``text`` for a person, ``json`` (a line each) for a collector."""
    session_secret: str | None = None
    """The secret sealing the workspace's session cookies (AES-GCM) and signing its CSRF tokens; unset,
    each process makes its own, so a restart signs everyone out and ``--workers N`` needs it set."""

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read ``DATABASE_URL`` and ``PROVENANCE_*`` variables; keyword overrides win. A value that is
        not of its setting's type is a ``SettingsError`` naming the variable."""
        values: dict[str, object] = {}
        for field, variable in VARIABLES.items():
            raw = os.environ.get(variable)
            if raw is None or (raw == "" and field in EMPTY_IS_UNSET):
                continue
            values[field] = _parsed(field, variable, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return msgspec.convert(values, cls)
        except msgspec.ValidationError as exc:  # a bound a Struct check sets, past the parsing
            raise SettingsError(str(exc)) from None

    def described(self) -> list[tuple[str, str, str]]:
        """Every setting as ``(variable, value, origin)``: ``environment`` or ``default``; secrets masked."""
        rows = []
        for field, variable in VARIABLES.items():
            value = getattr(self, field)
            if field in SECRETS and value:
                shown = "****"
            elif field in URLS and value:
                shown = _without_password(value)
            else:
                shown = "unset" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            rows.append((variable, shown, "environment" if variable in os.environ else "default"))
        return rows


class SettingsError(ValueError):
    """A variable of the environment whose value the service cannot use."""


# Each setting and the variable it is read from.
VARIABLES = {
    "database_url": "DATABASE_URL",
    "read_database_url": "PROVENANCE_READ_DATABASE_URL",
    "read_wait_ms": "PROVENANCE_READ_WAIT_MS",
    "read_max_lag": "PROVENANCE_READ_MAX_LAG",
    "data_dir": "PROVENANCE_DATA_DIR",
    "pooler": "PROVENANCE_POOLER",
    "pool_min_size": "PROVENANCE_POOL_MIN_SIZE",
    "pool_max_size": "PROVENANCE_POOL_MAX_SIZE",
    "command_timeout": "PROVENANCE_COMMAND_TIMEOUT",
    "acquire_timeout": "PROVENANCE_ACQUIRE_TIMEOUT",
    "public_reads": "PROVENANCE_PUBLIC_READS",
    "read_rate_limit_per_minute": "PROVENANCE_RATE_LIMIT_PER_MINUTE",
    "write_rate_limit_per_minute": "PROVENANCE_WRITE_RATE_LIMIT_PER_MINUTE",
    "redis_url": "PROVENANCE_REDIS_URL",
    "max_body_bytes": "PROVENANCE_MAX_BODY_BYTES",
    "shutdown_timeout": "PROVENANCE_SHUTDOWN_TIMEOUT",
    "max_import_bytes": "PROVENANCE_MAX_IMPORT_BYTES",
    "session_secret": "PROVENANCE_SESSION_SECRET",
    "log_format": "PROVENANCE_LOG_FORMAT",
    "metrics": "PROVENANCE_METRICS",
    "metrics_public": "PROVENANCE_METRICS_PUBLIC",
    "otel_endpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
    "sealer_stuck_after": "PROVENANCE_SEALER_STUCK_AFTER",
}
EMPTY_IS_UNSET = frozenset({"database_url", "read_database_url", "session_secret", "redis_url", "otel_endpoint"})
SECRETS = frozenset({"session_secret"})
URLS = frozenset({"database_url", "read_database_url", "redis_url"})
"""Settings shown with their password masked."""
POOLERS = ("none", "pgbouncer")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SESSION_ATTRS = ("any", "primary", "standby", "prefer-standby", "read-write", "read-only")
"""The ``target_session_attrs`` asyncpg knows."""
# PROVENANCE_* variables read elsewhere than the settings: the log level `provenance serve` hands its
# workers, the training corpora, the tests' example recorder and what they reach PostgreSQL through,
# and docker-compose.yml's own.
OTHER_VARIABLES = frozenset(
    {
        "PROVENANCE_LOG_LEVEL",
        "PROVENANCE_CORPORA",
        "PROVENANCE_RECORD_EXAMPLES",
        "PROVENANCE_TEST_THROUGH",
        "PROVENANCE_PORT",
        "PROVENANCE_WORKERS",
        "PROVENANCE_IMAGE",
    }
)


def unknown_variables(environment: dict[str, str] | os._Environ[str]) -> list[str]:
    """The ``PROVENANCE_*`` variables set that nothing reads: a misspelt setting, most likely."""
    known = set(VARIABLES.values()) | OTHER_VARIABLES
    return sorted(name for name in environment if name.startswith("PROVENANCE_") and name not in known)


def _parsed(field: str, variable: str, raw: str) -> object:
    kind = Settings.__annotations__[field]
    text = raw.strip()
    try:
        if "bool" in kind:
            return text.lower() not in FALSE_WORDS
        if kind.startswith("int"):
            return int(text)
        if kind.startswith("float"):
            return float(text)
    except ValueError:
        expected = "a whole number" if kind.startswith("int") else "a number"
        raise SettingsError(f"{variable}={raw!r} is not {expected}") from None
    if field == "log_format":
        if text.lower() not in ("text", "json"):
            raise SettingsError(f"{variable}={raw!r}: use text or json")
        return text.lower()
    if field == "pooler":
        if text.lower() not in POOLERS:
            raise SettingsError(f"{variable}={raw!r}: use {' or '.join(POOLERS)}")
        return text.lower()
    if field == "redis_url":
        return _redis_url(variable, text)
    if field in ("database_url", "read_database_url"):
        return _postgres_url(variable, text)
    return raw


def _redis_url(variable: str, url: str) -> str:
    """``url`` when the Redis client can use it; else a ``SettingsError`` showing it without its password."""
    from redis.connection import parse_url  # only where Redis is configured

    problem = "" if url.startswith(REDIS_SCHEMES) else "use a redis://, rediss:// or unix:// URL"
    if not problem:
        try:
            parse_url(url)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        except ValueError as exc:
            problem = str(exc)
    if problem:
        raise SettingsError(f"{variable}={_without_password(url)!r}: {problem}")
    return url


def _postgres_url(variable: str, url: str) -> str:
    """``url`` when it names PostgreSQL as asyncpg reads it (one host or several, ``host:port`` each, and a
    known ``target_session_attrs``); else a ``SettingsError`` showing it without its password."""
    problem = ""
    if not url.startswith(POSTGRES_SCHEMES):
        problem = "use a postgresql:// URL"
    else:
        rest = url.partition("://")[2]
        hosts = rest.partition("/")[0].partition("?")[0].rpartition("@")[2]
        query = dict(p.partition("=")[::2] for p in rest.partition("?")[2].split("&") if p)
        for host in filter(None, hosts.split(",")):
            port = host.rpartition("]")[2].partition(":")[2] if host.startswith("[") else host.partition(":")[2]
            if port and not port.isdigit():
                problem = f"the port of {host!r} is not a number"
        if query.get("target_session_attrs", "any") not in SESSION_ATTRS:
            problem = f"target_session_attrs must be one of {', '.join(SESSION_ATTRS)}"
    if problem:
        raise SettingsError(f"{variable}={_without_password(url)!r}: {problem}")
    return url


def _without_password(url: str) -> str:
    """``url`` with the password masked: the one after ``user:``, or one passed as ``?password=``."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    rest, question, query = rest.partition("?")
    if question:
        query = "&".join("password=****" if p.startswith("password=") else p for p in query.split("&"))
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        rest = f"{credentials.split(':', 1)[0]}:****@{host}"
    return f"{scheme}{separator}{rest}{question}{query}"


AppSettings = NamedDependency[Settings]
"""A handler parameter receiving the app's settings."""
