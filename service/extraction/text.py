"""Cutting an article into paragraphs and parsing them, offsets kept in code points of the whole text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc

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
