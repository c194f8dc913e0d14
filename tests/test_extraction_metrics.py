"""Citron's span metrics as ``make eval-extract`` computes them, and PolNeAR's annotation files as read."""

from __future__ import annotations

from typing import Any, cast

import pytest

from service.extraction.proposals import ClaimDraft, HopDraft
from service.extraction.speakers import Speaker
from service.extraction.tagger import CharSpan
from training import agreement
from training.chains import verdict
from training.corpus import Attribution, parse_ann
from training.metrics import Scores

#           0         1         2         3         4
#           0123456789012345678901234567890123456789012345
TEXT = "Ryder said the call was short, Hina reports."
GOLD = Attribution(cue=((6, 10),), sources=(((0, 5),),), contents=(((11, 29),),))


def scored(predicted: list[Attribution], gold: list[Attribution] | None = None) -> Scores:
    scores = Scores()
    scores.add(TEXT, predicted, [GOLD] if gold is None else gold)
    return scores


class TestExactMatching:
    def test_the_same_spans_are_a_true_positive_everywhere(self) -> None:
        counts = scored([GOLD]).counts
        for kind in ("cue", "source", "content", "attribution"):
            assert (counts[kind].tp, counts[kind].fp, counts[kind].fn) == (1, 0, 0), kind

    def test_a_content_one_character_short_misses_content_and_attribution_only(self) -> None:
        short = Attribution(cue=GOLD.cue, sources=GOLD.sources, contents=(((11, 28),),))
        counts = scored([short]).counts
        assert (counts["cue"].tp, counts["source"].tp) == (1, 1)
        assert (counts["content"].tp, counts["content"].fp, counts["content"].fn) == (0, 1, 1)
        assert (counts["attribution"].tp, counts["attribution"].fp, counts["attribution"].fn) == (0, 1, 1)

    def test_a_source_needs_an_overlapping_cue_not_an_equal_one(self) -> None:
        wider_cue = Attribution(cue=((6, 14),), sources=GOLD.sources, contents=GOLD.contents)
        counts = scored([wider_cue]).counts
        assert counts["cue"].tp == 0
        assert (counts["source"].tp, counts["content"].tp) == (1, 1)

    def test_no_source_on_both_sides_matches(self) -> None:
        gold = Attribution(cue=GOLD.cue, sources=(), contents=GOLD.contents)
        assert scored([gold], [gold]).counts["source"].tp == 1

    def test_f1_is_the_harmonic_mean(self) -> None:
        other = Attribution(cue=((36, 43),), sources=(((31, 35),),), contents=(((0, 29),),))
        p, r, f = scored([GOLD, other]).counts["cue"].exact()
        assert (p, r) == (0.5, 1.0)
        assert f == pytest.approx(2 / 3)


class TestOverlap:
    def test_counts_shared_tokens_against_each_side(self) -> None:
        # Gold content: "the call was short" (4 tokens); predicted: "call was short, Hina" (5 tokens).
        predicted = Attribution(cue=GOLD.cue, sources=GOLD.sources, contents=(((15, 35),),))
        counts = scored([predicted]).counts["content"]
        assert (counts.overlap, counts.predicted_tokens, counts.gold_tokens) == (3, 5, 4)
        p, r, _ = counts.overlapping()
        assert (p, r) == (3 / 5, 3 / 4)

    def test_the_attribution_row_sums_the_three_kinds_with_precision_over_predicted_tokens(self) -> None:
        predicted = Attribution(cue=GOLD.cue, sources=(), contents=GOLD.contents)
        total = scored([predicted]).counts["attribution"]
        # predicted: cue 1 + content 4 tokens; gold: cue 1 + source 1 + content 4.
        assert (total.overlap, total.predicted_tokens, total.gold_tokens) == (5, 5, 6)
        p, r, _ = total.overlapping()
        assert (p, r) == (1.0, 5 / 6)


def test_a_brat_file_gives_its_attributions_with_fragments_and_no_source_ones() -> None:
    ann = "\n".join(
        [
            "T1\tSource 0 5\tRyder",
            "T2\tCue 6 10\tsaid",
            "T3\tContent 11 15;20 29\tthe  was short",
            "T4\tAttribution 6 10\tsaid",
            "E1\tAttribution:T4 Content:T3 Cue:T2 Source:T1",
            "T5\tCue 36 43\treports",
            "T6\tContent 0 29\tRyder said the call was short",
            "T7\tAttribution-no-source 36 43\treports",
            "E2\tAttribution-no-source:T7 Cue:T5 Content:T6",
            "T8\tDiscuss 0 5\tRyder",
        ]
    )
    first, second = parse_ann(ann)
    assert first == Attribution(cue=((6, 10),), sources=(((0, 5),),), contents=(((11, 15), (20, 29)),))
    assert second.sources == ()
    assert second.contents == (((0, 29),),)


def test_a_claim_put_in_the_mouth_of_someone_else_is_told_apart_from_one_missed() -> None:
    def draft(*names: str) -> ClaimDraft:
        hops = [HopDraft(cast(Any, None), Speaker(name, "person"), "said") for name in names]
        return ClaimDraft("the call was short", "paraphrase", CharSpan(11, 29), hops)

    hina = {"names": ["Hina"], "anonymous": False, "cue": "reports"}
    ryder = {"names": ["Jack Ryder", "Ryder"], "anonymous": False, "cue": "said"}
    claim = {"start": 11, "end": 29, "chain": [hina, ryder]}
    assert verdict(None, claim) == "unmatched"
    assert verdict(draft("Hina", "Ryder"), claim) == "exact"
    assert verdict(draft("Ryder"), claim) == "origin"  # the origin right, a hop short
    assert verdict(draft("Ryder", "Hina"), claim) == "wrong origin"
    assert verdict(draft("Hina"), claim) == "wrong origin"


class TestAnnotatorAgreement:
    """``training.agreement`` compares two readings of one article the way the nested gold set is scored."""

    TWO = "Ryder said the call was short. He said it went well, Hina reports."
    #      0         1         2         3         4         5         6
    #      0123456789012345678901234567890123456789012345678901234567890123456

    def reading(self, *attributions: tuple[tuple[int, int] | None, tuple[int, int]]) -> list[Attribution]:
        return [
            Attribution(cue=((0, 1),), sources=((source,),) if source else (), contents=((content,),))
            for source, content in attributions
        ]

    def test_the_same_reading_agrees_on_everything(self) -> None:
        first = self.reading(((0, 5), (11, 29)), ((31, 33), (39, 51)))
        assert agreement.claims(self.TWO, first, first) == (2, 2, 2, 2)

    def test_a_content_overlapping_less_than_half_is_not_found(self) -> None:
        first = self.reading(((0, 5), (11, 29)))
        assert agreement.claims(self.TWO, first, self.reading(((0, 5), (25, 45))))[:2] == (1, 0)

    def test_another_source_is_found_but_not_the_origin_unless_one_side_is_a_pronoun(self) -> None:
        first = self.reading(((0, 5), (39, 51)))
        named_otherwise = self.reading(((53, 57), (39, 51)))
        assert agreement.claims(self.TWO, first, named_otherwise) == (1, 1, 0, 0)
        by_pronoun = self.reading(((31, 33), (39, 51)))
        assert agreement.claims(self.TWO, first, by_pronoun) == (1, 1, 0, 1)

    def test_no_source_on_either_side_agrees(self) -> None:
        first = self.reading((None, (11, 29)))
        assert agreement.claims(self.TWO, first, first) == (1, 1, 1, 1)
        assert agreement.claims(self.TWO, first, self.reading(((0, 5), (11, 29)))) == (1, 1, 0, 0)
