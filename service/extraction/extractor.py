"""Attributions at every level: the tagger's top layer, the wrappers and relays around it, the layers inside it.

PolNeAR, which the tagger learnt from, annotates only the outermost layer. The layers it leaves
out are found here, by three rules:

- **Inside a content.** A content is looked into as a sentence of its own; what the tagger marks
  there ("that Pentagon spokesman Patrick Ryder told reporters X") is an attribution nested in it.
  Looked into again, to ``MAX_DEPTH`` levels.
- **Wrappers.** A cue with a source but no content of its own, in the sentence of an attribution
  that has one ("X, Ryder told reporters, **Hina reports**"), reports that attribution: it becomes
  its parent.
- **Relays.** "citing", "quoting", "according to" with a source and no content: the source the
  wrapper relied on, a hop between the wrapper and the attribution ("Hina reports, **citing
  Reuters**, ..."); without a wrapper, the relay is the outermost hop itself.

Where the tagger marks nothing, in a sentence or inside a content, the parse may still state an
attribution: a reporting or believing verb, its subject and the clause it takes, or a verb of
intention and the infinitive it takes ("Brooks is planning to enter the contest"; ``patterns.clauses``).
And a cue joined to a cue ("praised those who left **but said** ...") that
the tagger took for part of its content is cut out of it, an attribution of its own.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from spacy.tokens import Doc, Token

from service.extraction import MODEL_DIR, patterns
from service.extraction.features import INSIDE, lemma, quote_states
from service.extraction.spans import Grouped, TokenSpan, group
from service.extraction.tagger import CharSpan, Tagger, char_span
from service.extraction.text import Paragraph

MAX_DEPTH = 3
# An inner attribution needs at least this many tokens of content around it to be looked for.
MIN_NESTED_CONTENT = 4
# Below this, an inner attribution the tagger marks is more likely noise than a layer: read as a sentence of
# its own, a content gets cues the tagger is unsure of ("the significance of a video ... [that cites]").
MIN_NESTED_CONFIDENCE = 0.8
PERSONAL = frozenset({"i", "we", "you"})
# What may lead a cue joined to another ("and totally ignoring", ", while taking").
LEADING = frozenset({"cc", "advmod", "mark", "punct"})
# The cue lexicon's bin (0 to 4) from which a joined verb counts as a cue.
MIN_COORDINATED_CUE = 2
# ... and from which a verb after "and" counts as one, whatever the parse hangs it from.
MIN_MISPARSED_CUE = 3
RELAY_CUES = frozenset({"cite", "citing", "quote", "quoting", "accord", "according"})


@dataclass
class Node:
    """One attribution: where its parts are (code points), who holds it (``parent``), how sure we are."""

    id: int
    paragraph: Paragraph
    cue_tokens: TokenSpan
    source_tokens: TokenSpan | None
    content_tokens: list[TokenSpan]
    confidence: float
    parent: int | None = None
    children: list[int] = field(default_factory=list)
    # A wrapper's or relay's content is the attribution it wraps, not text the tagger marked.
    wraps: bool = False

    @property
    def cue(self) -> CharSpan:
        return char_span(self.paragraph, self.cue_tokens)

    @property
    def source(self) -> CharSpan | None:
        return char_span(self.paragraph, self.source_tokens) if self.source_tokens else None

    @property
    def contents(self) -> tuple[CharSpan, ...]:
        return tuple(char_span(self.paragraph, span) for span in self.content_tokens)

    @property
    def extent(self) -> TokenSpan:
        """The tokens from the first to the last of its parts."""
        parts = [self.cue_tokens, *self.content_tokens] + ([self.source_tokens] if self.source_tokens else [])
        return TokenSpan("ALL", min(p.start for p in parts), max(p.end for p in parts))


def _personal(doc: Doc, grouped: Grouped) -> bool:
    """Whether an attribution's source is "I", "we" or "you"."""
    source = grouped.source
    return source is not None and doc[source.start : source.end].text.lower() in PERSONAL


