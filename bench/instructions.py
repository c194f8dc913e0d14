"""The one-row read's instructions a request, counted by valgrind: code against code, to the per cent.

    python -m bench.instructions [--claims 100000] [--bare] [--paths trace]

Runs ``bench.inprocess`` twice under valgrind (``cachegrind``, no cache simulation), with 1,000 and
4,000 requests, and prints the difference in instructions over the difference in requests (each run
makes its number of requests twice, a warm-up and the timed run): what a request costs, without the
process's start and imports. Unlike a clock, the count does not move when other jobs share the
machine: two runs of one code agree within about 0.5%, where CPU time a request swings by a third.
Eight requests at a time, fewer than the pool's connections, and a long acquisition deadline, since
valgrind makes Python about sixteen times slower. Needs valgrind (``make bench-deps``). It counts
Python's and the libraries' instructions, never PostgreSQL's, the kernel's or a server's: a tool
for telling two versions of the app apart, not a target.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

FEWER, MORE = 1_000, 4_000
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(requests: int, claims: int, bare: bool, paths: str = "status") -> int:
    """The instructions one run of ``bench.inprocess`` with ``requests`` requests executes in all."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.inprocess",
        "--claims",
        str(claims),
        "--requests",
        str(requests),
        "--concurrency",
        "8",
        "--paths",
        paths,
        *(["--bare"] if bare else []),
    ]
    env = {**os.environ, "PROVENANCE_ACQUIRE_TIMEOUT": "60"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"bench.inprocess failed under valgrind:\n{done.stdout}{done.stderr[-3000:]}")
    return int(found[1].replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--claims", type=int, default=100_000, help="the corpus size bench.run loaded")
    parser.add_argument("--bare", action="store_true", help="count scenario (a0)'s app instead")
    parser.add_argument("--paths", default="status", help="bench.inprocess's request file: status, trace, ...")
    args = parser.parse_args()
    fewer, more = (instructions(n, args.claims, args.bare, args.paths) for n in (FEWER, MORE))
    per_request = (more - fewer) / (2 * (MORE - FEWER))
    print(f"{'bare' if args.bare else 'service'}: {per_request:,.0f} instructions a request")


if __name__ == "__main__":
    main()
