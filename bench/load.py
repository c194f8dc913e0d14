"""The load generators and their figures: wrk (one thread, each connection a closed loop) sending the
lines of a request file through ``bench/wrk.lua``, which prints its figures as JSON, after a warm-up
and with the server's memory sampled; and pgbench running the SQL of a request itself (the trace of
``GET /claims/{id}/trace``, the write of ``POST /claims``: ``bench/writes.py``), prepared, its
latencies read from its per-transaction log.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.machine import Cores
from bench.paths import ROOT, WORK
from bench.processes import MemorySampler, Served
from bench.workload import Requests
from service.repositories.traces import FEW, TRACE_FEW, TRACE_ONE

WRK_SCRIPT = ROOT / "bench" / "wrk.lua"


# pgbench runs the trace query of GET /claims/{id}/trace (or of a statement trace's matches) itself,
# prepared, for random stored claims: the ids are UUIDs, so each claim is picked by its dense row
# number in bench_ids, inside the same statement (one round trip, as the app makes).
def pgbench_script(sql: str, id_parameters: Sequence[int], count: int, max_depth: int) -> str:
    """A pgbench script running ``sql`` (TRACE_ONE, TRACE_FEW) with a random claim for each of its
    ``id_parameters`` and the app's depth limit as ``$2``."""
    picks = ""
    for pick, parameter in enumerate(id_parameters):
        picks += f"\\set n{pick} random(1, {count})\n"
        sql = sql.replace(f"${parameter}::uuid", f"(SELECT id FROM bench_ids WHERE n = :n{pick})")
    sql = sql.strip().replace("$2", str(max_depth))
    assert "$" not in sql, "the trace SQL takes a parameter the benchmark does not fill"
    return f"{picks}{sql};\n"


def pgbench_binary() -> str:
    """The system's pgbench, else the one the embedded server ships."""
    import pgserver

    shipped = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
    return shutil.which("pgbench") or str(shipped)


@dataclass(frozen=True)
class Load:
    """How long and how hard each scenario runs."""

    seconds: int
    warmup: int
    series_seconds: int


def wrk(
    served: Served, cores: Cores, lines: Path, connections: int, seconds: int, token: str | None = None
) -> dict[str, Any]:
    """Run wrk on the lines of a file (paths to GET, or bodies to POST with ``token``); its figures."""
    command = [*cores.load, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    command += ["-s", str(WRK_SCRIPT), served.base, "--", str(lines)]
    if token is not None:
        command += ["POST", "/claims", token]
    done = subprocess.run(command, capture_output=True, text=True)
    found = [line for line in done.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if done.returncode != 0 or not found:
        sys.exit(f"wrk failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    raw = json.loads(found[0].removeprefix("BENCH_JSON "))
    elapsed = raw["duration_us"] / 1e6
    return {
        "connections": connections,
        "seconds": round(elapsed, 1),
        "requests": raw["requests"],
        "rps": round(raw["requests"] / elapsed, 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": sum(raw["errors"].values()),
        "error_kinds": {k: v for k, v in raw["errors"].items() if v},
    }


def measured(
    served: Served, cores: Cores, lines: Path, connections: int, load: Load, token: str | None = None
) -> dict[str, Any]:
    """A warm-up, then the measured run with the server's memory sampled."""
    if load.warmup:
        wrk(served, cores, lines, connections, load.warmup, token)
    with MemorySampler(served.pid) as memory:
        figures = wrk(served, cores, lines, connections, load.seconds, token)
    return {**figures, **memory.figures()}


def percentile(values: list[int], share: float) -> int:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def pgbench(
    url: str, cores: Cores, name: str, script: str, connections: int, seconds: int, options: str = ""
) -> dict[str, Any]:
    """pgbench running a script, prepared (``options`` for its sessions, as PGOPTIONS); its figures from
    the per-transaction log."""
    folder = WORK / "pgbench" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "script.sql").write_text(script)
    command = [*cores.load, pgbench_binary(), "-n", "-M", "prepared", "-c", str(connections), "-j", "1"]
    command += ["-T", str(seconds), "-f", str(folder / "script.sql"), "-l", "--log-prefix", str(folder / "log"), url]
    env = {**os.environ, "PGOPTIONS": options} if options else None
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"pgbench failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    latencies = [int(line.split()[2]) for log in folder.glob("log*") for line in log.read_text().splitlines()]
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    return {
        "connections": connections,
        "seconds": seconds,
        "requests": len(latencies),
        "rps": float(tps.group(1)) if tps else 0.0,
        "p50_ms": percentile(latencies, 0.50) / 1000 if latencies else 0.0,
        "p90_ms": percentile(latencies, 0.90) / 1000 if latencies else 0.0,
        "p99_ms": percentile(latencies, 0.99) / 1000 if latencies else 0.0,
        "max_ms": max(latencies, default=0) / 1000,
        "errors": int(failed.group(1)) if failed else 0,
    }


def pgbench_trace(url: str, cores: Cores, requests: Requests, connections: int, seconds: int) -> dict[str, Any]:
    """(b): the trace SQL for random claims. The app's TRACE_ONE runs with the generic plan, which
    PostgreSQL keeps by itself; pgbench's statement differs (a subquery for the id), so it is asked for
    the same plan outright."""
    script = pgbench_script(TRACE_ONE, [1], requests.claims, 32)
    return pgbench(url, cores, "trace", script, connections, seconds, "-c plan_cache_mode=force_generic_plan")


def pgbench_traces(url: str, cores: Cores, requests: Requests, connections: int, seconds: int) -> dict[str, Any]:
    """(d0): the trace SQL for five random claims in one statement, what (d) runs once it has its best
    matches; the same plan as the app's, as for (b)."""
    script = pgbench_script(TRACE_FEW, [1, *range(3, FEW + 2)], requests.claims, 32)
    return pgbench(url, cores, "traces", script, connections, seconds, "-c plan_cache_mode=force_generic_plan")
