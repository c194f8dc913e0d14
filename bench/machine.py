"""What each result records about where it was measured: the machine (CPU model, cores, memory,
kernel), the versions of everything the figures depend on (Python and its packages, PostgreSQL,
wrk, pgbench), and the cores the server and the load generator are pinned to with ``taskset``
(one each when there are two, so that they do not take turns on one core).
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg


def machine() -> dict[str, Any]:
    """CPU model, cores, memory and kernel of this machine."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory_kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
    }


def _tool_version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "missing"
    first = (done.stdout or done.stderr).strip().splitlines()[0]
    version = re.search(r"\d+\.\d+[^\s\]]*", first)
    return version.group(0) if version else first


def versions(server_version: str, pgbench: str) -> dict[str, str]:
    """Versions of everything the figures depend on."""
    found = {"python": platform.python_version(), "postgresql": server_version}
    for package in ("litestar", "msgspec", "asyncpg", "uvicorn", "uvloop", "httptools", "granian"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    found["wrk"] = _tool_version(["wrk", "--version"])
    found["pgbench"] = _tool_version([pgbench, "--version"])
    return found


async def postgresql_version(url: str) -> str:
    """The version of the PostgreSQL server at ``url``, as ``SHOW server_version`` gives it."""
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


@dataclass(frozen=True)
class Cores:
    """Where the server and the load generator run: one core each when there are two."""

    server: list[str]
    load: list[str]

    @classmethod
    def pick(cls) -> Cores:
        available = sorted(os.sched_getaffinity(0))
        if len(available) < 2 or not shutil.which("taskset"):
            return cls([], [])
        return cls(["taskset", "-c", str(available[0])], ["taskset", "-c", str(available[1])])
