"""Why the gold claims the extractor misses are missed: each unmatched gold claim of a gold folder, classified.

For the development set only (``training/gold_train/``): the test set's misses are not to be read.

    python -m training.misses training/gold_train [--model DIR] [--list]

Each gold claim no proposed claim matches (``training.chains.match``) is put in one class, the first
that holds:

- ``taken``: a proposed claim overlaps it enough, but matched another gold claim (one to one) that
  does not hold it (a claim holding it is its parent's: it does not count here);
- ``boundary``: a proposed claim (not its parent's) overlaps it, by less than half of the shorter;
- ``dropped``: an attribution the extractor found has a content overlapping it enough, but made no
  claim (no speaker it could tell, the parent's speaker, or a content its nested ones cover);
- ``cue tagged``: the tagger marks the gold cue's word as a cue (in its paragraph, or in a content
  it is looked into), but no attribution came of it with a content there;
- ``cue untagged``: the tagger marks no cue there; beside it, what the parse makes of the cue's
  first word (``shape``): a verb taking a clause (``ccomp``), an infinitive (``xcomp``), an object,
  a noun, or other.

And beside the class, where the claim sits (``top``, ``in quote``, ``in paraphrase``: inside another
gold claim's content; a chain of two hops or more is ``nested`` too) and what its cue is (``speech``,
``belief`` or ``intention``, or ``other``: "praised", "blamed", "called for").
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from spacy.tokens import Token

from service.extraction import MODEL_DIR
from service.extraction.extractor import Extractor, Node
from service.extraction.proposals import drafts, speakers_of
from service.extraction.text import Paragraph
from training.chains import _overlap, article_text, match, verdict

BELIEF = frozenset(
    {
        "believe",
        "think",
        "thought",
        "feel",
        "felt",
        "know",
        "knew",
        "doubt",
        "suspect",
        "fear",
        "worry",
        "worried",
        "assume",
        "conclude",
        "concluded",
        "expect",
        "expected",
        "convinced",
        "sure",
        "certain",
        "understand",
        "consider",
        "considered",
        "see",
        "saw",
        "view",
    }
)
INTENTION = frozenset(
    {
        "want",
        "wanted",
        "plan",
        "planned",
        "planning",
        "intend",
        "intended",
        "hope",
        "hoped",
        "hoping",
        "seek",
        "sought",
        "wish",
        "aim",
        "try",
        "tried",
        "pledge",
        "pledged",
        "promise",
        "promised",
        "vow",
        "vowed",
        "commit",
        "committed",
        "decide",
        "decided",
        "determined",
    }
)
SPEECH = frozenset(
    {
        "say",
        "said",
        "says",
        "saying",
        "tell",
        "told",
        "telling",
        "add",
        "added",
        "adding",
        "write",
        "wrote",
        "writes",
        "state",
        "stated",
        "note",
        "noted",
        "noting",
        "claim",
        "claimed",
        "claims",
        "announce",
        "announced",
        "announcing",
        "ask",
        "asked",
        "explain",
        "explained",
        "report",
        "reported",
        "argue",
        "argued",
        "insist",
        "insisted",
        "reiterate",
        "reiterated",
        "respond",
        "responded",
        "reply",
        "replied",
        "suggest",
        "suggested",
        "according",
        ":",
        "declare",
        "declared",
        "deny",
        "denied",
        "comment",
        "comments",
        "call",
        "called",
        "calling",
        "testify",
        "testified",
        "acknowledge",
        "acknowledged",
        "mention",
        "mentioned",
        "estimate",
        "estimates",
    }
)


WRONG_ORIGIN = "wrong origin"


def _forms(word: str) -> set[str]:
    """A word and the stems it may inflect from ("worries": worry, "hoping": hope)."""
    forms = {word}
    for ending, replacements in (("ies", ("y",)), ("ied", ("y",)), ("es", ("", "e")), ("s", ("",)),
                                 ("ed", ("", "e")), ("ing", ("", "e"))):  # fmt: skip
        if word.endswith(ending) and len(word) > len(ending) + 2:
            forms |= {word[: -len(ending)] + r for r in replacements}
    return forms


def cue_kind(cue: str) -> str:
    """Speech, belief, intention or other, by the words of a gold cue."""
    words = {form for w in re.findall(r"[\w:']+", cue.lower()) for form in _forms(w)}
    for kind, lexicon in (("belief", BELIEF), ("intention", INTENTION), ("speech", SPEECH)):
        if words & lexicon:
            return kind
    return "other"


def position(claim: dict[str, Any], claims: list[dict[str, Any]]) -> str:
    """Where a gold claim sits: inside another gold claim's quoted or paraphrased content, or at the top."""
    around = [
        c
        for c in claims
        if c is not claim
        and c["start"] <= claim["start"]
        and claim["end"] <= c["end"]
        and (c["end"] - c["start"]) > (claim["end"] - claim["start"])
    ]
    if not around:
        return "top"
    inner = min(around, key=lambda c: c["end"] - c["start"])
    return "in quote" if inner["kind"] == "quote" else "in paraphrase"


