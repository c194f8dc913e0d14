"""What the attribution tagger sees of each token: its words, its syntax and where it stands to cues and quotes.

One function, ``paragraph_features``, used alike by training (``training/train.py``) and at run time
(``service.extraction.pipeline``), so the two can never drift apart. A token's features are strings
(``crfsuite``'s sparse binary features). ``CueLexicon`` says how often a lemma is a cue in the
training articles; it ships with the model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from spacy.tokens import Span, Token

OPENING_QUOTES = frozenset("“«„")
CLOSING_QUOTES = frozenset("”»")
STRAIGHT_QUOTES = frozenset('"')
# A token's quote state (``quote_states``): outside quotation marks, inside, or a mark itself.
OUTSIDE, INSIDE, MARK = 0, 1, 2
# The relations by which a reporting verb holds what was said, or who said it.
CLAUSE_DEPS = frozenset({"ccomp", "parataxis", "xcomp", "nsubj", "nsubj:pass", "obj", "obl", "advcl", "csubj"})


@dataclass(frozen=True)
class CueLexicon:
    """The share of a lemma's occurrences that are (part of) a cue in the training articles, in bins 0 to 4."""

    bins: dict[str, int]

    def bin(self, lemma: str) -> int:
        """0: never or seldom a cue; 4: nearly always one."""
        return self.bins.get(lemma, 0)

    @classmethod
    def from_counts(cls, cue: dict[str, int], total: dict[str, int], *, min_count: int = 3) -> CueLexicon:
        """Bins from counts: how often each lemma was a cue, how often it occurred."""
        bins = {}
        for lemma, n in total.items():
            if n < min_count or not cue.get(lemma):
                continue
            share = cue[lemma] / n
            level = 4 if share >= 0.6 else 3 if share >= 0.3 else 2 if share >= 0.1 else 1 if share >= 0.02 else 0
            if level:
                bins[lemma] = level
        return cls(bins)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.bins, sort_keys=True, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> CueLexicon:
        return cls(json.loads(path.read_text(encoding="utf-8")))


def lemma(token: Token) -> str:
    """The lemma the lexicon and the features use: lower-cased, the word itself when there is none."""
    return (token.lemma_ or token.text).lower()


def quote_states(tokens: Sequence[Token]) -> list[int]:
    """For each token: 0 outside quotation marks, 1 inside, 2 a quotation mark itself."""
    states = []
    inside = False
    for token in tokens:
        text = token.text
        if text in OPENING_QUOTES or (text in STRAIGHT_QUOTES and not inside):
            inside = True
            states.append(2)
        elif text in CLOSING_QUOTES or (text in STRAIGHT_QUOTES and inside):
            inside = False
            states.append(2)
        else:
            states.append(1 if inside else 0)
    return states


def _cue_anchor(token: Token, lexicon: CueLexicon) -> tuple[Token | None, str]:
    """The nearest ancestor (or the token itself) that is likely a cue, and the relation on the path to it."""
    child = None
    node = token
    for _ in range(12):
        if lexicon.bin(lemma(node)) >= 3:
            return node, "self" if child is None else child.dep_
        if node.head.i == node.i:
            return None, ""
        child, node = node, node.head
    return None, ""


def _word_or_tag(token: Token, lexicon: CueLexicon) -> str:
    """A token's lemma when it is ever (part of) a cue, else its tag: few and telling values."""
    key = lemma(token)
    return key if lexicon.bin(key) >= 2 else token.tag_


def _path(token: Token, steps: int) -> tuple[list[str], Token]:
    """The relations from ``token`` up towards the sentence's root, at most ``steps`` of them, and where they end."""
    relations = []
    node = token
    for _ in range(steps):
        if node.head.i == node.i:
            break
        relations.append(node.dep_)
        node = node.head
    return relations, node


def _roots(sentence: Span) -> list[Token]:
    """For each token of ``sentence``, the root of the document's sentence it belongs to (a content read
    again as a sentence of its own may hold parts of two), found in one pass; ``Token.sent`` would
    walk the sentence again for every token."""
    roots: list[Token] = []
    for sent in sentence.doc.sents:
        if sent.end <= sentence.start:
            continue
        if sent.start >= sentence.end:
            break
        roots += [sent.root] * (min(sent.end, sentence.end) - max(sent.start, sentence.start))
    return roots


