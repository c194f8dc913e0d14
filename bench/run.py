"""The benchmark: the app served as in production, driven by wrk, beside pgbench on the same SQL.

    python -m bench.run --claims 10000 --claims 1000000    # make bench: figures under bench/results/
    python -m bench.run --smoke                             # make bench-smoke: 2,000 claims, a few seconds each

For each corpus size: a fresh database (on ``DATABASE_URL``'s server, else the embedded one under
``.bench/pgdata``), migrated, loaded with ``python -m bench.corpus`` and ``provenance import``, then
analyzed. ``provenance serve`` runs with one worker pinned to the first core, the load generator is
pinned to the second, and the scenarios of bench/README.md run one after another, each after a
warm-up, while the server's resident memory is sampled. The figures go to
``bench/results/<date>-<size>.json`` and bench/README.md's table is rebuilt from them (``--smoke``
writes to ``.bench/`` instead and leaves the README alone).

It fails (exit 1) when a scenario answered anything but 2xx, or nothing: never because of speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import asyncpg

from bench import report
from service.repositories.traces import TRACE_ONE

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".bench"
RESULTS = ROOT / "bench" / "results"
WRK_SCRIPT = ROOT / "bench" / "wrk.lua"
BIN = Path(sys.executable).parent
MAX_DEPTH = 6
FILTERS = ("origin", "via", "q", "kind+language", "since+until", "origin+since")
"""The filters of GET /claims in scenario (e), each also timed alone."""
"""The corpus links claims up to six upstream claims deep; the depth series runs 0..6."""

# Every stored claim with a dense row number (so pgbench and the samplers can pick one at random
# with an integer) and its upstream depth: how many upstream claims its trace walks through.
BENCH_IDS = """
CREATE TABLE bench_ids AS
WITH RECURSIVE chain (id, depth) AS (
    SELECT c.id, 0 FROM claims c
     WHERE NOT EXISTS (SELECT 1 FROM hops h WHERE h.claim_id = c.id AND h.upstream_claim_id IS NOT NULL)
    UNION ALL
    SELECT h.claim_id, chain.depth + 1
      FROM chain JOIN hops h ON h.upstream_claim_id = chain.id
     WHERE chain.depth < 64
)
SELECT row_number() OVER (ORDER BY id)::integer AS n, id, depth FROM chain
"""
BENCH_IDS_KEY = "ALTER TABLE bench_ids ADD PRIMARY KEY (n)"
BENCH_IDS_DEPTH = "CREATE INDEX bench_ids_depth_idx ON bench_ids (depth, n)"

SAMPLE_CLAIMS = """
SELECT b.id, b.depth, c.text, c.kind, c.language, c.published_at, c.origin_source_id, c.relay_source_ids
  FROM bench_ids b JOIN claims c ON c.id = b.id
 WHERE b.n = ANY($1::integer[])
"""
AT_DEPTH = "SELECT id FROM bench_ids WHERE depth = $1 ORDER BY n LIMIT $2"

# Sources an inline hop can name without ambiguity: exactly one stored source answers the name.
UNAMBIGUOUS_SOURCES = """
SELECT s.name, s.kind
  FROM sources s
 WHERE s.merged_into IS NULL AND s.kind <> 'anonymous'
   AND (SELECT count(*) FROM sources t WHERE t.name_key = s.name_key)
     + (SELECT count(*) FROM source_aliases a WHERE a.alias_key = s.name_key) = 1
 ORDER BY s.seq
 LIMIT 2000
"""

# pgbench runs the trace query of GET /claims/{id}/trace itself, prepared, for a random stored
# claim: the ids are UUIDs, so the claim is picked by its dense row number in bench_ids, inside
# the same statement (one round trip, as the app makes).
PGBENCH_TRACE = "\\set n random(1, {count})\n{sql};\n"


def pgbench_script(count: int, max_depth: int) -> str:
    """The pgbench script: TRACE_ONE with its claim picked by row number and the app's depth limit."""
    sql = TRACE_ONE.strip().replace("$1::uuid", "(SELECT id FROM bench_ids WHERE n = :n)")
    sql = sql.replace("$2", str(max_depth))
    assert "$" not in sql, "TRACE_ONE takes a parameter the benchmark does not fill"
    return PGBENCH_TRACE.format(count=count, sql=sql)


