"""How the tagger's spans become attributions (``service.extraction.spans.group``), on a sentence parsed
by the shipped model: no database."""

from __future__ import annotations

from service.extraction import patterns
from service.extraction.extractor import Extractor
from service.extraction.spans import Grouped, TokenSpan, group
from service.extraction.tagger import Tagger
from service.extraction.text import Paragraph


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


def test_a_content_goes_to_the_cue_whose_clause_it_is_not_to_a_nearer_cue_after_it() -> None:
    doc = Tagger().nlp(
        "The mayor announced on Tuesday that he filed his budget with the city council, saying it set a record."
    )
    words = [t.text for t in doc]
    announced, saying = words.index("announced"), words.index("saying")
    signed_from, signed_to = words.index("that") + 1, words.index("council") + 1
    spans = [
        TokenSpan("SRC", 0, announced, 0.9),
        TokenSpan("CUE", announced, announced + 1, 0.9),
        TokenSpan("CON", signed_from, signed_to, 0.9),
        TokenSpan("CUE", saying, saying + 1, 0.9),
        TokenSpan("CON", saying + 1, len(doc) - 1, 0.9),
    ]
    first, second = group(doc, spans)
    # "saying" lies nearer the budget clause, but the clause is what "announced" says
    assert [doc[c.start : c.end].text for c in first.contents] == ["he filed his budget with the city council"]
    assert [doc[c.start : c.end].text for c in second.contents] == ["it set a record"]


def test_a_content_right_after_its_cue_stays_with_it() -> None:
    doc = Tagger().nlp('"We will win," Clark said, noting he would back any other candidate.')
    words = [t.text for t in doc]
    said, noting = words.index("said"), words.index("noting")
    spans = [
        TokenSpan("CON", 1, words.index(","), 0.9),
        TokenSpan("SRC", said - 1, said, 0.9),
        TokenSpan("CUE", said, said + 1, 0.9),
        TokenSpan("CUE", noting, noting + 1, 0.9),
        TokenSpan("CON", noting + 1, len(doc) - 1, 0.9),
    ]
    first, second = group(doc, spans)
    assert [doc[c.start : c.end].text for c in first.contents] == ["We will win"]
    assert [doc[c.start : c.end].text for c in second.contents] == ["he would back any other candidate"]


def test_a_layer_the_parse_states_inside_a_content_is_read_from_it() -> None:
    doc = Tagger().nlp(
        "According to the report, Mills and Clinton told investigators they were unaware of the deletions."
    )
    words = [t.text for t in doc]
    window = (words.index(",") + 1, len(doc) - 1)
    [found] = patterns.clauses(doc, window)
    assert found.source is not None
    assert doc[found.source.start : found.source.end].text == "Mills and Clinton"
    assert doc[found.cue.start : found.cue.end].text == "told"  # the audience is no part of the cue in PolNeAR
    assert [doc[c.start : c.end].text for c in found.contents] == ["they were unaware of the deletions"]
    # its subject outside the window read, or no clause after it, the verb states no layer there
    assert patterns.clauses(doc, (words.index("told"), len(doc) - 1)) == []
    doc = Tagger().nlp("According to the report, Mills told investigators a story about the deletions.")
    assert patterns.clauses(doc, (0, len(doc))) == []
    # told, not telling: the subject of a passive heard it
    doc = Tagger().nlp("According to the report, the aide was told that the files were already gone.")
    assert patterns.clauses(doc, (0, len(doc))) == []


def test_a_layer_inside_a_content_ends_with_it() -> None:
    doc = Tagger().nlp(
        "Surveys show that the pillars shifted. Russians now say they admire Mr. Putin more for a role as a "
        "''protector'' from external threats than for the role of ''provider,'' a study by an influential Russian "
        "sociologist, Mikhail E. Dmitriyev, concluded this year."
    )
    words = [t.text for t in doc]
    window = (words.index("Russians"), words.index("study") - 1)  # what the study concluded
    # the parse hangs the study, and what it concluded, from what the Russians say
    assert doc[words.index("concluded")].head.text == "say"
    [found] = patterns.clauses(doc, window)
    assert found.source is not None and doc[found.source.start : found.source.end].text == "Russians"
    [content] = found.contents
    assert content.end <= window[1]
    assert doc[content.start : content.end].text.startswith("they admire Mr. Putin")


