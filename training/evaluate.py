"""``make eval-extract``: the extractor scored on data it never saw while it was built.

1. PolNeAR dev (84 articles, one annotator each, the lowest id), top-level attributions, with
   Citron's span metrics (``training.metrics``), printed beside Citron's own scores on the same
   data as the issue reports them.
2. The nested gold set (``tests/extract_gold/``: 30 PolNeAR dev articles and the seed article,
   annotated by reading): chain-exact and origin accuracy (``training.chains``).

``--record FILE`` writes the scores of the full run and of the committed sample
(``tests/extract_sample``) to FILE; ``--sample --floor FILE`` (what CI runs) scores the sample and
fails (exit 1) when a score falls more than 3 points below the sample's recorded figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from service.extraction import MODEL_DIR
from service.extraction.extractor import Extractor
from service.extraction.text import Paragraph
from training import corpus
from training.chains import score_chains
from training.corpus import Attribution
from training.metrics import KINDS, Scores

# Citron retrained on PolNeAR train, scored on PolNeAR dev with its own metric (the figures).
CITRON = {"cue": 50.0, "source": 53.3, "content": 36.0, "attribution": 29.5, "content_overlap": 67.2}
TARGETS = {"cue": 65.0, "source": 58.0, "content": 40.0, "attribution": 33.0, "content_overlap": 72.0}
FLOOR_MARGIN = 3.0


def _fragments(spans: object) -> corpus.Fragments:
    return tuple((s.start, s.end) for s in spans)  # type: ignore[attr-defined]


def score_polnear(
    model_dir: Path, items: list[corpus.Article], parsed: list[list[Paragraph]] | None = None
) -> dict[str, float]:
    """F1 (percent) of the top-level attributions the extractor finds in ``items``, Citron's metrics."""
    extractor = Extractor(model_dir)
    scores = Scores()
    for n, item in enumerate(items):
        paragraphs = parsed[n] if parsed is not None else extractor.tagger.parse(item.text)
        predicted = [
            Attribution(
                cue=((a.cue.start, a.cue.end),),
                sources=(((a.source.start, a.source.end),),) if a.source else (),
                contents=(_fragments(a.contents),),
            )
            for a in extractor.attributions(paragraphs)
            if a.parent is None
        ]
        scores.add(item.text, predicted, item.attributions)
    result = {kind: round(100 * scores.counts[kind].exact()[2], 1) for kind in KINDS}
    for kind in KINDS:
        p, r, _ = scores.counts[kind].exact()
        result[f"{kind}_p"], result[f"{kind}_r"] = round(100 * p, 1), round(100 * r, 1)
        po, ro, fo = scores.counts[kind].overlapping()
        result[f"{kind}_overlap"] = round(100 * fo, 1)
        result[f"{kind}_overlap_p"], result[f"{kind}_overlap_r"] = round(100 * po, 1), round(100 * ro, 1)
    result["predicted"], result["gold"] = scores.predicted, scores.gold
    return result


def table(scores: dict[str, float]) -> str:
    """The scores beside Citron's and the targets, as a Markdown table."""
    rows = ["| span | exact P | exact R | exact F1 | Citron F1 | target | overlap P | overlap R | overlap F1 |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for kind in KINDS:
        rows.append(
            f"| {kind} | {scores[f'{kind}_p']} | {scores[f'{kind}_r']} | **{scores[kind]}** | {CITRON[kind]} | "
            f"{TARGETS[kind]} | {scores[f'{kind}_overlap_p']} | {scores[f'{kind}_overlap_r']} | "
            f"{scores[f'{kind}_overlap']} |"
        )
    rows.append(
        f"\ncontent overlap F1 {scores['content_overlap']} "
        f"(Citron {CITRON['content_overlap']}, target {TARGETS['content_overlap']})"
    )
    return "\n".join(rows)


def run(model: Path) -> dict[str, Any]:
    """Every score, on the corpora ``corpus`` reads from now; printed as it goes."""
    started = time.monotonic()
    items = corpus.articles("dev")
    polnear = score_polnear(model, items)
    where = "the committed sample" if corpus.DATA == corpus.SAMPLE else "the shared corpora"
    print(f"PolNeAR dev, {where}: {len(items)} articles, {polnear['gold']} gold and "
          f"{polnear['predicted']} predicted top-level attributions")  # fmt: skip
    print(table(polnear))
    chains = score_chains(model)
    print(f"\nNested gold set: {chains['claims']} claims ({chains['nested_claims']} with 2+ hops)")
    print(chain_table(chains))
    print(f"\n{time.monotonic() - started:.0f} s")
    return {"polnear": polnear, "chains": chains}


def chain_table(chains: dict[str, Any]) -> str:
    """Chain-exact and origin accuracy, overall and by part, as a Markdown table."""
    rows = ["| claims | n | found | chain-exact | origin |", "| --- | ---: | ---: | ---: | ---: |"]
    for key, label in (("", "all"), ("polnear_", "PolNeAR dev articles"), ("seed_", "seed article"),
                       ("nested_", "with 2+ hops")):  # fmt: skip
        rows.append(
            f"| {label} | {chains[key + 'claims']} | {chains[key + 'found']} | {chains[key + 'chain_exact']} | "
            f"{chains[key + 'origin']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL_DIR)
    parser.add_argument("--sample", action="store_true", help="score the sample committed under tests/")
    parser.add_argument("--record", type=Path, help="write the full run's and the sample's scores to this file")
    parser.add_argument("--floor", type=Path, help="fail 3 points below the scores this file records")
    args = parser.parse_args(argv)
    if args.sample:
        corpus.use(corpus.SAMPLE)
    result = run(args.model)
    if args.record:
        corpus.use(corpus.SAMPLE)
        print("\nThe committed sample, for CI's floor:")
        sample = run(args.model)
        args.record.write_text(json.dumps({"full": result, "sample": sample}, indent=1) + "\n")
    if args.floor:
        recorded = json.loads(args.floor.read_text())["sample" if args.sample else "full"]
        failed = []
        for name in [*KINDS, "content_overlap"]:
            floor = recorded["polnear"][name] - FLOOR_MARGIN
            if result["polnear"][name] < floor:
                failed.append(f"{name} F1 {result['polnear'][name]} < {floor:.1f}")
        for name in ("chain_exact", "origin"):
            floor = recorded["chains"][name] - FLOOR_MARGIN / 100
            if result["chains"][name] < floor:
                failed.append(f"{name} {result['chains'][name]} < {floor:.3f}")
        if failed:
            print("below the floor: " + "; ".join(failed), file=sys.stderr)
            return 1
        print("at or above the floor (recorded figures minus 3 points)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
