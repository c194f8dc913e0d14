"""Reading PolNeAR: its articles and their single-layer attributions (brat standoff), one annotator each.

PolNeAR (Newell, Margolin and Ruths, LREC 2018) gives each article as ``text/<name>.txt`` and its
annotations as ``attributions/<name>_<annotator>.ann``. A text-bound line reads
``T3<TAB>Content 115 290;300 310<TAB>words`` (a span may have several fragments); an event line
``E1<TAB>Attribution:T4 Content:T3 Cue:T2 Source:T1`` groups them into one attribution (``Content2``
and ``Attribution-no-source`` occur too). Where several annotators read one article, the one with
the lowest id is taken, as the issue asks of training and scoring alike.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
# The corpora (polnear/ and ud-english-ewt/, laid out as tests/extract_sample/ shows): the folder
# PROVENANCE_CORPORA names, else shared/data beside the checkout.
DATA = Path(os.environ.get("PROVENANCE_CORPORA") or REPOSITORY.parent / "shared" / "data")
# A few PolNeAR dev articles and the seed article, committed so that CI can score without the corpora.
SAMPLE = REPOSITORY / "tests" / "extract_sample"
POLNEAR = DATA / "polnear"


def use(root: Path) -> None:
    """Read the corpora from ``root`` from now on (the committed sample, say)."""
    global DATA, POLNEAR
    DATA, POLNEAR = root, root / "polnear"


def locate(relative: str) -> Path:
    """A file named relative to the data folder (``polnear/dev/...``) or beside it (``seed/...``)."""
    path = Path(relative)
    # PolNeAR keeps its texts under text/: "polnear/dev/x.txt" is polnear/dev/text/x.txt.
    candidates = [path, path.parent / "text" / path.name]
    for base in (DATA, DATA.parent):
        for candidate in candidates:
            if (base / candidate).exists():
                return base / candidate
    raise FileNotFoundError(f"{relative} is neither in {DATA} nor beside it")


Fragments = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Attribution:
    """One attribution: its cue, its sources and its contents, each as character fragments."""

    cue: Fragments
    sources: tuple[Fragments, ...]
    contents: tuple[Fragments, ...]


@dataclass
class Article:
    """An article's text and its gold attributions."""

    name: str
    text: str
    attributions: list[Attribution] = field(default_factory=list)


def _fragments(offsets: str) -> Fragments:
    return tuple((int(a), int(b)) for a, b in (part.split() for part in offsets.split(";")))


def parse_ann(ann: str) -> list[Attribution]:
    """The attributions of one ``.ann`` file."""
    spans: dict[str, tuple[str, Fragments]] = {}
    events: list[list[tuple[str, str]]] = []
    for line in ann.splitlines():
        if line.startswith("T") and line.count("\t") >= 1:
            tid, body, *_ = line.split("\t")
            kind, offsets = body.split(" ", 1)
            spans[tid] = (kind, _fragments(offsets))
        elif line.startswith("E") and "\t" in line:
            _, body = line.split("\t")[:2]
            events.append([tuple(arg.split(":", 1)) for arg in body.split()])  # type: ignore[misc]
    attributions = []
    for event in events:
        cue: Fragments = ()
        sources: list[Fragments] = []
        contents: list[Fragments] = []
        for role, tid in event:
            if tid not in spans:
                continue
            fragments = spans[tid][1]
            if role.startswith("Cue"):
                cue = fragments
            elif role.startswith("Source"):
                sources.append(fragments)
            elif role.startswith("Content"):
                contents.append(fragments)
        if cue:
            attributions.append(Attribution(cue, tuple(sources), tuple(contents)))
    return attributions


def names(compartment: str) -> list[str]:
    """The article names of a compartment (``train`` or ``dev``), sorted."""
    return sorted(path.stem for path in (POLNEAR / compartment / "text").glob("*.txt"))


def article(compartment: str, name: str) -> Article:
    """One article with the attributions of its lowest-id annotator."""
    folder = POLNEAR / compartment
    text = (folder / "text" / f"{name}.txt").read_text(encoding="utf-8")
    anns = sorted(p for p in (folder / "attributions").glob(f"{name}_*.ann") if len(p.stem) == len(name) + 5)
    return Article(name, text, parse_ann(anns[0].read_text(encoding="utf-8")) if anns else [])


def articles(compartment: str) -> list[Article]:
    """Every article of a compartment, in name order."""
    return [article(compartment, name) for name in names(compartment)]


def metadata() -> dict[str, dict[str, str]]:
    """PolNeAR's metadata rows by article name."""
    with (POLNEAR / "metadata.tsv").open(encoding="utf-8") as handle:
        return {row["filename"]: row for row in csv.DictReader(handle, delimiter="\t")}
