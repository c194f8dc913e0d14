"""Gold attributions as token labels (BIO over source, cue and content) for training the tagger."""

from __future__ import annotations

from collections.abc import Sequence

from spacy.tokens import Doc

from training.corpus import Attribution

# Where spans of different attributions overlap, the narrower kind wins: a cue inside another's content.
PRIORITY = {"CUE": 3, "SRC": 2, "CON": 1}


def char_labels(text_length: int, attributions: Sequence[Attribution]) -> list[tuple[str, int] | None]:
    """For each character: the kind of span covering it and that span's number, or None."""
    labels: list[tuple[str, int] | None] = [None] * text_length
    number = 0
    for attribution in attributions:
        pieces = [("CUE", attribution.cue)]
        pieces += [("SRC", fragments) for fragments in attribution.sources]
        pieces += [("CON", fragments) for fragments in attribution.contents]
        for kind, fragments in pieces:
            for start, end in fragments:
                number += 1
                for i in range(max(start, 0), min(end, text_length)):
                    current = labels[i]
                    if current is None or PRIORITY[kind] > PRIORITY[current[0]]:
                        labels[i] = (kind, number)
    return labels


def token_labels(doc: Doc, start: int, chars: Sequence[tuple[str, int] | None]) -> list[str]:
    """BIO labels of a paragraph's tokens (``start``: where the paragraph begins in the article)."""
    labels = []
    previous: tuple[str, int] | None = None
    for token in doc:
        position = start + token.idx
        label = chars[position] if position < len(chars) else None
        if label is None or token.is_space:
            labels.append("O")
            previous = None
            continue
        labels.append(("I-" if previous == label else "B-") + label[0])
        previous = label
    return labels