# --- the machine, versions, cores ------------------------------------------------------------------


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


# --- databases ---------------------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def server_url() -> str:
    """``DATABASE_URL``, else the embedded server under ``.bench/pgdata`` (started on demand)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from service.database import embedded_url

    return embedded_url(WORK / "pgdata")


def pgbench_binary() -> str:
    """The system's pgbench, else the one the embedded server ships."""
    import pgserver

    shipped = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
    return shutil.which("pgbench") or str(shipped)


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create database ``name``; its URL."""
    asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'))
    return with_database(admin_url, name)


def provenance(url: str, *args: str) -> str:
    """Run ``provenance ARGS`` on the database at ``url``; its standard output."""
    return _provenance(url, *args).stdout


def _provenance(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run([str(BIN / "provenance"), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"provenance {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


_LOAD_PHASES = re.compile(r"^as an initial load: (.*)$", re.MULTILINE)
_PHASE = re.compile(r"([a-z][a-z ]*) (\d+\.\d) s")


def load_phases(stderr: str) -> dict[str, float]:
    """The seconds of each phase ``provenance import`` reports for an initial load (none otherwise)."""
    found = _LOAD_PHASES.search(stderr)
    return {name: float(seconds) for name, seconds in _PHASE.findall(found.group(1))} if found else {}


def load_corpus(url: str, claims: int, seed: int, corpus: Path | None) -> tuple[float, dict[str, float]]:
    """Generate (unless given) and import the corpus; seconds the import took, and those of its phases."""
    if corpus is None:
        corpus = WORK / f"corpus-{claims}-{seed}.ndjson"
        if not corpus.exists():
            print(f"  generating {claims:,} claims", flush=True)
            partial = corpus.with_suffix(".partial")
            command = [sys.executable, "-m", "bench.corpus", "--claims", str(claims), "--seed", str(seed)]
            subprocess.run([*command, "--output", str(partial)], check=True, cwd=ROOT)
            partial.rename(corpus)
    print(f"  importing {corpus.name}", flush=True)
    started = time.monotonic()
    done = _provenance(url, "import", str(corpus))
    return time.monotonic() - started, load_phases(done.stderr)


# --- what the load generator sends -----------------------------------------------------------------


@dataclass
class Requests:
    """The files of requests each scenario walks (one request a line), and their counts."""

    folder: Path
    claims: int = 0
    by_depth: dict[int, int] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.txt"

    def write(self, name: str, lines: list[str], rng: random.Random) -> None:
        rng.shuffle(lines)
        self.path(name).write_text("".join(f"{line}\n" for line in lines))


async def _prepare(url: str, folder: Path, seed: int, sample: int) -> Requests:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_ids")
        for statement in (BENCH_IDS, BENCH_IDS_KEY, BENCH_IDS_DEPTH, "VACUUM ANALYZE"):
            await conn.execute(statement)
        requests = Requests(folder, claims=await conn.fetchval("SELECT count(*) FROM bench_ids"))
        if requests.claims == 0:
            sys.exit("the corpus loaded no claims")
        rng = random.Random(seed)
        picked = rng.sample(range(1, requests.claims + 1), min(sample, requests.claims))
        claims = await conn.fetch(SAMPLE_CLAIMS, picked)
        names = [(r["name"], r["kind"]) for r in await conn.fetch(UNAMBIGUOUS_SOURCES)]
        for depth in range(MAX_DEPTH + 1):
            ids = [str(r["id"]) for r in await conn.fetch(AT_DEPTH, depth, 2000)]
            requests.by_depth[depth] = len(ids)
            if ids:
                requests.write(f"depth-{depth}", [f"/claims/{i}/trace" for i in ids], rng)
    finally:
        await conn.close()
    requests.write("status", [f"/claims/{r['id']}/status" for r in claims], rng)
    requests.write("trace", [f"/claims/{r['id']}/trace" for r in claims], rng)
    requests.write("statement", [f"/trace?statement={quote(phrase(r['text'], rng))}" for r in claims], rng)
    by_claim = [filters(r, rng) for r in claims]
    requests.write("filters", [rng.choice(list(f.values())) for f in by_claim], rng)
    for name in FILTERS:
        requests.write(f"filter-{name}", [f[name] for f in by_claim if name in f], rng)
    requests.write("create", [new_claim(r, names, rng) for r in claims[:5000]], rng)
    return requests


def phrase(text: str, rng: random.Random) -> str:
    """What a fact-checker pastes: four to ten consecutive words of a stored claim."""
    words = text.split()
    length = min(len(words), rng.randint(4, 10))
    start = rng.randrange(len(words) - length + 1)
    return " ".join(words[start : start + length])


def filters(claim: asyncpg.Record, rng: random.Random) -> dict[str, str]:
    """GET /claims with each filter a reader combines, built around a stored claim, by filter name."""
    published = claim["published_at"]
    words = re.findall(r"[A-Za-z]{5,}", claim["text"]) or ["claim"]
    found = {
        "origin": {"origin": str(claim["origin_source_id"])},
        "q": {"q": rng.choice(words)},
        "kind+language": {"kind": claim["kind"], "language": claim["language"]},
    }
    if claim["relay_source_ids"]:
        found["via"] = {"via": str(rng.choice(claim["relay_source_ids"]))}
    if published is not None:
        month = published.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        until = (
            month.replace(year=month.year + 1, month=1) if month.month == 12 else month.replace(month=month.month + 1)
        )
        found["since+until"] = {"since": month.isoformat(), "until": until.isoformat()}
        found["origin+since"] = {"origin": str(claim["origin_source_id"]), "since": month.isoformat()}
    return {name: "/claims?" + urlencode(query) for name, query in found.items()}


def new_claim(claim: asyncpg.Record, names: list[tuple[str, str]], rng: random.Random) -> str:
    """A POST /claims body: a stored claim's words relayed along a 3-hop chain of inline sources."""
    if len(names) < 3:
        names = [("Bench Wire", "outlet"), ("Bench Agency", "outlet"), ("Bench Speaker", "person")]
    outer, middle, origin = rng.sample(names, 3)
    body = {
        "text": f"{claim['text']} (relayed)",
        "kind": "paraphrase",
        "language": "en",
        "appeared_in": {"title": phrase(claim["text"], rng), "published_at": "2024-06-25T18:30:00Z"},
        "chain": [
            {"source": {"name": outer[0], "kind": outer[1]}, "cue": "reports"},
            {"source": {"name": middle[0], "kind": middle[1]}, "cue": "citing"},
            {"source": {"name": origin[0], "kind": origin[1]}, "cue": "told reporters"},
        ],
    }
    return json.dumps(body, separators=(",", ":"))