def test_a_sentence_the_tagger_marks_nothing_in_is_read_from_its_parse() -> None:
    doc = Tagger().nlp("The intelligence community has concluded that Russia was behind the hack.")
    [found] = Extractor._unmarked(Paragraph(0, doc), [], set())
    assert found.source is not None
    assert doc[found.source.start : found.source.end].text == "The intelligence community"
    assert [doc[c.start : c.end].text for c in found.contents] == ["that Russia was behind the hack"]
    # where the tagger marks its cue, the attribution is the tagger's
    tagged = Grouped(TokenSpan("CUE", 4, 5))
    assert Extractor._unmarked(Paragraph(0, doc), [tagged], set()) == []


def test_a_clause_the_tagger_leaves_unmarked_beside_what_it_marks_is_read_from_the_parse() -> None:
    doc = Tagger().nlp("Officials said the talks failed, but the minister believes that the deal will hold.")
    words = [t.text for t in doc]
    said = words.index("said")
    tagged = Grouped(
        TokenSpan("CUE", said, said + 1), TokenSpan("SRC", 0, said), [TokenSpan("CON", said + 1, words.index(","))]
    )
    [found] = Extractor._unmarked(Paragraph(0, doc), [tagged], set())
    assert found.source is not None
    assert doc[found.source.start : found.source.end].text == "the minister"
    assert doc[found.cue.start : found.cue.end].text == "believes"
    assert [doc[c.start : c.end].text for c in found.contents] == ["that the deal will hold"]
    # where what the tagger marks takes in any of it, the sentence is the tagger's
    tagged.contents = [TokenSpan("CON", said + 1, len(doc) - 1)]
    assert Extractor._unmarked(Paragraph(0, doc), [tagged], set()) == []


def test_a_cue_joined_to_a_cue_is_cut_out_of_its_content() -> None:
    extractor = Extractor()
    doc = extractor.tagger.nlp("Carson praised those who left but said the campaign needed new ideas.")
    words = [t.text for t in doc]
    praised = words.index("praised")
    grouped = Grouped(TokenSpan("CUE", praised, praised + 1), TokenSpan("SRC", 0, 1))
    grouped.contents = [TokenSpan("CON", praised + 1, len(doc) - 1)]
    [joined] = extractor._coordinated(Paragraph(0, doc), grouped)
    assert [doc[c.start : c.end].text for c in grouped.contents] == ["those who left"]
    assert doc[joined.cue.start : joined.cue.end].text == "said"
    assert joined.source is None  # its speaker is the subject it shares with "praised"
    assert [doc[c.start : c.end].text for c in joined.contents] == ["the campaign needed new ideas"]
    # a verb with a subject, or a "to", of its own is part of what is said
    doc = extractor.tagger.nlp("Carson praised the aides who left when the campaign needed new ideas.")
    grouped = Grouped(TokenSpan("CUE", 1, 2), TokenSpan("SRC", 0, 1), [TokenSpan("CON", 2, len(doc) - 1)])
    assert extractor._coordinated(Paragraph(0, doc), grouped) == []
    assert grouped.contents == [TokenSpan("CON", 2, len(doc) - 1)]


def test_the_united_states_reports_nothing() -> None:
    doc = Tagger().nlp("Clinton suggested the United States should send more special forces into Syria.")
    chain = patterns.read(next(iter(doc.sents)))
    assert chain is None or all(doc[h.cue.start].text != "States" for h in chain.hops)
    # the verb still reports
    doc = Tagger().nlp("Hina reports that the ministry states the talks will resume next week.")
    chain = patterns.read(next(iter(doc.sents)))
    assert chain is not None and [doc[h.cue.start].text for h in chain.hops] == ["reports", "states"]


def test_i_think_and_quotations_are_no_sentence_of_their_own_to_read() -> None:
    doc = Tagger().nlp('"I think the chances are pretty good," he said. We believe that the deal will hold.')
    assert Extractor._unmarked(Paragraph(0, doc), [], set()) == []


def test_what_one_wants_or_plans_to_do_is_read_from_the_parse() -> None:
    doc = Tagger().nlp("Susan Brooks is planning to enter the Indiana governor contest.")
    [found] = patterns.clauses(doc, (0, len(doc)))
    assert found.source is not None
    assert doc[found.source.start : found.source.end].text == "Susan Brooks"
    assert doc[found.cue.start : found.cue.end].text == "is planning"  # as PolNeAR marks it
    assert [doc[c.start : c.end].text for c in found.contents] == ["to enter the Indiana governor contest"]
    # read inside a content too, where the clause before it is no part of what is wanted
    doc = Tagger().nlp(
        "Trump, later alleging - again falsely - that President Obama wanted to admit 250,000 Syrians, "
        "said he would deport refugees."
    )
    words = [t.text for t in doc]
    [found] = patterns.clauses(doc, (words.index("that"), words.index("Syrians") + 1))
    assert doc[found.cue.start : found.cue.end].text == "wanted"
    assert [doc[c.start : c.end].text for c in found.contents] == ["to admit 250,000 Syrians"]
    # an infinitive says what one wants only after a verb of intention
    doc = Tagger().nlp("Susan Brooks is trying to enter the Indiana governor contest.")
    assert patterns.clauses(doc, (0, len(doc))) == []


