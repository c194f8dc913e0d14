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
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import floor, report, writes
from bench.databases import (
    database_exists,
    disk,
    fresh_database,
    load_corpus,
    provenance,
    server_url,
    with_database,
)
from bench.load import Load, measured, pgbench, pgbench_binary, pgbench_trace, pgbench_traces, wrk
from bench.machine import Cores, machine, postgresql_version, versions
from bench.paths import RESULTS, ROOT, WORK
from bench.processes import SERVERS, Served, pgbouncer, served
from bench.profiling import profile
from bench.workload import FILTERS, Requests, prepare


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


# Scenarios (a0) to (g) of bench/README.md, in that order: the key, its letter, what it sends.
SCENARIOS = {
    "row_bare": ("a0", "GET /claims/{id}/status of a bare app (bench/bare.py)"),
    "row": ("a", "GET /claims/{id}/status"),
    "pgbench_trace": ("b", "pgbench: the trace SQL"),
    "trace_by_id": ("c", "GET /claims/{id}/trace"),
    "trace_statement": ("d", "GET /trace?statement="),
    "pgbench_traces": ("d0", "pgbench: the trace SQL of (d)'s five matches"),
    "list_filtered": ("e", "GET /claims with filters"),
    "create_claim": ("f", "POST /claims, 3-hop inline chains"),
    "pgbench_create": ("g", "pgbench: the write SQL of (f)"),
}


WRITES = frozenset({"create_claim", "pgbench_create"})
"""The scenarios that store claims: run last, after every read and series has measured the corpus as loaded."""


def scenarios(
    url: str, app: Served, cores: Cores, requests: Requests, token: str, plan: Plan, *, storing: bool
) -> dict[str, Any]:
    """Scenarios (a0) to (e) of bench/README.md, or with ``storing`` (f) and (g), in that order (those of
    ``--only`` if given)."""
    c, load = plan.connections, plan.load
    results: dict[str, Any] = {}
    for key, (letter, title) in SCENARIOS.items():
        if not plan.runs(key) or (key in WRITES) != storing:
            continue
        print(f"  ({letter}) {title}", flush=True)
        if key == "row_bare":
            with served(url, cores, server="bare") as bare:
                results[key] = measured(bare, cores, requests.path("status"), c, load)
        elif key == "pgbench_trace":
            results[key] = pgbench_trace(url, cores, requests, c, load.seconds)
        elif key == "pgbench_traces":
            results[key] = pgbench_traces(url, cores, requests, plan.statement_connections, load.seconds)
        elif key == "pgbench_create":
            body = json.loads(requests.path("create").read_text().splitlines()[0])  # (f)'s first request
            script = asyncio.run(writes.script(url, token, body))
            results[key] = pgbench(url, cores, "create", script, c, load.seconds)
        elif key == "trace_statement":
            results[key] = measured(app, cores, requests.path("statement"), plan.statement_connections, load)
        else:
            lines = {"row": "status", "trace_by_id": "trace", "list_filtered": "filters", "create_claim": "create"}[key]
            results[key] = measured(app, cores, requests.path(lines), c, load, token if key == "create_claim" else None)
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
    if plan.reuse and asyncio.run(database_exists(admin_url, name)):
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
    requests = asyncio.run(prepare(url, folder, plan.seed, sample=20_000))
    key_name = f"bench-{datetime.now(UTC):%Y%m%d%H%M%S}" if import_seconds is None else "bench"  # names are unique
    token = provenance(url, "keys", "create", "--name", key_name, "--scope", "write").strip().splitlines()[-1]
    result: dict[str, Any] = {
        "claims": requests.claims,
        "import_seconds": None if import_seconds is None else round(import_seconds, 1),
        "import_phases": phases,
        "claims_by_depth": requests.by_depth,
        "disk_bytes": disk(url),  # after the load and its VACUUM ANALYZE, before any scenario writes
    }
    if claims == max(plan.sizes) and import_seconds is not None and not plan.only:
        print("  the floor under the import (bench/floor.py)", flush=True)
        result["floor"] = asyncio.run(floor.measure(admin_url, url))
    with served(url, cores) as app:
        result["scenarios"] = scenarios(url, app, cores, requests, token, plan, storing=False)
        if not plan.only:
            print("  trace by id against upstream depth", flush=True)
            result["depth_series"] = depth_series(app, cores, requests, plan)
            print("  each filter of GET /claims alone", flush=True)
            result["filter_series"] = filter_series(app, cores, requests, plan)
        result["scenarios"] |= scenarios(url, app, cores, requests, token, plan, storing=True)
        if not plan.only:
            # (f) and (g) store tens of thousands of claims, all with the newest seq: what that does
            # to the lists that walk seq (bench/README.md, "What bounds").
            print("  each filter of GET /claims alone, after the writes", flush=True)
            result["filter_series_after_writes"] = filter_series(app, cores, requests, plan)
        if plan.profile and claims == max(plan.sizes):
            print("  profiles (py-spy)", flush=True)
            result["profiles"] = profile(app, cores, requests, token, plan, label)
    if claims == max(plan.sizes) and not plan.only:
        result["serving"] = compare_servers(url, cores, requests, plan)
        result["pool_sizes"] = compare_pools(url, cores, requests, plan)
        result["metrics"] = compare_metrics(url, cores, requests, plan)
        result["poolers"] = compare_poolers(url, cores, requests, plan)
    return result


