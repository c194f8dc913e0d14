"""From token labels to attributions: spans read off the tagger's labels, then grouped around their cues.

The tagger labels each token of a paragraph as part of a source, a cue or a content (BIO). A cue
anchors an attribution; each content goes to the cue nearest it in the paragraph, each source to
the cue of its sentence it is the subject of (else the nearest one there). A cue left without
content may still wrap another attribution ("Hina reports, citing Reuters, ..."): the extractor
decides (``service.extraction.extractor``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from spacy.tokens import Doc

# How far (in tokens) a content or source may lie from the cue it is given to.
CONTENT_REACH = 60
SOURCE_REACH = 12


@dataclass(frozen=True)
class TokenSpan:
    """Tokens ``start`` to ``end`` (exclusive) of a paragraph, of one kind (``SRC``, ``CUE`` or ``CON``)."""

    kind: str
    start: int
    end: int
    confidence: float = 1.0

    def gap(self, other: TokenSpan) -> int:
        """Tokens between the two spans (0 when they touch or overlap)."""
        return max(0, other.start - self.end, self.start - other.end)


@dataclass
class Grouped:
    """One attribution in a paragraph: its cue, its source (if any) and its content pieces, in order."""

    cue: TokenSpan
    source: TokenSpan | None = None
    contents: list[TokenSpan] = field(default_factory=list)


def read_spans(labels: Sequence[str], marginals: Sequence[float] | None = None) -> list[TokenSpan]:
    """The spans a BIO label sequence marks; an ``I-`` without its ``B-`` opens a span too."""
    spans: list[TokenSpan] = []
    kind: str | None = None
    start = 0

    def close(end: int) -> None:
        if kind is not None:
            confidence = min(marginals[start:end]) if marginals else 1.0
            spans.append(TokenSpan(kind, start, end, confidence))

    for i, label in enumerate(labels):
        if label == "O":
            close(i)
            kind = None
        elif label.startswith("B-") or label[2:] != kind:
            close(i)
            kind, start = label[2:], i
    close(len(labels))
    return spans


def _subject_of(doc: Doc, source: TokenSpan, cue: TokenSpan) -> bool:
    """Whether a token of ``source`` hangs (through its heads) from a token of ``cue``."""
    cue_tokens = set(range(cue.start, cue.end))
    for i in range(source.start, source.end):
        node = doc[i]
        for _ in range(6):
            if node.head.i == node.i:
                break
            node = node.head
            if node.i in cue_tokens:
                return True
    return False


def _governing(doc: Doc, content: TokenSpan, cues: list[Grouped]) -> Grouped | None:
    """The cue before a content that the parse hangs it from as its clause: "announced on Tuesday that
    X, saying Y" gives X to "announced", though "saying", after it, lies nearer. None when the
    content's head hangs from no cue before it."""
    for i in range(content.start, content.end):
        head = doc[i].head
        if not doc[i].is_punct and not content.start <= head.i < content.end:
            if doc[i].dep_ != "ccomp":
                return None
            return next((g for g in cues if g.cue.start <= head.i < g.cue.end and g.cue.end <= content.start), None)
    return None


def _keep_contents(doc: Doc, cue: TokenSpan, contents: list[TokenSpan]) -> list[TokenSpan]:
    """The contents a cue keeps: the nearest one, and one on the cue's other side in its sentence (a split quote)."""
    if len(contents) <= 1:
        return contents
    nearest = min(contents, key=lambda c: (c.gap(cue), c.start))
    kept = [nearest]
    sentence = doc[cue.start].sent
    other = [
        c
        for c in contents
        if c is not nearest
        and (c.start > cue.start) != (nearest.start > cue.start)
        and sentence.start <= c.start < sentence.end + 1
    ]
    if other:
        kept.append(min(other, key=lambda c: c.gap(cue)))
    return sorted(kept, key=lambda c: c.start)


def group(doc: Doc, spans: Sequence[TokenSpan], window: tuple[int, int] | None = None) -> list[Grouped]:
    """The attributions of one paragraph, in the order of their cues (some perhaps without content).

    ``window``: the tokens the spans were read in (an attribution's content, looked into again), which a
    content the tagger left unmarked never leaves.
    """
    cues = [Grouped(span) for span in spans if span.kind == "CUE"]
    if not cues:
        return []
    sentence_of = {token.i: sent.start for sent in doc.sents for token in sent}
    for span in spans:
        if span.kind == "CON":
            # A cue of a sentence the content touches first ("“A,” she said. “B,” she said."), else the nearest.
            touched = {sentence_of[i] for i in range(span.start, span.end)}
            candidates = [g for g in cues if sentence_of[g.cue.start] in touched] or cues
            best = min(candidates, key=lambda g: span.gap(g.cue))
            if best.cue.start >= span.end:
                best = _governing(doc, span, candidates) or best
            if span.gap(best.cue) <= CONTENT_REACH:
                best.contents.append(span)
        elif span.kind == "SRC":
            same = [g for g in cues if sentence_of[g.cue.start] == sentence_of[span.start]]
            near = same or [g for g in cues if span.gap(g.cue) <= SOURCE_REACH]
            if not near:
                continue
            subject = [g for g in near if g.source is None and _subject_of(doc, span, g.cue)]
            free = subject or [g for g in near if g.source is None] or near
            best = min(free, key=lambda g: span.gap(g.cue))
            if best.source is None or span.gap(best.cue) < best.source.gap(best.cue):
                best.source = span
    for grouped in cues:
        grouped.contents = _keep_contents(doc, grouped.cue, grouped.contents)
    taken = {
        i
        for g in cues
        for span in [g.cue, *g.contents, *([g.source] if g.source else [])]
        for i in range(span.start, span.end)
    }
    for grouped in cues:
        if not grouped.contents and grouped.source is not None:
            rest = _rest_of_sentence(doc, grouped, taken, window)
            if rest is not None:
                grouped.contents = [rest]
    return cues


def _rest_of_sentence(
    doc: Doc, grouped: Grouped, taken: set[int], window: tuple[int, int] | None = None
) -> TokenSpan | None:
    """The content the tagger left unmarked around a cue with a source: the rest of its sentence
    (within ``window``).

    "Cook said Carter stopped the practice": after the cue when the sentence goes on there, else
    before its source ("Carter stopped the practice, Cook said"), without the punctuation around.
    """
    assert grouped.source is not None
    sentence = doc[grouped.cue.start].sent
    first, last = sentence.start, sentence.end
    if window is not None:
        first, last = max(first, window[0]), min(last, window[1])
    parts = (grouped.cue, grouped.source)
    after = max(p.end for p in parts)
    before = min(p.start for p in parts)
    spans = [(after, last), (first, before)]
    for start, end in spans:
        while start < end and (doc[start].is_punct or doc[start].is_space):
            start += 1
        while end > start and (doc[end - 1].is_punct or doc[end - 1].is_space) and doc[end - 1].text not in "”\"'":
            end -= 1
        if end - start >= 3 and not any(i in taken for i in range(start, end)):
            return TokenSpan("CON", start, end, grouped.cue.confidence)
    return None