def test_a_relative_clause_or_a_question_wants_nothing_of_anyone() -> None:
    for text in (
        "Trump is a birther who has repeatedly pledged to ban all Muslims from entering the country.",
        "He took on the obligations that Patriot Coal was seeking to get rid of last year.",
        "The choice is about whether or not people want to stay the course.",
    ):
        doc = Tagger().nlp(text)
        assert patterns.clauses(doc, (0, len(doc))) == [], text


def test_a_cue_after_and_in_the_cues_form_is_cut_out_whatever_the_parse_hangs_it_from() -> None:
    extractor = Extractor()
    doc = extractor.tagger.nlp(
        "Mr. Putin forecast that the slumping economy would soon rebound and praised efforts by Secretary of "
        "State John Kerry to find a political solution in Syria."
    )
    words = [t.text for t in doc]
    forecast, praised = words.index("forecast"), words.index("praised")
    assert doc[praised].head.i != forecast  # the parse joins it to "rebound", or to nothing
    grouped = Grouped(TokenSpan("CUE", forecast, forecast + 1), TokenSpan("SRC", 0, forecast))
    grouped.contents = [TokenSpan("CON", forecast + 1, len(doc) - 1)]
    [joined] = extractor._coordinated(Paragraph(0, doc), grouped)
    assert [doc[c.start : c.end].text for c in grouped.contents] == ["that the slumping economy would soon rebound"]
    assert doc[joined.cue.start : joined.cue.end].text == "praised"
    assert [doc[c.start : c.end].text for c in joined.contents] == [
        "efforts by Secretary of State John Kerry to find a political solution in Syria"
    ]
    # a word of its form in quotation marks is only mentioned: no verb it could be joined to
    doc = extractor.tagger.nlp(
        'But Trump was back to boasting about "winning" and pledging to make America great again.'
    )
    words = [t.text for t in doc]
    cue = TokenSpan("CUE", words.index("was"), words.index("about") + 1)
    grouped = Grouped(cue, TokenSpan("SRC", 1, 2), [TokenSpan("CON", cue.end, len(doc) - 1)])
    [joined] = extractor._coordinated(Paragraph(0, doc), grouped)
    assert doc[joined.cue.start : joined.cue.end].text == "pledging"
    assert [doc[c.start : c.end].text for c in joined.contents] == ["to make America great again"]
    # a verb of its form inside the content before it may be what it is joined to: it stays there
    doc = extractor.tagger.nlp("Mr. Putin said that the minister praised the plan and praised Kerry for his efforts.")
    words = [t.text for t in doc]
    said = words.index("said")
    grouped = Grouped(TokenSpan("CUE", said, said + 1), TokenSpan("SRC", 0, said))
    grouped.contents = [TokenSpan("CON", said + 1, len(doc) - 1)]
    assert extractor._coordinated(Paragraph(0, doc), grouped) == []
    assert grouped.contents == [TokenSpan("CON", said + 1, len(doc) - 1)]


def test_what_one_meant_is_read_inside_what_another_says_only() -> None:
    doc = Tagger().nlp(
        "Hewitt suggested that Trump simply meant that Obama's policies created the conditions for ISIS."
    )
    words = [t.text for t in doc]
    window = (words.index("that") + 1, len(doc) - 1)
    [found] = patterns.clauses(doc, window, inside=True)
    assert found.source is not None and doc[found.source.start : found.source.end].text == "Trump"
    assert doc[found.cue.start : found.cue.end].text == "meant"
    assert [doc[c.start : c.end].text for c in found.contents] == [
        "that Obama's policies created the conditions for ISIS"
    ]
    # a sentence of its own, or a thing that means, says nothing of anyone
    assert patterns.clauses(doc, window) == []
    doc = Tagger().nlp("Hewitt said this means that the policies created the conditions for ISIS.")
    assert patterns.clauses(doc, (2, len(doc) - 1), inside=True) == []