# --- the served app ----------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children, tree, index = _children(), [pid], 0
    while index < len(tree):
        tree.extend(children.get(tree[index], []))
        index += 1
    return tree


def _status_kb(pid: int, key: str) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class MemorySampler:
    """Samples the resident memory of a process tree while a load runs: the largest process, the sum."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.process_kb = 0
        self.total_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        rss = [_status_kb(p, "VmRSS") for p in process_tree(self.pid)]
        self.process_kb = max(self.process_kb, *rss)
        self.total_kb = max(self.total_kb, sum(rss))

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def figures(self) -> dict[str, float]:
        peak = max((_status_kb(p, "VmHWM") for p in process_tree(self.pid)), default=0)
        return {
            "rss_mb": round(self.process_kb / 1024, 1),
            "rss_total_mb": round(self.total_kb / 1024, 1),
            "hwm_mb": round(peak / 1024, 1),
        }


SERVERS = ("uvicorn", "granian")
"""``uvicorn`` is ``provenance serve`` (the production choice); ``granian`` its CLI with the same app."""


@dataclass
class Served:
    """A running server: its base URL and process id."""

    base: str
    pid: int


@contextlib.contextmanager
def served(
    url: str,
    cores: Cores,
    *,
    server: str = "uvicorn",
    pool: int | None = None,
    env: dict[str, str] | None = None,
    options: list[str] | None = None,
) -> Iterator[Served]:
    """The app on a free port, one worker pinned to the server core, until the block ends."""
    port = str(free_port())
    settings = {
        "DATABASE_URL": url,
        # as in production, the limits stay in the path; one client must not hit them
        "PROVENANCE_RATE_LIMIT_PER_MINUTE": "1000000000",
        "PROVENANCE_WRITE_RATE_LIMIT_PER_MINUTE": "1000000000",
    }
    if pool is not None:
        settings["PROVENANCE_POOL_MIN_SIZE"] = settings["PROVENANCE_POOL_MAX_SIZE"] = str(pool)
    environment = {**os.environ, **settings, **(env or {})}
    if server == "uvicorn":
        command = [str(BIN / "provenance"), "serve", "--port", port, "--workers", "1", *(options or [])]
    elif server == "granian":
        command = [str(BIN / "granian"), "--interface", "asgi", "--factory", "--loop", "uvloop", "--http", "1"]
        command += ["--no-ws", "--workers", "1", "--port", port, "service.app:create_app"]
    else:
        raise ValueError(server)
    log_path = WORK / f"server-{server}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*cores.server, *command],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _ready(base):
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{server} did not become ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)  # a starting server; bounded by the deadline
        yield Served(base, process.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


# --- the load generators -------------------------------------------------------------------------


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


def pgbench(url: str, cores: Cores, requests: Requests, connections: int, seconds: int) -> dict[str, Any]:
    """pgbench running the trace SQL for random claims, prepared; its figures from the per-transaction log."""
    folder = WORK / "pgbench"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    script = folder / "trace.sql"
    script.write_text(pgbench_script(requests.claims, 32))
    command = [*cores.load, pgbench_binary(), "-n", "-M", "prepared", "-c", str(connections), "-j", "1"]
    command += ["-T", str(seconds), "-f", str(script), "-l", "--log-prefix", str(folder / "log"), url]
    # the app's TRACE_ONE runs with the generic plan, which PostgreSQL keeps by itself; pgbench's
    # statement differs (a subquery for the id), so it is asked for the same plan outright
    env = {**os.environ, "PGOPTIONS": "-c plan_cache_mode=force_generic_plan"}
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


# --- profiles --------------------------------------------------------------------------------------

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


# --- one corpus size -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What one run measures."""

    sizes: list[int]
    seed: int
    load: Load
    connections: int
    statement_connections: int
    servers: list[str]
    pool_sizes: list[int]
    corpus: Path | None
    smoke: bool
    profile: bool = False
    reuse: bool = False
    only: frozenset[str] = frozenset()

    @property
    def trial(self) -> bool:
        """A smoke run, or an experiment on part of the benchmark: its results go to ``.bench/``."""
        return self.smoke or self.reuse or bool(self.only)

    def runs(self, scenario: str) -> bool:
        """Whether this run measures ``scenario`` (a key of ``SCENARIOS``)."""
        return not self.only or scenario in self.only


