"""How far two of PolNeAR's own annotators agree: the ceiling a single annotator's gold puts on any extractor.

PolNeAR had some articles read by two annotators or more. Taking the lowest id as gold (as training
and scoring do) and the next annotator as the "prediction", this prints:

- Citron's span metrics (``training.metrics``), exactly as ``make eval-extract`` scores the model;
- the claim-level figures the nested gold set is scored with, restricted to what one layer can say:
  **found** (a gold attribution's content is matched, one to one, by a content of the other reading
  that overlaps at least half of the shorter: ``training.chains.one_to_one``, as the gold set's
  scoring matches) and **origin** (found,
  and the two readings' sources overlap, or both have none; a second figure also counts a pronoun
  on either side as agreeing, an upper bound).

    python -m training.agreement

Nothing here scores the model: it says how high a score a second careful human reaches.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from training import corpus
from training.chains import one_to_one
from training.corpus import Attribution, Fragments
from training.metrics import KINDS, Scores


def readings(compartment: str) -> list[tuple[str, str, list[Attribution], list[Attribution]]]:
    """(name, text, lowest annotator's attributions, next annotator's) for each article read twice."""
    folder = corpus.POLNEAR / compartment
    found = []
    for name in corpus.names(compartment):
        anns = sorted(p for p in (folder / "attributions").glob(f"{name}_*.ann") if len(p.stem) == len(name) + 5)
        if len(anns) < 2:
            continue
        text = (folder / "text" / f"{name}.txt").read_text(encoding="utf-8")
        gold, other = (corpus.parse_ann(p.read_text(encoding="utf-8")) for p in anns[:2])
        found.append((name, text, gold, other))
    return found


def _extent(spans: Sequence[Fragments]) -> tuple[int, int] | None:
    points = [point for fragments in spans for fragment in fragments for point in fragment]
    return (min(points), max(points)) if points else None


def _shared(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


# Words that stand for a speaker without naming one: where either reading's source is one of these,
# the two may be one speaker ("Wilcox" and a later "he"), which span overlap cannot tell.
PRONOUNS = frozenset(
    {"he", "she", "they", "it", "who", "that", "which", "i", "we", "you", "his", "her", "their", "its"}
)


def claims(text: str, gold: list[Attribution], other: list[Attribution]) -> tuple[int, int, int, int]:
    """(gold attributions with a content, found, origin, origin counting a pronoun as agreeing) for one
    article."""
    spans_gold = [(a, s) for a, s in ((a, _extent(a.contents)) for a in gold) if s]
    spans_other = [(a, s) for a, s in ((a, _extent(a.contents)) for a in other) if s]
    matched = one_to_one([s for _, s in spans_gold], [s for _, s in spans_other])
    origin = lenient = 0
    for g, p in matched.items():
        gs, ps = _extent(spans_gold[g][0].sources), _extent(spans_other[p][0].sources)
        if (gs is None and ps is None) or (gs and ps and _shared(gs, ps)):
            origin += 1
            lenient += 1
        elif gs and ps and {text[gs[0] : gs[1]].strip().lower(), text[ps[0] : ps[1]].strip().lower()} & PRONOUNS:
            lenient += 1
    return len(spans_gold), len(matched), origin, lenient


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compartments", nargs="+", default=["train", "dev"])
    args = parser.parse_args(argv)
    scores = Scores()
    total = found = origin = lenient = 0
    articles = 0
    for compartment in args.compartments:
        for _, text, gold, other in readings(compartment):
            articles += 1
            scores.add(text, other, gold)
            n, f, o, o_lenient = claims(text, gold, other)
            total, found, origin, lenient = total + n, found + f, origin + o, lenient + o_lenient
    print(f"PolNeAR articles read by two annotators ({', '.join(args.compartments)}): {articles}; "
          f"{scores.gold} attributions by the lowest id, {scores.predicted} by the next")  # fmt: skip
    print("| span | exact P | exact R | exact F1 | overlap F1 |\n| --- | ---: | ---: | ---: | ---: |")
    for kind in KINDS:
        p, r, f1 = scores.counts[kind].exact()
        overlap = scores.counts[kind].overlapping()[2]
        print(f"| {kind} | {100 * p:.1f} | {100 * r:.1f} | {100 * f1:.1f} | {100 * overlap:.1f} |")
    print(f"\nclaims: {total}; found {found / total:.3f}, origin {origin / total:.3f} "
          f"({lenient / total:.3f} counting a pronoun against a name as the same speaker); "
          "the second reading against the first, one layer")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
