"""The tables of bench/README.md, rebuilt from the newest result of each corpus size.

python -m bench.report        # rewrite the part of bench/README.md between the result markers
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

SCENARIOS = {
    "row_bare": "(a0) the same read by a bare app (`bench/bare.py`): the ceiling",
    "row": "(a) `GET /claims/{id}/status`: one row by primary key",
    "pgbench_trace": "(b) pgbench: the trace SQL, prepared",
    "trace_by_id": "(c) `GET /claims/{id}/trace`, random ids",
    "trace_statement": "(d) `GET /trace?statement=`, random phrases",
    "pgbench_traces": "(d0) pgbench: the trace SQL for (d)'s five matches, prepared",
    "list_filtered": "(e) `GET /claims` with filters",
    "create_claim": "(f) `POST /claims`, 3-hop inline chains",
    "pgbench_create": "(g) pgbench: the write SQL of (f), prepared",
}


POOLER_NOTE = (
    "PgBouncer (transaction mode, as many server connections as the app's pool of 10) runs pinned to the server "
    "core beside the app, as on the app's own machine; PostgreSQL is not pinned."
)


def size_label(claims: int) -> str:
    """``1m`` for 1,000,000, ``10k`` for 10,000, else the number."""
    if claims >= 1_000_000 and claims % 1_000_000 == 0:
        return f"{claims // 1_000_000}m"
    if claims >= 1_000 and claims % 1_000 == 0:
        return f"{claims // 1_000}k"
    return str(claims)


def newest() -> dict[str, dict[str, Any]]:
    """The newest result of each size, by size label, smallest corpus first."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(RESULTS.glob("*.json")):
        result = json.loads(path.read_text())
        result["file"] = path.name
        found[result["size"]] = result  # sorted by date: later files win
    return dict(sorted(found.items(), key=lambda item: item[1]["claims"]))


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def table(result: dict[str, Any]) -> str:
    """The scenarios of one result as a Markdown table."""
    lines = [
        f"| {result['size']} ({result['claims']:,} claims) | connections | requests/s | p50 ms | p99 ms "
        "| server RSS MB | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, title in SCENARIOS.items():
        s = result["scenarios"].get(name)
        if s is None:
            continue
        rss = f"{s['rss_mb']:.0f}" if "rss_mb" in s else "-"
        lines.append(
            f"| {title} | {s['connections']} | {s['rps']:,.0f} | {_ms(s['p50_ms'])} | {_ms(s['p99_ms'])} "
            f"| {rss} | {s['errors']} |"
        )
    return "\n".join(lines)


def depth_table(results: dict[str, dict[str, Any]]) -> str:
    """Trace by id at one connection against upstream depth, one column per size."""
    sizes = [r for r in results.values() if r.get("depth_series")]
    lines = [
        "| upstream depth | " + " | ".join(f"{r['size']}: p50 ms (p99)" for r in sizes) + " |",
        "| ---: | " + " | ".join("---:" for _ in sizes) + " |",
    ]
    depths = sorted({row["depth"] for r in sizes for row in r["depth_series"]})
    for depth in depths:
        cells = []
        for r in sizes:
            row = next((x for x in r["depth_series"] if x["depth"] == depth), None)
            cells.append(f"{_ms(row['p50_ms'])} ({_ms(row['p99_ms'])})" if row else "-")
        lines.append(f"| {depth} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def filter_table(results: dict[str, dict[str, Any]], series: str = "filter_series") -> str:
    """Each filter of GET /claims alone at one connection, one column per size: ``series`` is the run
    before the writes of (f) and (g) (``filter_series``) or after them (``filter_series_after_writes``)."""
    sizes = [r for r in results.values() if r.get(series)]
    lines = [
        "| filter | " + " | ".join(f"{r['size']}: p50 ms (p99)" for r in sizes) + " |",
        "| --- | " + " | ".join("---:" for _ in sizes) + " |",
    ]
    names = list(dict.fromkeys(row["filter"] for r in sizes for row in r[series]))
    for name in names:
        cells = []
        for r in sizes:
            row = next((x for x in r[series] if x["filter"] == name), None)
            cells.append(f"{_ms(row['p50_ms'])} ({_ms(row['p99_ms'])})" if row else "-")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def serving_table(result: dict[str, Any]) -> str:
    """The servers compared, and the pool sizes."""
    lines = [
        "| server (1 worker) | scenario | requests/s | p50 ms | p99 ms | RSS MB (worker / all processes) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in result.get("serving", []):
        lines.append(
            f"| {row['server']} | {row['scenario']} | {row['rps']:,.0f} | {_ms(row['p50_ms'])} "
            f"| {_ms(row['p99_ms'])} | {row['rss_mb']:.0f} / {row['rss_total_mb']:.0f} |"
        )
    lines += [
        "",
        "| pool size (min = max) | requests/s (trace by id) | p50 ms | p99 ms |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for row in result.get("pool_sizes", []):
        lines.append(f"| {row['pool']} | {row['rps']:,.0f} | {_ms(row['p50_ms'])} | {_ms(row['p99_ms'])} |")
    return "\n".join(lines)


def disk_line(result: dict[str, Any]) -> str:
    """The tables' bytes a claim, largest first, and their sum."""
    claims = result["claims"]
    tables = ", ".join(
        f"`{name}` {size / claims:,.0f} B" for name, size in result["disk_bytes"].items() if size >= claims
    )
    return f"{tables}; in all {sum(result['disk_bytes'].values()) / claims:,.0f} B a claim"


def metrics_cost(result: dict[str, Any]) -> float | None:
    """The share of trace by id's requests a second that counting them for /metrics costs: the median
    over each pair of runs side by side (on, then off) of one minus on over off."""
    rows = result.get("metrics", [])
    on: list[float] = [row["rps"] for row in rows if row["metrics"]]
    off: list[float] = [row["rps"] for row in rows if not row["metrics"]]
    pairs = [1 - with_ / without for with_, without in zip(on, off, strict=False) if without]
    return statistics.median(pairs) if pairs else None


def metrics_table(result: dict[str, Any]) -> str:
    """Trace by id with the metrics' request counting on and off, alternately."""
    lines = ["| `PROVENANCE_METRICS` | requests/s (trace by id) | p50 ms | p99 ms |", "| --- | ---: | ---: | ---: |"]
    for row in result.get("metrics", []):
        on = "true" if row["metrics"] else "false"
        lines.append(f"| `{on}` | {row['rps']:,.0f} | {_ms(row['p50_ms'])} | {_ms(row['p99_ms'])} |")
    cost = metrics_cost(result)
    if cost is not None:
        rows = result["metrics"]
        on = [r["rps"] for r in rows if r["metrics"]]
        off = [r["rps"] for r in rows if not r["metrics"]]
        each = ", ".join(f"{1 - a / b:.1%}" for a, b in zip(on, off, strict=False) if b)
        lines += [
            "",
            f"Counting costs {cost:.1%} of trace by id's requests a second: the median over each pair of runs "
            f"side by side ({each}); the spread between pairs is the machine's drift between runs.",
        ]
    return "\n".join(lines)


def pooler_table(result: dict[str, Any]) -> str:
    """Trace by id straight to PostgreSQL, with and without the statement cache, and through PgBouncer."""
    lines = [
        "| path | `PROVENANCE_POOLER` (statement cache) | requests/s (trace by id) | p50 ms | p99 ms |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in result.get("poolers", []):
        cache = "on" if row["pooler"] == "none" else "off"
        lines.append(
            f"| {row['path']} | `{row['pooler']}` ({cache}) | {row['rps']:,.0f} | {_ms(row['p50_ms'])} "
            f"| {_ms(row['p99_ms'])} |"
        )
    return "\n".join(lines)


def _verdict(value: float, limit: float, *, at_least: bool) -> str:
    met = value >= limit if at_least else value <= limit
    if met:
        return "met"
    miss = (limit - value) / limit if at_least else (value - limit) / limit
    return f"**missed by {miss:.0%}**"


def targets(results: dict[str, dict[str, Any]]) -> str:
    """The targets against the largest corpus (and the smallest, for scaling): issue 6's, with issue 19's
    where it asks for more (the fixed cost of a request, the statement trace, the filtered lists, writes,
    import and memory)."""
    big = max(results.values(), key=lambda r: r["claims"])
    small = min(results.values(), key=lambda r: r["claims"])
    s = big["scenarios"]
    lines = [f"| target ({big['size']}) | measured | |", "| --- | ---: | --- |"]

    def row(name: str, shown: str, value: float, limit: float, *, at_least: bool = False) -> None:
        lines.append(f"| {name} | {shown} | {_verdict(value, limit, at_least=at_least)} |")

    trace = s["trace_by_id"]
    share = trace["rps"] / s["row"]["rps"] if s["row"]["rps"] else 0.0
    row("trace by id ≥ 60% of (a)'s requests/s", f"{share:.0%}", share, 0.60, at_least=True)
    if s.get("row_bare", {}).get("rps"):
        for name, limit in (("row", 0.85), ("trace_by_id", 0.80)):
            share = s[name]["rps"] / s["row_bare"]["rps"]
            row(
                f"{SCENARIOS[name][:3]} ≥ {limit:.0%} of (a0)'s requests/s", f"{share:.0%}", share, limit, at_least=True
            )
    row(
        f"trace by id p99 ≤ 20 ms ({trace['connections']} connections)",
        f"{_ms(trace['p99_ms'])} ms",
        trace["p99_ms"],
        20,
    )
    st = s["trace_statement"]
    share = st["rps"] / trace["rps"] if trace["rps"] else 0.0
    row("statement trace ≥ 40% of trace by id's requests/s", f"{share:.0%}", share, 0.40, at_least=True)
    for stat, limit in (("p50_ms", 10), ("p99_ms", 40)):
        name = f"statement trace {stat[:3]} ≤ {limit} ms ({st['connections']} connections)"
        row(name, f"{_ms(st[stat])} ms", st[stat], limit)
    five = s.get("pgbench_traces", {})
    if five.get("rps"):
        # Not the target but its bound: the five traces (d) answers, in the database alone.
        share = five["rps"] / trace["rps"] if trace["rps"] else 0.0
        row("(d0) its five traces alone ≥ 40% of trace by id's requests/s (the database's ceiling for (d))",
            f"{share:.0%}", share, 0.40, at_least=True)  # fmt: skip
    alone = [r for r in big.get("filter_series", []) if r.get("requests")]
    if alone:
        worst = max(alone, key=lambda r: r["p99_ms"])
        shown = f"`{worst['filter']}` {_ms(worst['p99_ms'])} ms"
        row("each filter of GET /claims alone p99 ≤ 10 ms (1 connection)", shown, worst["p99_ms"], 10)
    mix = s["list_filtered"]
    row(
        f"the filters mixed p99 ≤ 50 ms ({mix['connections']} connections)",
        f"{_ms(mix['p99_ms'])} ms",
        mix["p99_ms"],
        50,
    )
    posts = s["create_claim"]
    row("POST /claims ≥ 1,500/s", f"{posts['rps']:,.0f}/s", posts["rps"], 1500, at_least=True)
    row("POST /claims p99 ≤ 60 ms", f"{_ms(posts['p99_ms'])} ms", posts["p99_ms"], 60)
    ceiling = s.get("pgbench_create", {})
    if ceiling.get("rps"):
        # Not the target but its bound: POST /claims cannot outrun its own SQL.
        row("(g) the write SQL alone ≥ 1,500/s (the database's ceiling for the target above)",
            f"{ceiling['rps']:,.0f}/s", ceiling["rps"], 1500, at_least=True)  # fmt: skip
    if small is not big:
        for stat in ("p50_ms", "p99_ms"):
            ratio = trace[stat] / small["scenarios"]["trace_by_id"][stat]
            row(f"trace by id {stat[:3]} at {big['size']} ≤ 1.3 times at {small['size']}", f"{ratio:.2f}", ratio, 1.3)
    depths = {r["depth"]: r["p50_ms"] for r in big.get("depth_series", []) if r.get("requests")}
    if 0 in depths and len(depths) > 1:
        # Linear at most: no depth d costs more than d + 1 times depth 0 (one more level, one more walk).
        worst_depth = max((depths[d] / depths[0] / (d + 1), d) for d in depths if d)
        shown = f"depth {worst_depth[1]}: {depths[worst_depth[1]] / depths[0]:.2f} times depth 0"
        row("trace by id p50 at upstream depth d ≤ (d + 1) times at depth 0", shown, worst_depth[0], 1.0)
    if big.get("disk_bytes"):
        per_claim = sum(big["disk_bytes"].values()) / big["claims"]
        shown = f"{per_claim / 1000:.2f} KB"
        row("a claim on disk ≤ 3.4 KB (its hops, revision, audit entry and sources included)", shown, per_claim, 3400)
    cost = metrics_cost(big)
    if cost is not None:
        row("the metrics' request counting ≤ 5% of trace by id's requests/s", f"{cost:.1%}", cost, 0.05)
    rss = max(x.get("rss_mb", 0) for x in s.values())
    row("server RSS ≤ 150 MB per worker under every scenario", f"{rss:.0f} MB", rss, 150)
    if big.get("import_seconds"):
        rate = big["claims"] / big["import_seconds"]
        row("import ≥ 20,000 claims/s", f"{rate:,.0f}/s", rate, 20_000, at_least=True)
        if big["claims"] >= 1_000_000:
            shown = f"{big['import_seconds'] / 60:.1f} min"
            row(f"import of {big['claims']:,} claims < 2 min", shown, big["import_seconds"], 120)
        if (floor := big.get("floor")) and floor["restore"]["claims_per_second"]:
            share = rate / floor["restore"]["claims_per_second"]
            shown = f"{share:.2f} ({floor['restore']['claims_per_second']:,}/s)"
            row("import ≥ 0.8 of the pg_restore-style floor's claims/s (bench/floor.py, same run)", shown, share, 0.8,
                at_least=True)  # fmt: skip
    return "\n".join(lines)


def profile_table(result: dict[str, Any]) -> str:
    """Where the served process spent its time in each scenario (py-spy, idle time left out)."""
    lines = [
        "| scenario | samples | by package of the running frame | top functions (own time) |",
        "| --- | ---: | --- | --- |",
    ]
    for name, found in result.get("profiles", {}).items():
        packages = ", ".join(f"{p} {share:.0%}" for p, share in found["by_package"][:5])
        functions = ", ".join(f"`{f.split(' (')[0]}` {share:.0%}" for f, share in found["self"][:4])
        lines.append(f"| {name} | {found['samples']} | {packages} | {functions} |")
    return "\n".join(lines)


def environment(result: dict[str, Any]) -> str:
    """The machine and versions a result was measured with."""
    m, v = result["machine"], result["versions"]
    tools = ", ".join(f"{k} {val}" for k, val in v.items())
    return (
        f"Measured {result['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Linux {m['kernel']}; "
        f"server pinned with `{result['pinned']['server']}`, load generator with `{result['pinned']['load']}`. "
        f"Versions: {tools}."
    )


def section(results: dict[str, dict[str, Any]]) -> str:
    """The generated part of bench/README.md."""
    if not results:
        return "No results yet: run `make bench`."
    big = max(results.values(), key=lambda r: r["claims"])
    parts = [environment(big), ""]
    for result in results.values():
        parts += [table(result), "", f"From `bench/results/{result['file']}`.", ""]
    parts += ["### Targets", "", targets(results), ""]
    if big.get("import_phases"):
        phases = ", ".join(f"{name} {seconds:,.1f} s" for name, seconds in big["import_phases"].items())
        parts += [f"The import of {big['claims']:,} claims, an initial load, by phase: {phases}.", ""]
    if floor := big.get("floor"):
        live, restore = floor["live"], floor["restore"]
        parts += [
            f"The floor under it, PostgreSQL alone storing the same rows with binary COPY (bench/floor.py, this run): "
            f"into the live schema {live['claims_per_second']:,} claims/s ({live['rows_seconds']:,.1f} s); "
            f"as pg_restore does, {restore['claims_per_second']:,} claims/s ({restore['rows_seconds']:,.1f} s of rows, "
            f"{restore['build_seconds']:,.1f} s building keys and indexes after).",
            "",
        ]
    if big.get("disk_bytes"):
        parts += [
            f"On disk after the load ({big['size']}, each table with its TOAST and indexes): {disk_line(big)}.",
            "",
        ]
    parts += ["### Trace latency against upstream depth (1 connection)", ""]
    parts += [depth_table(results), ""]
    if any(r.get("filter_series") for r in results.values()):
        parts += ["### Each filter of `GET /claims` alone (1 connection)", "", filter_table(results), ""]
    if any(r.get("filter_series_after_writes") for r in results.values()):
        parts += [
            "### Each filter alone after the writes of (f) and (g) (1 connection)",
            "",
            filter_table(results, "filter_series_after_writes"),
            "",
        ]
    if big.get("serving") or big.get("pool_sizes"):
        parts += [f"### Servers and pool sizes ({big['size']}, {big['settings']['connections']} connections)", ""]
        parts += [serving_table(big), ""]
    if big.get("metrics"):
        parts += [f"### What the metrics cost ({big['size']}, {big['settings']['connections']} connections)", ""]
        parts += [metrics_table(big), ""]
    if big.get("poolers"):
        parts += [
            f"### Through PgBouncer beside direct ({big['size']}, {big['settings']['connections']} connections)",
            "",
        ]
        parts += [pooler_table(big), "", POOLER_NOTE, ""]
    parts += shape_section()
    if big.get("profiles"):
        parts += [f"### Profiles ({big['size']}, py-spy on the served process)", "", profile_table(big), ""]
    return "\n".join(parts).rstrip() + "\n"


def shape_section() -> list[str]:
    """The newest run of the whole shape (bench/shape.py), if any."""
    runs = sorted((RESULTS / "shape").glob("*.json"))
    if not runs:
        return []
    r = json.loads(runs[-1].read_text())
    lines = [
        f"### The whole shape ({r['shape']}; {r['seconds']:.0f} s, nothing pinned)",
        "",
        "| requests | requests/s | p50 ms | p99 ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for kind, f in r["requests"].items():
        lines.append(f"| {kind} | {f['rps']:,.0f} | {_ms(f['p50_ms'])} | {_ms(f['p99_ms'])} |")
    lines += [
        "",
        f"{r['errors']} errors, {r['lost_writes']} writes lost of {r['written']:,} answered 201, "
        f"{r['stale_reads']} stale reads, {r['reads_by_replica']:,} of {r['reads']:,} reads answered by the "
        f"replica; `/audit/verify` {'ok' if r['audit_verified'] else 'broken'} over {r['audit_entries']:,} "
        f"entries. From `bench/results/shape/{runs[-1].name}`.",
        "",
    ]
    return lines


def rewrite_readme() -> None:
    """Replace the text between the markers of bench/README.md with tables of the newest results."""
    text = README.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{section(newest())}{END}{tail}")


if __name__ == "__main__":
    rewrite_readme()