# Scenarios (a) to (f) of bench/README.md, in that order: the key, its letter, what it sends.
SCENARIOS = {
    "row": ("a", "GET /claims/{id}/status"),
    "pgbench_trace": ("b", "pgbench: the trace SQL"),
    "trace_by_id": ("c", "GET /claims/{id}/trace"),
    "trace_statement": ("d", "GET /trace?statement="),
    "list_filtered": ("e", "GET /claims with filters"),
    "create_claim": ("f", "POST /claims, 3-hop inline chains"),
}


def scenarios(url: str, served: Served, cores: Cores, requests: Requests, token: str, plan: Plan) -> dict[str, Any]:
    """Scenarios (a) to (f) of bench/README.md, in that order (those of ``--only`` if given)."""
    c, load = plan.connections, plan.load
    results: dict[str, Any] = {}
    for key, (letter, title) in SCENARIOS.items():
        if not plan.runs(key):
            continue
        print(f"  ({letter}) {title}", flush=True)
        if key == "pgbench_trace":
            results[key] = pgbench(url, cores, requests, c, load.seconds)
        elif key == "trace_statement":
            results[key] = measured(served, cores, requests.path("statement"), plan.statement_connections, load)
        else:
            lines = {"row": "status", "trace_by_id": "trace", "list_filtered": "filters", "create_claim": "create"}[key]
            results[key] = measured(
                served, cores, requests.path(lines), c, load, token if key == "create_claim" else None
            )
    return results