def _joined(verb: Token) -> bool:
    """Whether a verb shares the subject of the verb the parse hangs it from: joined to it by "and" or
    "but" in the same form ("praised those who left but said"), or a participle after a comma
    ("blamed the media, saying"); never a verb with a subject, a "to", "when" or "that" of its own."""
    head = verb.head
    own = {c.dep_ for c in verb.children if c.i < verb.i}
    if own & {"nsubj", "nsubj:pass", "expl", "mark", "aux", "aux:pass"}:
        return False
    if verb.dep_ == "conj":
        return verb.tag_ == head.tag_ and any(c.dep_ == "cc" for c in verb.children)
    before = verb.doc[verb.i - 1] if verb.i else verb
    return verb.dep_ == "advcl" and verb.tag_ == "VBG" and before.text == ","


def _forms(token: Token) -> frozenset[str]:
    """The tags a verb may wear in the form of ``token``: a past participle is often a past tense mistaken."""
    return frozenset({"VBD", "VBN"}) if token.tag_ in {"VBD", "VBN"} else frozenset({token.tag_})


def _after_and(verb: Token, cue: Token, content: TokenSpan) -> bool:
    """Whether a verb right after "and" or "but" in a content is joined to the cue, whatever the parse
    says: in the cue's form, and no verb of that form in the content before it that it could be joined
    to ("Putin forecast that the economy would soon rebound and praised Kerry", parsed with "praised"
    an adjective of "efforts"; "called on the United States to attack the oil and proposed a safe zone")."""
    doc = verb.doc
    before = verb.i - 1
    if before < 1 or doc[before].lower_ not in {"and", "but"}:
        return False
    forms = _forms(cue)
    return verb.tag_ in forms and not any(t.tag_ in forms and not _mentioned(t) for t in doc[content.start : before])


def _mentioned(token: Token) -> bool:
    """Whether a word stands alone in quotation marks, a word mentioned ("boasting about 'winning'"), no verb."""
    doc = token.doc
    return 0 < token.i < len(doc) - 1 and doc[token.i - 1].is_quote and doc[token.i + 1].is_quote


def _confidence(grouped: Grouped) -> float:
    parts = [grouped.cue, *grouped.contents] + ([grouped.source] if grouped.source else [])
    return round(min(p.confidence for p in parts), 4)


def _is_relay(paragraph: Paragraph, cue: TokenSpan) -> bool:
    return any(
        token.lower_ in RELAY_CUES or token.lemma_.lower() in RELAY_CUES for token in paragraph.doc[cue.start : cue.end]
    )


