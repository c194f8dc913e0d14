"""From attributions to proposed claims: the speaker of each hop, the chain of each claim, its text and kind.

A claim is made for every attribution whose content says something of its own: a wrapper or a
relay ("Hina reports, citing Reuters, that ...") only adds hops to the claims beneath it, and so
does an attribution whose content is nothing but a nested one. A claim's chain is the speakers of
its attribution and of every attribution around it, outermost first. A nested attribution whose
speaker is its parent's ("I think", inside his own quote) adds no hop. An attribution whose speaker
cannot be told (no source, or "I": the article's own author) makes no claim, and no hop.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field

from spacy.tokens import Span, Token

from service.domain.names import name_key
from service.extraction.extractor import Node
from service.extraction.features import CLOSING_QUOTES, OPENING_QUOTES, STRAIGHT_QUOTES, quote_states
from service.extraction.speakers import SUBJECTS, Coreference, Speaker
from service.extraction.tagger import CharSpan

QUOTES = OPENING_QUOTES | CLOSING_QUOTES | STRAIGHT_QUOTES | frozenset("‘’'")
# Verbs whose passive subject is the one spoken to ("he had been asked to preserve them"), never the speaker.
ADDRESSED = frozenset({"asked", "told", "urged", "pressed", "ordered", "advised", "instructed", "warned", "requested"})
# Verbs in a tense of their own: "blamed", "says", "say".
FINITE = frozenset({"VBD", "VBZ", "VBP"})
# An attribution whose nested attributions cover this share of its content's words says nothing more.
WRAPPED_SHARE = 0.8


@dataclass(frozen=True)
class HopDraft:
    """One hop of a proposed claim: the attribution it comes from and who speaks there."""

    node: Node
    speaker: Speaker
    cue: str


@dataclass
class ClaimDraft:
    """A proposed claim: its text and kind, its content span, its hops (outermost first), how sure we are."""

    text: str
    kind: str
    content: CharSpan
    hops: list[HopDraft] = field(default_factory=list)
    confidence: float = 0.0


def _clean(text: str, start: int, end: int) -> tuple[int, int]:
    """A content's span without surrounding quotation marks, white space, a leading "that" or a final period."""
    while True:
        before = (start, end)
        while start < end and (text[start].isspace() or text[start] in QUOTES):
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] in QUOTES or text[end - 1] in ".,;:"):
            end -= 1
        if text[start : start + 5].lower() == "that ":
            start += 5
        if (start, end) == before:
            return start, end


def _is_quote(node: Node) -> bool:
    doc = node.paragraph.doc
    states = quote_states(list(doc))
    inside = [states[i] for span in node.content_tokens for i in range(span.start, span.end) if states[i] != 2]
    return bool(inside) and all(s == 1 for s in inside)


def _words(node: Node, spans: list[tuple[int, int]]) -> int:
    doc = node.paragraph.doc
    return sum(1 for s, e in spans for t in doc[s:e] if t.is_alpha and t.lower_ != "that")


def speakers_of(nodes: list[Node], inflected: Container[str] = frozenset()) -> dict[int, Speaker | None]:
    """Each attribution's speaker, pronouns and short forms resolved in the order the text names them.

    Where the text marks no source ("Putin ..., praising Kerry's efforts"), the speaker is the
    subject the parse gives the cue's clause or the clause above it. A speaker named only inside what
    another says is no one a pronoun after it means ("Trump said that Obama wanted ... He said").
    """
    coreference = Coreference(inflected)
    found: dict[int, Speaker | None] = {n.id: None for n in nodes}
    spans: list[tuple[tuple[int, int], int, Span]] = []
    for node in nodes:
        doc = node.paragraph.doc
        if node.source_tokens is not None:
            span: Span | None = doc[node.source_tokens.start : node.source_tokens.end]
        else:
            span = _joined_subject(node, nodes) or implicit_subject(node, _contents_around(node, nodes))
            span = span or participle_subject(node, nodes)
        if span is not None:
            spans.append(((node.paragraph.start, span.start), node.id, span))
    nested = {n.id for n in nodes if n.parent is not None}
    for _, node_id, span in sorted(spans, key=lambda item: (item[0], item[1])):
        found[node_id] = coreference.resolve(span, salient=node_id not in nested)
    return found


def _contents_around(node: Node, nodes: list[Node]) -> list[tuple[int, int]]:
    """The contents of the other attributions of a node's paragraph that its cue is not part of."""
    cue = node.cue_tokens.start
    return [
        (c.start, c.end)
        for n in nodes
        if n.paragraph is node.paragraph and n is not node and not n.wraps
        for c in n.content_tokens
        if not c.start <= cue < c.end
    ]


def implicit_subject(node: Node, contents: Sequence[tuple[int, int]] = ()) -> Span | None:
    """The subject the parse gives the cue's clause, or the clause above it, when the text marks no source.

    A subject inside another attribution's content (``contents``), which the cue is no part of, is that
    content's: "Putin forecast that the economy would rebound and praised Kerry" is parsed with
    "praised" joined to "rebound", but the economy praises no one; the clause above is read instead.
    """
    doc = node.paragraph.doc
    verb = doc[node.cue_tokens.start]
    for _ in range(4):
        subjects = [c for c in verb.children if c.dep_ in SUBJECTS] or _participle_subjects(verb)
        if subjects and subjects[0].dep_ == "nsubj:pass" and verb.lower_ in ADDRESSED:
            return _agent(verb)
        existential = any(c.dep_ == "expl" and c.lower_ == "there" for c in verb.children)  # "there are two from ..."
        if subjects and not existential and not any(start <= subjects[0].i < end for start, end in contents):
            subject = subjects[0]
            return doc[subject.left_edge.i : subject.right_edge.i + 1]
        if verb.head.i == verb.i:
            return None
        if verb.dep_ == "conj" and verb.tag_ in FINITE and verb.head.tag_ == "VB":
            # "... that Russia would pull out of its slump, and blamed the tumble in oil prices": a verb in a
            # tense is never joined to one without ("would pull", "to pull"), whose subject is not its.
            return None
        verb = verb.head
    return None