def depth_series(served: Served, cores: Cores, requests: Requests, plan: Plan) -> list[dict[str, Any]]:
    """Trace by id at one connection for claims of each upstream depth: latency against depth."""
    series = []
    for depth, count in requests.by_depth.items():
        if count:
            figures = wrk(served, cores, requests.path(f"depth-{depth}"), 1, plan.load.series_seconds)
            series.append({"depth": depth, "claims_sampled": count, **figures})
    return series


def filter_series(served: Served, cores: Cores, requests: Requests, plan: Plan) -> list[dict[str, Any]]:
    """Each filter of scenario (e) alone at one connection: which one bounds the mix."""
    series = []
    for name in FILTERS:
        lines = requests.path(f"filter-{name}")
        if lines.exists() and lines.stat().st_size:
            series.append({"filter": name, **wrk(served, cores, lines, 1, plan.load.series_seconds)})
    return series


def run_size(admin_url: str, claims: int, plan: Plan, cores: Cores) -> dict[str, Any]:
    """Everything measured on one corpus size."""
    label = report.size_label(claims)
    print(f"{label}: {claims:,} claims", flush=True)
    name = f"provenance_bench_{label}"
    if plan.reuse and asyncio.run(_database_exists(admin_url, name)):
        url = with_database(admin_url, name)
        provenance(url, "migrate")
        import_seconds, phases = None, {}
        print(f"  reusing {name} (no import)", flush=True)
    else:
        url = fresh_database(admin_url, name)
        provenance(url, "migrate")
        import_seconds, phases = load_corpus(url, claims, plan.seed, plan.corpus)
    folder = WORK / f"requests-{label}"
    folder.mkdir(parents=True, exist_ok=True)
    requests = asyncio.run(_prepare(url, folder, plan.seed, sample=20_000))
    key_name = f"bench-{datetime.now(UTC):%Y%m%d%H%M%S}" if import_seconds is None else "bench"  # names are unique
    token = provenance(url, "keys", "create", "--name", key_name, "--scope", "write").strip().splitlines()[-1]
    result: dict[str, Any] = {
        "claims": requests.claims,
        "import_seconds": None if import_seconds is None else round(import_seconds, 1),
        "import_phases": phases,
        "claims_by_depth": requests.by_depth,
    }
    with served(url, cores) as app:
        result["scenarios"] = scenarios(url, app, cores, requests, token, plan)
        if not plan.only:
            print("  trace by id against upstream depth", flush=True)
            result["depth_series"] = depth_series(app, cores, requests, plan)
            print("  each filter of GET /claims alone", flush=True)
            result["filter_series"] = filter_series(app, cores, requests, plan)
        if plan.profile and claims == max(plan.sizes):
            print("  profiles (py-spy)", flush=True)
            result["profiles"] = profile(app, cores, requests, token, plan, label)
    if claims == max(plan.sizes) and not plan.only:
        result["serving"] = compare_servers(url, cores, requests, plan)
        result["pool_sizes"] = compare_pools(url, cores, requests, plan)
    return result


def compare_servers(url: str, cores: Cores, requests: Requests, plan: Plan) -> list[dict[str, Any]]:
    """Each server on the one-row read and on trace by id."""
    rows = []
    for server in plan.servers:
        print(f"  serving with {server}", flush=True)
        # like for like: granian writes no access log by default, so uvicorn writes none either
        quiet = ["--log-level", "warning"] if server == "uvicorn" else []
        with served(url, cores, server=server, options=quiet) as app:
            for scenario, lines in (("row", "status"), ("trace_by_id", "trace")):
                figures = measured(app, cores, requests.path(lines), plan.connections, plan.load)
                rows.append({"server": server, "scenario": scenario, **figures})
    return rows


def compare_pools(url: str, cores: Cores, requests: Requests, plan: Plan) -> list[dict[str, Any]]:
    """Trace by id with pools of each size (min = max), at the same connections."""
    rows = []
    for size in plan.pool_sizes:
        print(f"  pool of {size}", flush=True)
        with served(url, cores, pool=size) as app:
            figures = measured(app, cores, requests.path("trace"), plan.connections, plan.load)
            rows.append({"pool": size, "scenario": "trace_by_id", **figures})
    return rows


