"""Configuration at a glance: `provenance config` prints every setting with its value and origin (secrets
masked); an unknown PROVENANCE_* variable is a warning, an invalid value one line and exit 2; a command
run against a database whose schema is missing or behind says so in one line, naming the command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import pytest

from service import migrations
from service.settings import Settings, SettingsError
from tests.helpers import Server


def provenance(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env=env, capture_output=True, text=True, timeout=180
    )


def test_config_prints_every_setting_its_value_and_origin_with_secrets_masked() -> None:
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://desk:hunter2@db.example:5432/provenance",
        "PROVENANCE_SESSION_SECRET": "very-secret-words",
        "PROVENANCE_POOL_MAX_SIZE": "12",
    }
    run = provenance("config", env=env)
    assert run.returncode == 0, run.stderr
    lines = {line.split()[0]: line.split()[1:] for line in run.stdout.splitlines()}
    assert lines["DATABASE_URL"] == ["postgresql://desk:****@db.example:5432/provenance", "environment"]
    assert lines["PROVENANCE_SESSION_SECRET"] == ["****", "environment"]
    assert lines["PROVENANCE_POOL_MAX_SIZE"] == ["12", "environment"]
    assert lines["PROVENANCE_POOL_MIN_SIZE"] == ["2", "default"]
    assert set(lines) >= {"PROVENANCE_PUBLIC_READS", "PROVENANCE_LOG_FORMAT", "PROVENANCE_RATE_LIMIT_PER_MINUTE"}
    assert "hunter2" not in run.stdout and "very-secret-words" not in run.stdout


def test_an_unknown_variable_is_a_warning() -> None:
    run = provenance("config", env={**os.environ, "PROVENANCE_POOL_MAX_SIZ": "12"})
    assert run.returncode == 0
    assert "PROVENANCE_POOL_MAX_SIZ is set but nothing reads it" in run.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PROVENANCE_POOL_MAX_SIZE", "ten", "PROVENANCE_POOL_MAX_SIZE='ten' is not a whole number"),
        ("PROVENANCE_COMMAND_TIMEOUT", "soon", "PROVENANCE_COMMAND_TIMEOUT='soon' is not a number"),
        ("PROVENANCE_LOG_FORMAT", "xml", "PROVENANCE_LOG_FORMAT='xml': use text or json"),
        (
            "DATABASE_URL",
            "postgresql://desk:hunter2@db1:5432,db2:5432/provenance?target_session_attrs=primary-please",
            "DATABASE_URL='postgresql://desk:****@db1:5432,db2:5432/provenance?target_session_attrs=primary-please'"
            ": target_session_attrs must be one of any, primary, standby, prefer-standby, read-write, read-only",
        ),
        (
            "PROVENANCE_READ_DATABASE_URL",
            "mysql://desk:hunter2@db/provenance",
            "PROVENANCE_READ_DATABASE_URL='mysql://desk:****@db/provenance': use a postgresql:// URL",
        ),
    ],
)
def test_an_invalid_value_is_one_line_and_exit_2(variable: str, value: str, message: str) -> None:
    run = provenance("config", env={**os.environ, variable: value})
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [f"provenance: {message}"]


def test_the_settings_refuse_an_invalid_value_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVENANCE_SHUTDOWN_TIMEOUT", "1.5")
    with pytest.raises(SettingsError, match="PROVENANCE_SHUTDOWN_TIMEOUT"):
        Settings.from_env()


def test_a_command_against_a_database_without_its_schema_says_what_to_run(server: Server) -> None:
    url = server.create_database()
    try:
        env = {**os.environ, "DATABASE_URL": url}
        run = provenance("seed", env=env)
        assert run.returncode == 2
        assert run.stderr.strip().splitlines()[-1].startswith("provenance: the database has no schema: run `")
        assert "Traceback" not in run.stderr
        migrations.upgrade(url, "0011")
        run = provenance("keys", "list", env=env)
        assert run.returncode == 2
        assert f"the database schema is at 0011, the code needs {migrations.head()}" in run.stderr
        assert "migrate`" in run.stderr
        assert provenance("migrate", env=env).returncode == 0
        assert provenance("keys", "list", env=env).returncode == 0
        assert asyncio.run(_revision(url)) == migrations.head()
    finally:
        server.drop_database(url)


async def _revision(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        found: str = await conn.fetchval("SELECT version_num FROM alembic_version")
        return found
    finally:
        await conn.close()


LOADED = """
import sys
from service import cli
from service.app import create_app
from service.settings import Settings

create_app(Settings.from_env())
print(" ".join(m for m in ("alembic", "sqlalchemy", "redis", "opentelemetry.sdk") if m in sys.modules))
"""


@pytest.mark.parametrize(
    ("settings", "loaded"),
    [
        ({}, ""),
        # redis-py 8 imports OpenTelemetry's SDK itself (its own observability), wherever it is installed.
        ({"PROVENANCE_REDIS_URL": "redis://127.0.0.1:1/0"}, "redis opentelemetry.sdk"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, "opentelemetry.sdk"),
    ],
)
def test_a_worker_holds_only_the_libraries_its_settings_use(settings: dict[str, str], loaded: str) -> None:
    # A serving worker never migrates (alembic and SQLAlchemy, about 23 MB), counts in Redis only where
    # told to, and traces only into a collector: each library it does not use is memory it does not hold.
    env = {k: v for k, v in os.environ.items() if k not in ("PROVENANCE_REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT")}
    env |= {"DATABASE_URL": "postgresql://127.0.0.1:1/none", **settings}
    run = subprocess.run([sys.executable, "-c", LOADED], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == loaded.split()
