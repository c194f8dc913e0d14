"""Chain-exact and origin accuracy on the nested gold set (``tests/extract_gold/``, its README defines them).

Each gold claim is matched to the proposed claim whose content overlaps it most (one to one,
greedy, largest overlap first; an overlap must cover at least half of the shorter of the two).
A hop matches when the proposed speaker's name folds to one of the gold hop's ``names`` (or to its
last word: the gold lists "Donald Trump" and "Trump" alike), or, for an anonymous gold hop, when the
proposed speaker is unnamed too. A gold claim without a match counts as wrong on both measures.
``wrong_origins`` counts the matched claims whose origin is someone else: the worst error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service.domain.names import name_key
from service.extraction import MODEL_DIR
from service.extraction.extractor import Extractor
from service.extraction.proposals import ClaimDraft, HopDraft, drafts, speakers_of
from training import corpus

GOLD = Path(__file__).resolve().parents[1] / "tests" / "extract_gold"


def gold_files() -> list[Path]:
    """The gold set's files whose article is at hand, seed first."""
    found = []
    for path in sorted(GOLD.glob("*.json"), key=lambda p: (not p.name.startswith("seed"), p.name)):
        try:
            corpus.locate(json.loads(path.read_text(encoding="utf-8"))["article"])
        except FileNotFoundError:
            continue
        found.append(path)
    return found


def article_text(gold: dict[str, Any]) -> str:
    """The text a gold file's offsets refer to."""
    return corpus.locate(gold["article"]).read_text(encoding="utf-8")


def hop_matches(hop: HopDraft, gold: dict[str, Any]) -> bool:
    """Whether a proposed hop names the gold hop's speaker."""
    if gold.get("anonymous"):
        return hop.speaker.anonymous
    keys = {name_key(n) for n in gold["names"]}
    name = hop.speaker.name
    return name_key(name) in keys or (not hop.speaker.anonymous and name_key(name.split()[-1]) in keys)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def one_to_one(gold: list[tuple[int, int]], proposed: list[tuple[int, int]]) -> dict[int, int]:
    """Gold span index -> the proposed span matched to it: spans overlapping by at least half of the
    shorter, paired one to one, the largest overlaps first."""
    pairs = []
    for g, (g_start, g_end) in enumerate(gold):
        for p, (p_start, p_end) in enumerate(proposed):
            shared = _overlap((g_start, g_end), (p_start, p_end))
            if shared and shared * 2 >= min(g_end - g_start, p_end - p_start):
                pairs.append((shared, g, p))
    pairs.sort(reverse=True)
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for _, g, p in pairs:
        if g not in matched and p not in taken:
            matched[g] = p
            taken.add(p)
    return matched


def match(proposed: list[ClaimDraft], gold: list[dict[str, Any]]) -> dict[int, ClaimDraft]:
    """Gold claim index -> the proposed claim matched to it (``one_to_one`` over their contents)."""
    spans = [(draft.content.start, draft.content.end) for draft in proposed]
    matched = one_to_one([(claim["start"], claim["end"]) for claim in gold], spans)
    return {g: proposed[p] for g, p in matched.items()}


def verdict(draft: ClaimDraft | None, claim: dict[str, Any]) -> str:
    """How a gold claim fared: ``unmatched``; matched with its whole chain (``exact``); with its origin but
    not every hop (``origin``); or put in the mouth of someone else (``wrong origin``, the worst error)."""
    if draft is None:
        return "unmatched"
    if not hop_matches(draft.hops[-1], claim["chain"][-1]):
        return "wrong origin"
    exact = len(draft.hops) == len(claim["chain"]) and all(
        hop_matches(h, gh) for h, gh in zip(draft.hops, claim["chain"], strict=True)
    )
    return "exact" if exact else "origin"


def score_chains(model_dir: Path = MODEL_DIR, files: list[Path] | None = None) -> dict[str, Any]:
    """Chain-exact and origin accuracy over the gold set, overall, for PolNeAR's articles and for the seed."""
    extractor = Extractor(model_dir)
    totals = {key: [0, 0, 0, 0, 0] for key in ("all", "polnear", "seed", "nested")}
    for path in files or gold_files():
        gold = json.loads(path.read_text(encoding="utf-8"))
        text = article_text(gold)
        nodes = extractor.attributions(extractor.tagger.parse(text))
        proposed = drafts(text, nodes, speakers_of(nodes, extractor.tagger.inflected))
        matched = match(proposed, gold["claims"])
        group = "seed" if gold["article"].startswith("seed/") else "polnear"
        for g, claim in enumerate(gold["claims"]):
            draft = matched.get(g)
            judged = verdict(draft, claim)
            keys = ["all", group] + (["nested"] if len(claim["chain"]) > 1 else [])
            for key in keys:
                totals[key][0] += 1
                totals[key][1] += judged == "exact"
                totals[key][2] += judged in {"exact", "origin"}
                totals[key][3] += draft is not None
                totals[key][4] += judged == "wrong origin"
    result: dict[str, Any] = {}
    for key, (n, exact, origin, found, wrong) in totals.items():
        prefix = "" if key == "all" else f"{key}_"
        result[f"{prefix}claims"] = n
        result[f"{prefix}found"] = round(found / n, 3) if n else 0.0
        result[f"{prefix}chain_exact"] = round(exact / n, 3) if n else 0.0
        result[f"{prefix}origin"] = round(origin / n, 3) if n else 0.0
        result[f"{prefix}wrong_origins"] = wrong
    return result