def _participle_subjects(verb: Token) -> list[Token]:
    """The subject the parse gave a participle before a verb instead of the verb: "Christie, hoping to
    surge in New Hampshire, called Obama a 'petulant child'" is parsed with Christie the subject of
    "hoping", and "called" without one; a participle has none of its own."""
    return [
        c
        for clause in verb.children
        if clause.dep_ == "advcl" and clause.tag_ == "VBG" and clause.i < verb.i
        for c in clause.children
        if c.dep_ == "nsubj" and c.i < clause.i
    ]


def _agent(verb: Token) -> Span | None:
    """Who did what a passive verb says ("asked to preserve them by the Benghazi committee"), if the text
    says it."""
    # The parse may hang "by ..." from the verb's own clause: "asked to preserve them by the committee".
    heads = [verb, *(c for c in verb.children if c.dep_ in {"xcomp", "advcl"})]
    for child in (c for head in heads for c in head.children):
        if child.dep_ in {"obl:agent", "obl"} and any(c.lower_ == "by" for c in child.children):
            first = next(t for t in child.subtree if t.lower_ != "by").i
            return verb.doc[first : child.right_edge.i + 1]
    return None


def participle_subject(node: Node, nodes: list[Node]) -> Span | None:
    """The source of the attribution before a participle cue, or a cue joined by "and" or "but", in its
    sentence, which the cue's clause shares ("Trump struck populist notes, trumpeting his self-funded
    campaign"; "Trump blamed the problem on 'sickos' and suggested ..."), when the parse gives it no
    subject."""
    doc = node.paragraph.doc
    cue = doc[node.cue_tokens.start : node.cue_tokens.end]
    joined = node.cue_tokens.start > 0 and doc[node.cue_tokens.start - 1].lower_ in {"and", "but"}
    if not joined and not any(t.tag_ == "VBG" for t in cue):
        return None
    sentence = doc[node.cue_tokens.start].sent
    before = [
        n
        for n in nodes
        if n.paragraph is node.paragraph
        and n.source_tokens is not None
        and sentence.start <= n.cue_tokens.start < node.cue_tokens.start
    ]
    if not before:
        return None
    source = max(before, key=lambda n: n.cue_tokens.start).source_tokens
    assert source is not None
    return doc[source.start : source.end]


def _joined_subject(node: Node, nodes: list[Node]) -> Span | None:
    """For a cue right after "and" or "but" that follows another cue's content in its sentence ("Huckabee
    proposed we 'wake up and smell the falafel' and said ..."), the source of that cue: the parse may
    hang the verb from another clause altogether, whose subject did not say it."""
    doc = node.paragraph.doc
    start = node.cue_tokens.start
    if start == 0 or doc[start - 1].lower_ not in {"and", "but"}:
        return None
    before = [
        n
        for n in nodes
        if n.paragraph is node.paragraph
        and n.source_tokens is not None
        and n.content_tokens
        and n.content_tokens[-1].end < start
        and all(t.is_punct or t.lower_ in {"and", "but"} for t in doc[n.content_tokens[-1].end : start])
    ]
    if len(before) != 1:
        return None
    source = before[0].source_tokens
    assert source is not None
    return doc[source.start : source.end]


def _same(a: Speaker, b: Speaker) -> bool:
    return name_key(a.name) == name_key(b.name)


def _repeats_parent(node: Node, by_id: dict[int, Node], speakers: dict[int, Speaker | None]) -> bool:
    """Whether a nested attribution's speaker is the one of the attribution holding it."""
    if node.parent is None:
        return False
    mine, theirs = speakers[node.id], speakers[node.parent]
    return mine is not None and theirs is not None and _same(mine, theirs)


def drafts(text: str, nodes: list[Node], speakers: dict[int, Speaker | None]) -> list[ClaimDraft]:
    """The claims the attributions propose, in text order."""
    by_id = {n.id: n for n in nodes}
    claims = []
    for node in nodes:
        if node.wraps or _repeats_parent(node, by_id, speakers):
            continue
        inner = [
            (c.extent.start, c.extent.end)
            for c in (by_id[i] for i in node.children)
            if speakers[c.id] is not None and not _repeats_parent(c, by_id, speakers)
        ]
        own = _words(node, [(s.start, s.end) for s in node.content_tokens])
        if inner and _words(node, inner) >= WRAPPED_SHARE * own:
            continue
        hops: list[HopDraft] = []
        chain: list[Node] = []
        cursor: Node | None = node
        while cursor is not None:
            chain.append(cursor)
            cursor = by_id[cursor.parent] if cursor.parent is not None else None
        for step in reversed(chain):
            speaker = speakers[step.id]
            if speaker is None or (hops and _same(hops[-1].speaker, speaker)):
                continue
            cue = text[step.cue.start : step.cue.end]
            hops.append(HopDraft(step, speaker, cue))
        if not hops or speakers[node.id] is None:
            continue
        contents = node.contents
        start, end = _clean(text, contents[0].start, contents[-1].end)
        if end <= start:
            continue
        claims.append(
            ClaimDraft(
                text=text[start:end],
                kind="quote" if _is_quote(node) else "paraphrase",
                content=CharSpan(start, end),
                hops=hops,
                confidence=round(min(step.confidence for step in chain), 4),
            )
        )
    return sorted(claims, key=lambda c: c.content.start)