class Extractor:
    """Finds the attributions of an article at every level (see the module's docstring)."""

    def __init__(self, model_dir: Path = MODEL_DIR) -> None:
        self.tagger = Tagger(model_dir)

    def attributions(self, paragraphs: list[Paragraph]) -> list[Node]:
        """Every attribution of the parsed paragraphs, outer before inner, in text order."""
        nodes: list[Node] = []
        for paragraph in paragraphs:
            if len(paragraph.doc):
                self._paragraph(paragraph, nodes)
        ordered = sorted(nodes, key=lambda n: (self._depth(nodes, n), n.paragraph.start, n.extent.start))
        renumber = {node.id: i for i, node in enumerate(ordered)}
        for node in ordered:
            node.id = renumber[node.id]
            node.parent = renumber[node.parent] if node.parent is not None else None
            node.children = sorted(renumber[c] for c in node.children)
        return sorted(ordered, key=lambda n: n.id)

    @staticmethod
    def _depth(nodes: list[Node], node: Node) -> int:
        by_id = {n.id: n for n in nodes}
        depth = 0
        while node.parent is not None:
            node = by_id[node.parent]
            depth += 1
        return depth

    def _add(self, nodes: list[Node], paragraph: Paragraph, grouped: Grouped, parent: Node | None) -> Node:
        node = Node(
            id=len(nodes),
            paragraph=paragraph,
            cue_tokens=grouped.cue,
            source_tokens=grouped.source,
            content_tokens=list(grouped.contents),
            confidence=_confidence(grouped),
        )
        nodes.append(node)
        if parent is not None:
            node.parent = parent.id
            parent.children.append(node.id)
        return node

    def _chain(self, nodes: list[Node], paragraph: Paragraph, chain: patterns.Chain) -> Node:
        """The nodes of a chain read by its shape: each hop wraps the next; the last holds the content."""
        parent: Node | None = None
        for i, hop in enumerate(chain.hops):
            last = i == len(chain.hops) - 1
            grouped = Grouped(hop.cue, hop.source, [chain.content])
            node = self._add(nodes, paragraph, grouped, parent)
            node.confidence = 1.0
            node.wraps = not last
            parent = node
        assert parent is not None
        for node in nodes:
            if node.wraps and node.paragraph is paragraph and node.children:
                node.content_tokens = [self._extent(nodes, node)]
        return parent

    def _paragraph(self, paragraph: Paragraph, nodes: list[Node]) -> None:
        shaped: set[int] = set()
        for sentence in paragraph.doc.sents:
            chain = patterns.read(sentence)
            if chain is not None:
                shaped.add(sentence.start)
                innermost = self._chain(nodes, paragraph, chain)
                self._nest(nodes, paragraph, innermost, len(chain.hops))
        sentence_starts = {token.i: token.sent.start for token in paragraph.doc}
        groups = [
            g for g in group(paragraph.doc, self.tagger.label(paragraph))
            if sentence_starts[g.cue.start] not in shaped
        ]  # fmt: skip
        with_content = [g for g in groups if g.contents] + self._unmarked(paragraph, groups, shaped)
        with_content += [part for g in list(with_content) for part in self._coordinated(paragraph, g)]
        bare = [g for g in groups if not g.contents and g.source is not None]
        sentence_of = {token.i: sent.start for sent in paragraph.doc.sents for token in sent}
        placed: dict[int, Node] = {}
        for grouped in with_content:
            placed[id(grouped)] = self._add(nodes, paragraph, grouped, None)
        # Wrappers and relays: each takes the attribution of its sentence nearest to it.
        wrapped_by: dict[int, list[Grouped]] = {}
        for grouped in bare:
            same = [g for g in with_content if sentence_of[g.cue.start] == sentence_of[grouped.cue.start]]
            if not same:
                continue
            target = min(same, key=lambda g: g.cue.gap(grouped.cue))
            wrapped_by.setdefault(id(target), []).append(grouped)
        for grouped in with_content:
            outer = wrapped_by.get(id(grouped), [])
            if not outer:
                continue
            # Outermost first: the wrappers that are not relays, then the relays, each in text order.
            outer.sort(key=lambda g: (_is_relay(paragraph, g.cue), g.cue.start))
            inner = placed[id(grouped)]
            outers = [self._add(nodes, paragraph, g, None) for g in outer]
            for wrapper in outers:
                wrapper.wraps = True
                wrapper.content_tokens = [inner.extent]
            for upper, lower in itertools.pairwise(outers):
                lower.parent = upper.id
                upper.children.append(lower.id)
            outers[-1].children.append(inner.id)
            inner.parent = outers[-1].id
            for wrapper in outers:
                wrapper.content_tokens = [self._extent(nodes, wrapper)]
        for grouped in with_content:
            self._nest(nodes, paragraph, placed[id(grouped)], 1)

    @staticmethod
    def _unmarked(paragraph: Paragraph, groups: list[Grouped], shaped: set[int]) -> list[Grouped]:
        """The attributions the parse states where the tagger marks nothing ("X believes that ..."): in
        sentences where it marks none, or beside what it marks, no word of it in a span the tagger marked
        ("Officials said the talks failed, but the minister believes that ..."): on text unlike what it
        learnt from, the tagger misses cues the parse still shows. Not inside a quotation, whose layers are
        nested ones, nor "I think", "you said": no one named speaks."""
        doc = paragraph.doc
        tagged = {doc[g.cue.start].sent.start for g in groups}
        marked = {
            i
            for g in groups
            for span in [g.cue, *g.contents, *([g.source] if g.source else [])]
            for i in range(span.start, span.end)
        }
        quoted = quote_states(list(doc))
        found = []
        for sentence in doc.sents:
            if sentence.start in shaped:
                continue
            found += [
                g
                for g in patterns.clauses(doc, (sentence.start, sentence.end))
                if quoted[g.cue.start] != INSIDE
                and not _personal(doc, g)
                and (
                    sentence.start not in tagged
                    or not any(
                        i in marked
                        for span in [g.cue, *g.contents, *([g.source] if g.source else [])]
                        for i in range(span.start, span.end)
                    )
                )
            ]
        return found

    def _coordinated(self, paragraph: Paragraph, grouped: Grouped) -> list[Grouped]:
        """The cues joined to an attribution's cue that the tagger left inside its content, cut out of it
        as attributions of their own: "boasting about 'winning' and pledging to make America great
        again", "blamed the media for ..., saying they were nitpicking". A verb the parse hangs from the
        cue (``_joined``) that is often a cue in the training articles; or, whatever the parse hangs it
        from, one after "and" in the cue's form (``_after_and``) that is a cue more often still."""
        doc = paragraph.doc
        cue = range(grouped.cue.start, grouped.cue.end)
        last = grouped.contents[-1]
        # the cue's own verb: "said" of "said in a statement", "boasting" of "was back to boasting about"
        verb = next((t for t in reversed(doc[grouped.cue.start : grouped.cue.end]) if t.tag_.startswith("VB")), None)
        joined = [
            t
            for t in doc[last.start + 1 : last.end]
            if (t.head.i in cue and _joined(t) and self.tagger.lexicon.bin(lemma(t)) >= MIN_COORDINATED_CUE)
            or (
                verb is not None
                and _after_and(t, verb, last)
                and self.tagger.lexicon.bin(lemma(t)) >= MIN_MISPARSED_CUE
            )
        ]
        found = []
        end = last.end
        for verb in reversed(joined):
            start = verb.i
            while start > last.start and doc[start - 1].head.i == verb.i and doc[start - 1].dep_ in LEADING:
                start -= 1  # "and totally ignoring", ", while taking"
            if verb.i + 1 < end:
                found.append(Grouped(TokenSpan("CUE", verb.i, verb.i + 1, last.confidence), None,
                                     [TokenSpan("CON", verb.i + 1, end, last.confidence)]))  # fmt: skip
            end = start
        while end > last.start and (doc[end - 1].is_punct or doc[end - 1].dep_ == "cc"):
            end -= 1
        if found:
            grouped.contents[-1] = TokenSpan("CON", last.start, end, last.confidence)
        return found[::-1]

    def _extent(self, nodes: list[Node], node: Node) -> TokenSpan:
        """What a wrapper's content covers: the parts of what it wraps, all the way down."""
        by_id = {n.id: n for n in nodes}
        spans = []
        stack = list(node.children)
        while stack:
            child = by_id[stack.pop()]
            if not child.wraps:
                spans.append(child.extent)
            stack.extend(child.children)
        return TokenSpan("CON", min(s.start for s in spans), max(s.end for s in spans))

    def _nest(self, nodes: list[Node], paragraph: Paragraph, node: Node, depth: int) -> None:
        """Look into each content of ``node`` for the attributions it holds."""
        if depth > MAX_DEPTH:
            return
        for content in node.content_tokens:
            if content.end - content.start < MIN_NESTED_CONTENT:
                continue
            spans = self.tagger.label(paragraph, content.start, content.end)
            found = [
                g
                for g in group(paragraph.doc, spans, (content.start, content.end))
                if g.contents and _confidence(g) >= MIN_NESTED_CONFIDENCE
            ]
            marked = {i for g in found for part in (g.cue, g.source) if part for i in range(part.start, part.end)}
            found += [
                g
                for g in patterns.clauses(paragraph.doc, (content.start, content.end), inside=True)
                if not any(i in marked for i in range(g.cue.start, g.cue.end))
            ]
            for grouped in found:
                child = self._add(nodes, paragraph, grouped, node)
                self._nest(nodes, paragraph, child, depth + 1)