def _enough(a: tuple[int, int], b: tuple[int, int]) -> bool:
    shared = _overlap(a, b)
    return bool(shared) and shared * 2 >= min(a[1] - a[0], b[1] - b[0])


def _cue_tokens(text: str, claim: dict[str, Any], paragraphs: list[Paragraph]) -> list[tuple[Paragraph, int]]:
    """The tokens of the gold cue's occurrence nearest the claim's content (outside it), in their paragraph."""
    cue = claim["chain"][-1]["cue"].strip()
    if not cue:
        return []
    lo, hi = max(0, claim["start"] - 400), min(len(text), claim["end"] + 200)
    best: tuple[int, int] | None = None
    for m in re.finditer(re.escape(cue), text[lo:hi], re.IGNORECASE):
        s, e = m.start() + lo, m.end() + lo
        if claim["start"] <= s < claim["end"]:
            continue
        distance = max(claim["start"] - e, s - claim["end"], 0)
        if best is None or distance < max(claim["start"] - best[1], best[0] - claim["end"], 0):
            best = (s, e)
    if best is None:
        return []
    for paragraph in paragraphs:
        start = paragraph.start
        end = start + len(paragraph.doc.text)
        if start <= best[0] < end:
            return [(paragraph, t.i) for t in paragraph.doc if best[0] <= start + t.idx < best[1]]
    return []


def _holds(claim: dict[str, Any], span: tuple[int, int]) -> bool:
    return bool(claim["start"] <= span[0] and span[1] <= claim["end"])


def shape(token: Token) -> str:
    """What the parse makes of a cue's word: a verb taking a clause, an infinitive or an object; a noun."""
    deps = {c.dep_ for c in token.children}
    if token.tag_.startswith("VB") or token.pos_ == "VERB":
        for dep in ("ccomp", "xcomp", "obj"):
            if dep in deps:
                return dep
        return "verb"
    if token.tag_.startswith("NN"):
        return "noun"
    return "other"


def _wrong_origin(path: Path, claim: dict[str, Any], speaker: str) -> dict[str, Any]:
    """The row of a matched gold claim put in the mouth of someone else (``speaker``)."""
    return {
        "file": path.name,
        "content": claim["content"],
        "cue": claim["chain"][-1]["cue"],
        "hops": len(claim["chain"]),
        "cause": WRONG_ORIGIN,
        "speaker": speaker,
    }


