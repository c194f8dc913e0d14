"""Cutting an article into paragraphs and parsing them, offsets kept in code points of the whole text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc

from service.extraction.features import OPENING_QUOTES, STRAIGHT_QUOTES

# The marks a quotation may open with, single ones too.
OPENS_QUOTATION = OPENING_QUOTES | STRAIGHT_QUOTES | frozenset("‘")


@Language.component("opening_quotes_open_sentences")
def opening_quotes_open_sentences(doc: Doc) -> Doc:
    """Start a sentence at the opening quotation mark the sentencizer left at the end of the one before.

    spaCy's sentencizer keeps every punctuation mark after a full stop with its sentence, so in
    ``Reuters. “It was short,” he said`` the quotation mark would end the first sentence.
    """
    for token in doc[1:]:
        nxt = token.nbor() if token.i + 1 < len(doc) else None
        opens = token.text in OPENS_QUOTATION and token.whitespace_ == "" and bool(token.nbor(-1).whitespace_)
        if nxt is not None and nxt.is_sent_start and opens and not token.is_sent_start:
            token.is_sent_start = True
            nxt.is_sent_start = False
    return doc


PARAGRAPH = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class Paragraph:
    """A parsed paragraph and where it starts in the article."""

    start: int
    doc: Doc


def paragraphs(nlp: Language, text: str, *, batch_size: int = 64) -> Iterator[Paragraph]:
    """The article's paragraphs (its non-empty lines), parsed, in order."""
    spans = [(m.start(), m.group()) for m in PARAGRAPH.finditer(text) if m.group().strip()]
    for (start, _), doc in zip(spans, nlp.pipe((t for _, t in spans), batch_size=batch_size), strict=True):
        yield Paragraph(start, doc)