def _bucket(n: int) -> str:
    return str(n) if n < 4 else "4-7" if n < 8 else "8+"


def sentence_features(sentence: Span, lexicon: CueLexicon, states: Sequence[int]) -> list[list[str]]:
    """The features of each token of one sentence (``states``: its tokens' quote states)."""
    tokens = list(sentence)
    bins = [lexicon.bin(lemma(t)) for t in tokens]
    cue_positions = [i for i, b in enumerate(bins) if b >= 3]
    has_quote = any(s == 2 for s in states)
    roots = _roots(sentence)
    rows = []
    for i, token in enumerate(tokens):
        lem = lemma(token)
        row = [
            "b",
            f"w={token.lower_}",
            f"l={lem}",
            f"t={token.tag_}",
            f"d={token.dep_}",
            f"s={token.shape_[:4]}",
            f"x={token.lower_[-3:]}",
            f"c={bins[i]}",
            f"q={states[i]}",
            f"dt={token.dep_}|{token.head.tag_}",
            f"hc={lexicon.bin(lemma(token.head))}",
            f"ql={token.text if states[i] == 2 else ''}",
        ]
        if bins[i] >= 2:
            row.append(f"cl={lem}")
        if token.pos_ in {"VERB", "AUX"} or token.tag_.startswith("VB"):
            children = {child.dep_ for child in token.children}
            row += [f"vd={lem}|{token.dep_}"] + [f"vc={dep}" for dep in sorted(children & CLAUSE_DEPS)]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None:
            row.append(f"bg={lem}|{lemma(nxt)}")
        row.append(f"hl2={lemma(token.head)}")
        if lexicon.bin(lemma(token.head)) >= 3:
            row.append(f"hl={lemma(token.head)}|{token.dep_}")
        anchor, relation = _cue_anchor(token, lexicon)
        if anchor is not None:
            side = "L" if token.i < anchor.i else "R" if token.i > anchor.i else "S"
            row += [f"ar={relation}", f"ar={relation}|{side}", f"ab={lexicon.bin(lemma(anchor))}|{side}"]
        else:
            row.append("ar=none")
        # Where the token hangs in the parse: its relations up three steps; the first two with the word
        # the three lead to, when that word is ever a cue (its tag else); the sentence's root seen the
        # same way, and on which side of it the token stands.
        relations, above = _path(token, 3)
        row.append("p=" + ">".join(relations))
        row.append(f"pr={'>'.join(relations[:2])}|{_word_or_tag(above, lexicon)}")
        root = roots[i]
        of_root = "L" if token.i < root.i else "R" if token.i > root.i else "S"
        row.append(f"rt={_word_or_tag(root, lexicon)}|{of_root}")
        for offset in (-3, 3):
            j = i + offset
            if 0 <= j < len(tokens):
                row += [f"{offset}w={tokens[j].lower_}", f"{offset}c={bins[j]}"]
        if i > 0:
            row.append(f"bgL={lemma(tokens[i - 1])}|{lem}")
        if i == 0:
            row.append("first")
        if i == len(tokens) - 1:
            row.append("last")
        left = [p for p in cue_positions if p < i]
        right = [p for p in cue_positions if p > i]
        row.append(f"cL={_bucket(i - left[-1]) if left else 'n'}")
        row.append(f"cR={_bucket(right[0] - i) if right else 'n'}")
        row.append(f"sq={int(has_quote)}|{int(bool(cue_positions))}")
        for offset in (-2, -1, 1, 2):
            j = i + offset
            if 0 <= j < len(tokens):
                neighbour = tokens[j]
                row += [f"{offset}w={neighbour.lower_}", f"{offset}t={neighbour.tag_}", f"{offset}c={bins[j]}"]
                if abs(offset) == 1:
                    row += [f"{offset}q={states[j]}", f"{offset}d={neighbour.dep_}"]
            else:
                row.append(f"{offset}=edge")
        rows.append(row)
    return rows


def paragraph_features(sentences: Sequence[Span], lexicon: CueLexicon) -> list[list[str]]:
    """The features of every token of a paragraph, sentence after sentence."""
    tokens = [token for sentence in sentences for token in sentence]
    states = quote_states(tokens)
    rows: list[list[str]] = []
    start = 0
    for sentence in sentences:
        rows += sentence_features(sentence, lexicon, states[start : start + len(sentence)])
        start += len(sentence)
    return rows