def classify(extractor: Extractor, path: Path) -> list[dict[str, Any]]:
    """One row for each gold claim of a file no proposed claim matches, and one (cause ``wrong origin``) for
    each a proposed claim matches with someone else as its origin."""
    gold = json.loads(path.read_text(encoding="utf-8"))
    claims = gold["claims"]
    text = article_text(gold)
    paragraphs = extractor.tagger.parse(text)
    nodes: list[Node] = extractor.attributions(paragraphs)
    proposed = drafts(text, nodes, speakers_of(nodes, extractor.tagger.inflected))
    matched = match(proposed, claims)
    owner = {id(d): g for g, d in matched.items()}
    cues: dict[int, set[int]] = {}
    for paragraph in paragraphs:
        windows = [None] + [(c.start, c.end) for n in nodes if n.paragraph is paragraph for c in n.content_tokens]
        cues[id(paragraph)] = {
            i
            for window in windows
            for span in extractor.tagger.label(paragraph, *(window or (0, None)))
            if span.kind == "CUE"
            for i in range(span.start, span.end)
        }
    rows = []
    for g, claim in enumerate(claims):
        if g in matched:
            if verdict(matched[g], claim) == "wrong origin":
                rows.append(_wrong_origin(path, claim, matched[g].hops[-1].speaker.name))
            continue
        span = (claim["start"], claim["end"])
        # A proposed claim matched to a gold claim holding this one is its parent's, not a rival.
        parents = [d for d in proposed if id(d) in owner and _holds(claims[owner[id(d)]], span)]
        overlapping = [d for d in proposed if _overlap(span, (d.content.start, d.content.end)) and d not in parents]
        parent_nodes = {id(d.hops[-1].node) for d in parents}
        tokens = _cue_tokens(text, claim, paragraphs)
        cue_shape = shape(tokens[0][0].doc[tokens[0][1]]) if tokens else "not found"
        if any(_enough(span, (d.content.start, d.content.end)) for d in overlapping):
            cause = "taken"
        elif overlapping:
            cause = "boundary"
        elif any(
            not n.wraps and id(n) not in parent_nodes and any(_enough(span, (c.start, c.end)) for c in n.contents)
            for n in nodes
        ):
            cause = "dropped"
        else:
            tagged = any(i in cues[id(p)] for p, i in tokens)
            cause = "cue tagged" if tagged else "cue untagged"
        rows.append(
            {
                "file": path.name,
                "content": claim["content"],
                "cue": claim["chain"][-1]["cue"],
                "hops": len(claim["chain"]),
                "cause": cause,
                "position": position(claim, claims),
                "cue_kind": cue_kind(claim["chain"][-1]["cue"]),
                "shape": cue_shape,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", type=Path, default=MODEL_DIR)
    parser.add_argument("--list", action="store_true", help="print every missed claim too")
    args = parser.parse_args(argv)
    extractor = Extractor(args.model)
    judged = [row for path in sorted(args.folder.glob("*.json")) for row in classify(extractor, path)]
    rows = [row for row in judged if row["cause"] != WRONG_ORIGIN]
    wrong = [row for row in judged if row["cause"] == WRONG_ORIGIN]
    total = sum(len(json.loads(p.read_text(encoding="utf-8"))["claims"]) for p in args.folder.glob("*.json"))
    print(f"{len(rows)} of {total} gold claims unmatched; {len(wrong)} matched with a wrong origin")
    for key in ("cause", "position", "cue_kind", "shape"):
        print(f"\nby {key}: " + ", ".join(f"{k} {n}" for k, n in Counter(r[key] for r in rows).most_common()))
    print("\nnested (2+ hops): " + str(sum(r["hops"] > 1 for r in rows)))
    print("\ncause by position:")
    for (cause, where), n in sorted(Counter((r["cause"], r["position"]) for r in rows).items()):
        print(f"  {cause:13} {where:14} {n}")
    print("\ncause by cue kind:")
    for (cause, kind), n in sorted(Counter((r["cause"], r["cue_kind"]) for r in rows).items()):
        print(f"  {cause:13} {kind:10} {n}")
    print("\ncue untagged by shape:")
    for (where, kind), n in sorted(
        Counter((r["position"], r["shape"]) for r in rows if r["cause"] == "cue untagged").items()
    ):
        print(f"  {where:14} {kind:10} {n}")
    if args.list:
        for r in rows:
            print(
                f"\n[{r['cause']}; {r['position']}; {r['cue_kind']}; {r['shape']}; {r['hops']} hops] {r['file'][:40]}"
            )
            print(f"  cue {r['cue']!r}: {r['content'][:150]!r}")
        for r in wrong:
            print(f"\n[wrong origin: {r['speaker']!r}; {r['hops']} hops] {r['file'][:40]}")
            print(f"  cue {r['cue']!r}: {r['content'][:150]!r}")


if __name__ == "__main__":
    main()
