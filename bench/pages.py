"""The workspace's pages against the JSON they show: each page's time over the sum of its JSON requests' times.

A page shows what several API requests answer; the target (issue #16) is that a page takes at most
twice the time of the JSON it shows. ``provenance serve`` (one worker, pinned to the server core)
on a freshly seeded database; one client on the other core requests each page and each of its
JSON requests in turn, ``--rounds`` times after a warm-up round; the medians are compared.

``python -m bench.pages`` writes ``bench/results/pages/<date>.json`` and prints a table;
``--smoke`` runs three rounds under ``.bench/`` (CI: it fails on errors only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

from bench.databases import fresh_database, provenance, server_url
from bench.machine import Cores
from bench.paths import RESULTS, ROOT, WORK
from bench.processes import served
from service import seeds

CLAIM = "72f68e28-c917-57fd-9a45-db2dbbb02b77"  # the governor's casualty count: relations, a drawing
SOURCE = str(seeds.seed_id("source", "reuters"))
STATEMENT = "Austin+initiated+the+call"

# Each page, and the JSON requests whose answers it shows.
PAGES: dict[str, tuple[str, list[str]]] = {
    "find": (f"/ui/?statement={STATEMENT}", [f"/trace?statement={STATEMENT}&limit=11"]),
    "claim": (
        f"/ui/claims/{CLAIM}",
        [
            f"/claims/{CLAIM}",
            f"/claims/{CLAIM}/trace",
            f"/claims/{CLAIM}/relations",
            f"/claims/{CLAIM}/reviews",
            f"/claims/{CLAIM}/revisions",
        ],
    ),
    "source": (
        f"/ui/sources/{SOURCE}",
        [
            f"/sources/{SOURCE}",
            f"/sources/{SOURCE}/network?limit=8",
            f"/sources/{SOURCE}/claims?role=origin&limit=10",
            f"/sources/{SOURCE}/claims?role=relay&limit=10",
        ],
    ),
}


def timed(url: str) -> float:
    """Seconds one GET takes, its body read; an error status fails the benchmark."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        if response.status != 200:
            sys.exit(f"{url} answered {response.status}")
    return time.perf_counter() - started


def measure(base: str, rounds: int) -> dict[str, Any]:
    """Median milliseconds of each page and of its JSON requests summed, and their ratio."""
    samples: dict[str, dict[str, list[float]]] = {name: {"page": [], "json": []} for name in PAGES}
    for n in range(rounds + 1):
        for name, (page, requests) in PAGES.items():
            page_time = timed(base + page)
            json_time = sum(timed(base + path) for path in requests)
            if n:  # the first round warms the worker up
                samples[name]["page"].append(page_time)
                samples[name]["json"].append(json_time)
    result = {}
    for name, times in samples.items():
        page_ms = 1000 * statistics.median(times["page"])
        json_ms = 1000 * statistics.median(times["json"])
        result[name] = {
            "page_ms": round(page_ms, 2),
            "json_ms": round(json_ms, 2),
            "json_requests": len(PAGES[name][1]),
            "ratio": round(page_ms / json_ms, 2),
        }
    return result


def table(result: dict[str, Any]) -> str:
    """The figures against the target, as Markdown."""
    rows = ["| page | p50 page | p50 of its JSON (requests) | ratio | target |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, figures in result["pages"].items():
        rows.append(
            f"| {name} | {figures['page_ms']} ms | {figures['json_ms']} ms ({figures['json_requests']}) | "
            f"**{figures['ratio']}** | <= 2 |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="three rounds; results to .bench/")
    args = parser.parse_args(argv)
    rounds = 3 if args.smoke else args.rounds
    WORK.mkdir(exist_ok=True)
    url = fresh_database(server_url(), "provenance_bench_pages")
    provenance(url, "migrate")
    provenance(url, "seed")
    with served(url, Cores.pick()) as app:
        pages = measure(app.base, rounds)
    result = {"date": datetime.now(UTC).strftime("%Y-%m-%d"), "rounds": rounds, "pages": pages}
    folder = WORK if args.smoke else RESULTS / "pages"
    folder.mkdir(exist_ok=True)
    path = folder / f"{'smoke-pages' if args.smoke else result['date']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
