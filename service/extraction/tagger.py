"""The attribution tagger: a parsed article in, its single-layer attributions out, as code-point spans.

The model (``models/attribution-en/``, built by ``make model``) is a spaCy parser trained on UD
English EWT and a CRF (``python-crfsuite``) trained on PolNeAR's training articles, with the cue
lexicon both share. Loading it is slow (about a second), so a worker loads it once.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycrfsuite
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from service.extraction import MODEL_DIR
from service.extraction.features import CueLexicon, paragraph_features
from service.extraction.spans import TokenSpan, read_spans
from service.extraction.text import Paragraph, paragraphs


@dataclass(frozen=True)
class CharSpan:
    """Code points ``start`` to ``end`` of the article."""

    start: int
    end: int


def char_span(paragraph: Paragraph, span: TokenSpan) -> CharSpan:
    """A token span of a paragraph as code points of the article."""
    doc: Doc = paragraph.doc
    last = doc[span.end - 1]
    return CharSpan(paragraph.start + doc[span.start].idx, paragraph.start + last.idx + len(last.text))


class Tagger:
    """The parser, the CRF and the cue lexicon of one model directory."""

    def __init__(self, model_dir: Path = MODEL_DIR) -> None:
        self.model_dir = model_dir
        self.nlp: Language = spacy.load(model_dir / "parser")
        self.lexicon = CueLexicon.load(model_dir / "cues.json")
        self.crf = pycrfsuite.Tagger()
        self.crf.open(str(model_dir / "attribution.crfsuite"))
        # Common words in inflected forms ("officials"): the lemmatizer's own table, for telling names.
        lemmatizer: Any = self.nlp.get_pipe("lemmatizer")
        self.inflected: Container[str] = lemmatizer.lookups.get_table("lemma_lookup")

    def parse(self, text: str) -> list[Paragraph]:
        """The article's paragraphs, parsed."""
        return list(paragraphs(self.nlp, text))

    def label(self, paragraph: Paragraph, start: int = 0, end: int | None = None) -> list[TokenSpan]:
        """The spans the CRF marks in tokens ``start`` to ``end`` of a paragraph (all of it by default).

        A part of a paragraph (an attribution's content, looked into for the attributions it nests)
        is labelled as a sentence of its own.
        """
        doc = paragraph.doc
        whole = start == 0 and end is None
        sentences = list(doc.sents) if whole else [doc[start : len(doc) if end is None else end]]
        features = paragraph_features(sentences, self.lexicon)
        labels: list[str] = self.crf.tag(features)
        marginals = [self.crf.marginal(label, i) for i, label in enumerate(labels)]
        return [
            TokenSpan(span.kind, span.start + start, span.end + start, span.confidence)
            for span in read_spans(labels, marginals)
        ]
