"""Where the benchmark's files are: the repository, ``.bench/`` for everything a run generates
(corpora, request files, server logs, profiles, trial results; git ignores it), ``bench/results/``
for the figures kept, and the folder of this interpreter's scripts (``provenance``, ``granian``,
``py-spy``), which the benchmark runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".bench"
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