def compare_servers(url: str, cores: Cores, requests: Requests, plan: Plan) -> list[dict[str, Any]]:
    """Each server on the one-row read and on trace by id."""
    rows = []
    for server in plan.servers:
        print(f"  serving with {server}", flush=True)
        # like for like: no access line on either side (granian's own is off by default; the app's, in
        # served_app and provenance serve alike, follows PROVENANCE_LOG_LEVEL)
        with served(url, cores, server=server, env={"PROVENANCE_LOG_LEVEL": "warning"}) as app:
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


def compare_metrics(url: str, cores: Cores, requests: Requests, plan: Plan) -> list[dict[str, Any]]:
    """Trace by id with the request counting of /metrics (the default) and without, three times each,
    alternating: each pair of runs side by side says what the counting costs, the three pairs how
    much the machine drifts between runs."""
    rows = []
    for metrics in ("true", "false") * 3:
        print(f"  metrics {'on' if metrics == 'true' else 'off'}", flush=True)
        with served(url, cores, env={"PROVENANCE_METRICS": metrics}) as app:
            figures = measured(app, cores, requests.path("trace"), plan.connections, plan.load)
            rows.append({"metrics": metrics == "true", "scenario": "trace_by_id", **figures})
    return rows


POOLED = 10
"""The app's pool (its default ``PROVENANCE_POOL_MAX_SIZE``), and PgBouncer's server connections alike."""


def compare_poolers(url: str, cores: Cores, requests: Requests, plan: Plan) -> list[dict[str, Any]]:
    """Trace by id straight to PostgreSQL (statements cached, the default), straight with the statement cache off,
    and through PgBouncer in transaction mode (which needs it off): what PgBouncer costs, and what of that
    is the cache."""
    rows = []
    for path, pooler in (("direct", "none"), ("direct", "pgbouncer"), ("pgbouncer", "pgbouncer")):
        print(f"  {path}, PROVENANCE_POOLER={pooler}", flush=True)
        with contextlib.ExitStack() as stack:
            reached = stack.enter_context(pgbouncer(url, cores, POOLED)) if path == "pgbouncer" else url
            app = stack.enter_context(served(reached, cores, pool=POOLED, env={"PROVENANCE_POOLER": pooler}))
            figures = measured(app, cores, requests.path("trace"), plan.connections, plan.load)
        rows.append({"path": path, "pooler": pooler, "scenario": "trace_by_id", **figures})
    return rows


def failures(label: str, result: dict[str, Any]) -> list[str]:
    """Every scenario that answered an error or nothing at all."""
    runs = [(name, figures) for name, figures in result["scenarios"].items()]
    runs += [(f"depth {row['depth']}", row) for row in result.get("depth_series", [])]
    runs += [(f"filter {row['filter']}", row) for row in result.get("filter_series", [])]
    runs += [(f"filter {row['filter']} after writes", row) for row in result.get("filter_series_after_writes", [])]
    runs += [(f"{row['server']} {row['scenario']}", row) for row in result.get("serving", [])]
    runs += [(f"pool {row['pool']}", row) for row in result.get("pool_sizes", [])]
    runs += [(f"metrics {row['metrics']}", row) for row in result.get("metrics", [])]
    runs += [(f"{row['path']} pooler={row['pooler']}", row) for row in result.get("poolers", [])]
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
    server_version = asyncio.run(postgresql_version(admin_url))
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


if __name__ == "__main__":
    main()
