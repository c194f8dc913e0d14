"""The span metrics BBC's Citron defined for quote extraction, written from their definition.

For an article's predicted and gold attributions:

- **cue, exact**: a predicted attribution is a true positive when its cue equals a gold cue; a gold
  attribution whose cue no prediction equals is a false negative.
- **source, exact** (and **content, exact**): a predicted attribution is a true positive when some
  gold attribution has an *overlapping* cue and exactly the same list of source (content) spans;
  the same test, the other way round, finds the false negatives. Two empty lists are the same.
- **attribution, exact**: cue, sources and contents all exactly the same.
- **overlap**: tokens, not spans. Over every pair of predicted and gold attributions, the tokens
  their cues (sources, contents) share are summed; precision divides that sum by the tokens of the
  predicted spans, recall by the tokens of the gold spans. The "attribution" row sums all three
  kinds. (Citron's own code passes predicted and gold lengths the other way round in that row, so
  its printed precision and recall are swapped there; here they are not.)

Tokens are the text's words and punctuation marks (``\\w+|[^\\w\\s]``); a token belongs to a span
when any of its characters does. Scores add up over articles before dividing (micro average).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from training.corpus import Attribution, Fragments

TOKEN = re.compile(r"\w+|[^\w\s]")
KINDS = ("cue", "source", "content", "attribution")


@dataclass
class Counts:
    """True positives, false positives and false negatives of exact matching; overlap sums of tokens."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    overlap: int = 0
    predicted_tokens: int = 0
    gold_tokens: int = 0

    def exact(self) -> tuple[float, float, float]:
        """Precision, recall and F1 of exact matching."""
        return _prf(
            self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0,
            self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0,
        )

    def overlapping(self) -> tuple[float, float, float]:
        """Precision, recall and F1 of token overlap."""
        p = self.overlap / self.predicted_tokens if self.predicted_tokens else 0.0
        r = self.overlap / self.gold_tokens if self.gold_tokens else 0.0
        return _prf(p, r)


def _prf(p: float, r: float) -> tuple[float, float, float]:
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class Scores:
    """Counts per kind (cue, source, content, attribution), added up over articles."""

    counts: dict[str, Counts] = field(default_factory=lambda: {kind: Counts() for kind in KINDS})
    predicted: int = 0
    gold: int = 0

    def add(self, text: str, predicted: Sequence[Attribution], gold: Sequence[Attribution]) -> None:
        """Score one article."""
        self.predicted += len(predicted)
        self.gold += len(gold)
        _exact(self.counts["cue"], predicted, gold, _same_cue)
        _exact(
            self.counts["source"], predicted, gold, lambda p, g: _overlaps(p.cue, g.cue) and _same(p.sources, g.sources)
        )
        _exact(
            self.counts["content"],
            predicted,
            gold,
            lambda p, g: _overlaps(p.cue, g.cue) and _same(p.contents, g.contents),
        )
        _exact(
            self.counts["attribution"],
            predicted,
            gold,
            lambda p, g: _same_cue(p, g) and _same(p.sources, g.sources) and _same(p.contents, g.contents),
        )
        tokens = Tokens(text)
        parts = {
            "cue": lambda a: [a.cue],
            "source": lambda a: list(a.sources),
            "content": lambda a: list(a.contents),
        }
        for kind, of in parts.items():
            counts = self.counts[kind]
            total = self.counts["attribution"]
            for p in predicted:
                p_tokens = tokens.of(of(p))
                counts.predicted_tokens += len(p_tokens)
                total.predicted_tokens += len(p_tokens)
                for g in gold:
                    shared = len(p_tokens & tokens.of(of(g)))
                    counts.overlap += shared
                    total.overlap += shared
            for g in gold:
                g_tokens = len(tokens.of(of(g)))
                counts.gold_tokens += g_tokens
                total.gold_tokens += g_tokens


class Tokens:
    """The tokens of a text, and which of them a list of spans covers."""

    def __init__(self, text: str) -> None:
        self.index = [-1] * len(text)
        for k, match in enumerate(TOKEN.finditer(text)):
            for i in range(match.start(), match.end()):
                self.index[i] = k

    def of(self, spans: Sequence[Fragments]) -> set[int]:
        found = set()
        for fragments in spans:
            for start, end in fragments:
                found.update(k for k in self.index[max(start, 0) : end] if k >= 0)
        return found


def _same_cue(p: Attribution, g: Attribution) -> bool:
    return tuple(sorted(p.cue)) == tuple(sorted(g.cue))


def _overlaps(a: Fragments, b: Fragments) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a for s2, e2 in b)


def _same(a: Sequence[Fragments], b: Sequence[Fragments]) -> bool:
    return sorted(f for fragments in a for f in fragments) == sorted(f for fragments in b for f in fragments)


def _exact(counts: Counts, predicted: Sequence[Attribution], gold: Sequence[Attribution], match: object) -> None:
    assert callable(match)
    for p in predicted:
        if any(match(p, g) for g in gold):
            counts.tp += 1
        else:
            counts.fp += 1
    for g in gold:
        if not any(match(p, g) for p in predicted):
            counts.fn += 1
