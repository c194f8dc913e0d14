"""Where the served process spends its time: each scenario sent again (not measured) while py-spy
samples the server's process tree, the raw stacks kept under ``.bench/profiles/``, and their
summary for the result: shares of samples by package, by function's own time, and inclusive.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

from bench.load import wrk
from bench.machine import Cores
from bench.paths import BIN, WORK
from bench.processes import Served
from bench.workload import Requests

if TYPE_CHECKING:
    from bench.run import Plan

PROFILED = {
    "row": ("status", None),
    "trace_by_id": ("trace", None),
    "trace_statement": ("statement", None),
    "list_filtered": ("filters", None),
    "create_claim": ("create", "token"),
}


def _frame(frame: str) -> str:
    """``name (path/file.py:12)`` without the line number."""
    return re.sub(r":\d+\)$", ")", frame.strip())


def _package(frame: str) -> str:
    """The top-level package (or stdlib module) a frame's file belongs to."""
    found = re.search(r"\(([^)]*)\)$", frame)
    path = found.group(1) if found else frame
    path = path.split("site-packages/", 1)[-1].split("/lib/python3", 1)[-1]
    parts = [p for p in path.split("/") if p and not p.startswith(".")]
    if parts and parts[0].isdigit():  # lib/python3.11/asyncio/...: drop the version left over
        parts = parts[1:]
    return parts[0].removesuffix(".py") if parts else "?"


def summarize(raw: str, top: int = 15) -> dict[str, Any]:
    """py-spy's collapsed stacks as shares: by package of the running frame, by function, inclusive."""
    total = 0
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    packages: dict[str, int] = {}
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        # --subprocesses roots each stack in "process PID:<command line>": not code, and machine-specific
        frames = [_frame(f) for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        total += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        packages[_package(frames[-1])] = packages.get(_package(frames[-1]), 0) + n
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n

    def shares(counts: dict[str, int], limit: int) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:limit]
        return [(name, round(n / total, 3)) for name, n in ranked] if total else []

    return {
        "samples": total,
        "by_package": shares(packages, 10),
        "self": shares(own, top),
        "inclusive": [(f, s) for f, s in shares(inclusive, 4 * top) if s < 0.95][:top],
    }


def profile(served: Served, cores: Cores, requests: Requests, token: str, plan: Plan, label: str) -> dict[str, Any]:
    """Each scenario again under py-spy (not measured): where the served process spends its time."""
    py_spy = shutil.which("py-spy") or str(BIN / "py-spy")
    folder = WORK / "profiles"
    folder.mkdir(exist_ok=True)
    found = {}
    for scenario, (lines, auth) in PROFILED.items():
        if not plan.runs(scenario):
            continue
        raw = folder / f"{label}-{scenario}.txt"
        connections = plan.statement_connections if scenario == "trace_statement" else plan.connections
        command = [py_spy, "record", "--pid", str(served.pid), "--subprocesses", "--duration", str(plan.load.seconds)]
        command += ["--rate", "200", "--format", "raw", "--nonblocking", "--output", str(raw)]
        spy = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wrk(served, cores, requests.path(lines), connections, plan.load.seconds, token if auth else None)
        spy.wait(timeout=60)
        if raw.exists():
            found[scenario] = summarize(raw.read_text())
    return found
