"""The ``provenance`` command as a newcomer runs it: an embedded PostgreSQL, migrate, seed, serve."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import serving

PROVENANCE = [sys.executable, "-m", "service.cli"]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROVENANCE, *args], env=env, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def newcomer_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh clone: no DATABASE_URL."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PROVENANCE_DATA_DIR"] = str(tmp_path / "data")
    return env


@pytest.fixture
def served(newcomer_env: dict[str, str]) -> Iterator[str]:
    """``provenance serve --migrate --seed`` on the embedded server, as ``make run`` does."""
    with serving("--migrate", "--seed", env=newcomer_env) as base:
        yield base


def test_migrate_and_seed_use_the_embedded_server_and_seeding_is_idempotent(
    newcomer_env: dict[str, str], tmp_path: Path
) -> None:
    migrated = run("migrate", env=newcomer_env)
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "data" / "PG_VERSION").exists()
    first = run("seed", env=newcomer_env)
    assert first.returncode == 0, first.stderr
    assert re.search(r"[1-9]\d* new claim\(s\)", first.stdout), first.stdout
    second = run("seed", env=newcomer_env)
    assert second.returncode == 0, second.stderr
    assert "0 new claim(s), 0 new source(s)" in second.stdout


def test_serve_migrates_seeds_and_answers_with_docs(served: str) -> None:
    assert httpx.get(f"{served}/health").json()["status"] == "ok"
    assert httpx.get(f"{served}/schema").status_code == 200
    items = httpx.get(f"{served}/trace", params={"statement": "first such call since March 2023"}).json()["items"]
    assert [h["source"]["name"] for h in items[0]["trace"]["path"]] == ["Hina", "Reuters", "Patrick Ryder"]


def test_unknown_command_fails_with_usage(newcomer_env: dict[str, str]) -> None:
    result = run("frobnicate", env=newcomer_env)
    assert result.returncode == 2
    assert "usage" in result.stderr