def failures(label: str, result: dict[str, Any]) -> list[str]:
    """Every scenario that answered an error or nothing at all."""
    runs = [(name, figures) for name, figures in result["scenarios"].items()]
    runs += [(f"depth {row['depth']}", row) for row in result.get("depth_series", [])]
    runs += [(f"filter {row['filter']}", row) for row in result.get("filter_series", [])]
    runs += [(f"{row['server']} {row['scenario']}", row) for row in result.get("serving", [])]
    runs += [(f"pool {row['pool']}", row) for row in result.get("pool_sizes", [])]
    found = []
    for name, figures in runs:
        if figures["requests"] == 0:
            found.append(f"{label} {name}: no request completed")
        elif figures["errors"]:
            found.append(f"{label} {name}: {figures['errors']} errors {figures.get('error_kinds', '')}")
    return found


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark; exit 1 if any scenario answered errors or nothing."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--claims", type=int, action="append", help="corpus size (repeatable; default 10000 and 1000000)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=20, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds before each scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--statement-connections", type=int, default=8)
    parser.add_argument("--servers", default=",".join(SERVERS), help="servers compared at the largest size")
    parser.add_argument("--pool-sizes", default="5,10,20,32", help="pool sizes compared at the largest size")
    parser.add_argument("--corpus", type=Path, help="import this NDJSON file instead of generating one")
    parser.add_argument("--profile", action="store_true", help="profile each scenario with py-spy (largest size)")
    parser.add_argument("--smoke", action="store_true", help="2,000 claims, a few seconds each; results to .bench/")
    parser.add_argument("--reuse", action="store_true", help="keep a size's database if it exists (no import)")
    parser.add_argument(
        "--only", default="", help=f"comma-separated scenarios, of {','.join(SCENARIOS)}; no series, no comparisons"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        plan = Plan([args.claims[0] if args.claims else 2000], args.seed, Load(3, 1, 1), args.connections,
                    args.statement_connections, [], [], args.corpus, smoke=True)  # fmt: skip
    else:
        plan = Plan(
            sorted(args.claims or [10_000, 1_000_000]),
            args.seed,
            Load(args.seconds, args.warmup, max(2, args.seconds // 4)),
            args.connections,
            args.statement_connections,
            [s for s in args.servers.split(",") if s],
            [int(s) for s in args.pool_sizes.split(",") if s],
            args.corpus,
            smoke=False,
            profile=args.profile,
            reuse=args.reuse,
            only=frozenset(s for s in args.only.split(",") if s),
        )
    if unknown := plan.only - set(SCENARIOS):
        sys.exit(f"--only: no scenario {', '.join(sorted(unknown))}; they are {', '.join(SCENARIOS)}")
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: make bench-deps")
    WORK.mkdir(exist_ok=True)
    cores = Cores.pick()
    admin_url = server_url()
    server_version = asyncio.run(_server_version(admin_url))
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    common = {
        "date": date,
        "machine": machine(),
        "versions": versions(server_version, pgbench_binary()),
        "pinned": {"server": " ".join(cores.server) or "no", "load": " ".join(cores.load) or "no"},
        "settings": {
            "server": "uvicorn",
            "workers": 1,
            "connections": plan.connections,
            "statement_connections": plan.statement_connections,
            "seconds": plan.load.seconds,
            "warmup_seconds": plan.load.warmup,
        },
    }
    problems, written = [], []
    for claims in plan.sizes:
        result = {**common, "size": report.size_label(claims), **run_size(admin_url, claims, plan, cores)}
        problems += failures(result["size"], result)
        folder = WORK if plan.trial else RESULTS
        path = folder / f"{'smoke' if plan.smoke else 'trial' if plan.trial else date}-{result['size']}.json"
        path.write_text(json.dumps(result, indent=2, default=str) + "\n")
        written.append(path)
        print(report.table(result), flush=True)
    if not plan.trial:
        report.rewrite_readme()
    print("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in written))
    if problems:
        sys.exit("\n".join(["the benchmark saw errors:", *problems]))


async def _database_exists(url: str, name: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name))
    finally:
        await conn.close()


async def _server_version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
