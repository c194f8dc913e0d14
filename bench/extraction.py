"""The extraction benchmark: articles of 1,000 words read in one process, and through ``POST /extract``.

Articles are made of the paragraphs of the committed sample (``tests/extract_sample``), dealt round
robin until each holds 1,000 words. Two measurements:

1. **In one process, one core** (``taskset`` to the server core): the model loaded once (its time
   reported), then every article read in turn, several rounds: articles a second per core.
2. **Through the API**: ``provenance serve`` (one worker, pinned to the server core) on an empty
   migrated database; each article posted in turn by one client on the other core: latency
   percentiles, and the worker's resident memory after (``VmRSS``, and its peak ``VmHWM``).

``python -m bench.extraction`` writes ``bench/results/extraction/<date>.json`` and prints a table;
``--smoke`` reads two articles once each and writes under ``.bench/`` (CI: it fails on errors only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

from bench.databases import fresh_database, provenance, server_url
from bench.machine import Cores
from bench.paths import RESULTS, ROOT, WORK
from bench.processes import process_tree, served, status_kb

SAMPLE = ROOT / "tests" / "extract_sample"
WORDS = 1_000


def articles(count: int) -> list[str]:
    """``count`` articles of about 1,000 words each, from the sample's paragraphs dealt round robin."""
    paragraphs = [
        line.strip()
        for path in sorted(SAMPLE.rglob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if len(line.split()) >= 8
    ]
    made: list[str] = []
    cursor = 0
    for _ in range(count):
        chosen: list[str] = []
        while sum(len(p.split()) for p in chosen) < WORDS:
            chosen.append(paragraphs[cursor % len(paragraphs)])
            cursor += 1
        made.append("\n\n".join(chosen))
    return made


def in_process(texts: list[str], rounds: int) -> dict[str, Any]:
    """Run in a child pinned to one core: load the model once, then read every article ``rounds`` times."""
    script = (
        "import json, sys, time\n"
        "started = time.perf_counter()\n"
        "from service.domain.extraction import _read, extractor\n"
        "extractor()\n"
        "loaded = time.perf_counter() - started\n"
        "texts = json.load(sys.stdin)\n"
        "times = []\n"
        f"for _ in range({rounds}):\n"
        "    for text in texts:\n"
        "        t = time.perf_counter(); _read(text); times.append(time.perf_counter() - t)\n"
        "print(json.dumps({'load_seconds': loaded, 'times': times}))\n"
    )
    cores = Cores.pick()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [*cores.server, sys.executable, "-c", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    times = figures["times"]
    return {
        "model_load_seconds": round(figures["load_seconds"], 2),
        "articles": len(times),
        "articles_per_second_per_core": round(len(times) / sum(times), 2),
        "p50_ms": round(1000 * statistics.median(times), 1),
    }


def through_api(texts: list[str], rounds: int) -> dict[str, Any]:
    """POST /extract on a served worker pinned to one core, one client: latencies and the worker's memory."""
    url = fresh_database(server_url(), "provenance_bench_extraction")
    provenance(url, "migrate")
    cores = Cores.pick()
    with served(url, cores, env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}) as app:
        latencies: list[float] = []
        failures = 0
        for n in range(rounds + 1):  # the first round warms the worker up: the model loads on first use
            for text in texts:
                request = urllib.request.Request(
                    f"{app.base}/extract",
                    data=json.dumps({"text": text}).encode(),
                    headers={"content-type": "application/json"},
                )
                started = time.perf_counter()
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        response.read()
                except OSError:
                    failures += 1
                    continue
                if n:
                    latencies.append(time.perf_counter() - started)
        workers = process_tree(app.pid)
        rss = max((status_kb(pid, "VmRSS") for pid in workers), default=0)
        peak = max((status_kb(pid, "VmHWM") for pid in workers), default=0)
    latencies.sort()
    return {
        "requests": len(latencies),
        "failures": failures,
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
        "worker_rss_mb": round(rss / 1024, 1),
        "worker_peak_rss_mb": round(peak / 1024, 1),
    }


def table(result: dict[str, Any]) -> str:
    """The figures against the issue's targets, as Markdown."""
    one, api = result["in_process"], result["api"]
    rows = [
        "| measure | value | target |",
        "| --- | ---: | ---: |",
        f"| articles of 1,000 words a second, one core | {one['articles_per_second_per_core']} | >= 3 |",
        f"| p50 per article, in process | {one['p50_ms']} ms | |",
        f"| p50 per article through POST /extract | {api['p50_ms']} ms | <= 400 ms |",
        f"| p95 per article through POST /extract | {api['p95_ms']} ms | |",
        f"| worker resident memory, model loaded | {api['worker_rss_mb']} MB (peak {api['worker_peak_rss_mb']}) "
        "| <= 400 MB |",
        f"| model load, once per worker | {one['model_load_seconds']} s | |",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="two articles once; results to .bench/")
    args = parser.parse_args(argv)
    count, rounds = (2, 1) if args.smoke else (args.articles, args.rounds)
    WORK.mkdir(exist_ok=True)
    texts = articles(count)
    words = [len(t.split()) for t in texts]
    print(f"extraction: {count} articles of {min(words)} to {max(words)} words, {rounds} round(s)", flush=True)
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "words_per_article": round(statistics.mean(words)),
        "in_process": in_process(texts, rounds),
        "api": through_api(texts, rounds),
    }
    folder = WORK if args.smoke else RESULTS / "extraction"
    folder.mkdir(exist_ok=True)
    path = folder / f"{'smoke-extraction' if args.smoke else result['date']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"wrote {path.relative_to(ROOT)}")
    if result["api"]["failures"] or not result["api"]["requests"]:
        sys.exit("the extraction benchmark saw failed requests")


if __name__ == "__main__":
    main()
