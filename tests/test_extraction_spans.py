"""How the tagger's spans become attributions (``service.extraction.spans.group``), on a sentence parsed
by the shipped model: no database."""

from __future__ import annotations

from service.extraction.spans import TokenSpan, group
from service.extraction.tagger import Tagger


def test_a_content_left_unmarked_stays_inside_the_window_read() -> None:
    doc = Tagger().nlp("Hina reports that Austin initiated the conversation with Chinese officials.")
    words = [t.text for t in doc]
    austin, initiated = words.index("Austin"), words.index("initiated")
    spans = [TokenSpan("SRC", austin, austin + 1, 0.9), TokenSpan("CUE", initiated, initiated + 1, 0.9)]
    # the whole sentence: the rest of it after the cue is the content
    [whole] = group(doc, spans)
    assert [doc[c.start : c.end].text for c in whole.contents] == ["the conversation with Chinese officials"]
    # read inside "Austin initiated the conversation" (a content looked into again), nothing is left
    # after the cue but what the window holds, and nothing before the source may be taken
    [inside] = group(doc, spans, (austin, initiated + 3))
    assert [doc[c.start : c.end].text for c in inside.contents] in ([], ["the conversation"])
    assert all(c.start >= austin and c.end <= initiated + 3 for c in inside.contents)
    [before] = group(doc, spans, (austin, initiated + 1))
    assert before.contents == []  # without the window: "Hina reports that", outside what was read
