"""Who a source span names, and whom a pronoun, a surname or a description means: the speaker rules
of ``service.extraction.speakers`` on sentences parsed by the shipped model, no database."""

from __future__ import annotations

import pytest
from spacy.tokens import Doc, Span

from service.extraction.extractor import Node
from service.extraction.proposals import drafts, implicit_subject, speakers_of
from service.extraction.spans import TokenSpan
from service.extraction.speakers import Coreference, Speaker, read
from service.extraction.tagger import Tagger
from service.extraction.text import Paragraph


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger()


def span_of(doc: Doc, words: str, nth: int = 0) -> Span:
    """The tokens of ``words`` in ``doc`` (its ``nth`` occurrence)."""
    start = -1
    for _ in range(nth + 1):
        start = doc.text.index(words, start + 1)
    span = doc.char_span(start, start + len(words), alignment_mode="expand")
    assert span is not None
    return span


def speaker(tagger: Tagger, sentence: str, words: str) -> Speaker | str | None:
    return read(span_of(tagger.nlp(sentence), words), tagger.inflected)


def cue_with_content(doc: Doc, start: int, end: int, content_end: int | None = None) -> Node:
    """A cue over ``doc[start:end]`` whose content runs from it to ``content_end`` (else to the final period)."""
    node = Node(0, Paragraph(0, doc), TokenSpan("CUE", start, end), None, [], 0.9)
    node.content_tokens = [TokenSpan("CON", end, len(doc) - 1 if content_end is None else content_end)]
    return node


def test_a_description_then_a_name_is_the_person_named(tagger: Tagger) -> None:
    found = speaker(
        tagger,
        "Another Connecticut former lawmaker, Sen. Joe Lieberman (I-Conn.), announced his intention.",
        "Another Connecticut former lawmaker, Sen. Joe Lieberman (I-Conn.),",
    )
    assert isinstance(found, Speaker)
    assert (found.name, found.anonymous) == ("Joe Lieberman", False)


def test_a_name_then_a_description_is_still_the_name(tagger: Tagger) -> None:
    found = speaker(tagger, "Hina, the Croatian agency, said the talks failed.", "Hina, the Croatian agency,")
    assert isinstance(found, Speaker)
    assert found.name == "Hina"


def test_something_called_a_name_is_that_name(tagger: Tagger) -> None:
    found = speaker(
        tagger,
        "A newly formed super PAC called Future 45 said it will run ads.",
        "A newly formed super PAC called Future 45",
    )
    assert isinstance(found, Speaker)
    assert (found.name, found.anonymous) == ("Future 45", False)


def test_an_office_of_state_then_a_name_is_the_person(tagger: Tagger) -> None:
    found = speaker(
        tagger,
        "On Friday, former secretary of state Hillary Clinton said her emails were fine.",
        "former secretary of state Hillary Clinton",
    )
    assert isinstance(found, Speaker)
    assert (found.name, found.anonymous) == ("Hillary Clinton", False)
    assert found.role is not None and "secretary" in found.role


def test_a_spokesman_for_an_organization_stays_unnamed(tagger: Tagger) -> None:
    found = speaker(
        tagger,
        "A spokesman for the National Security Council said no.",
        "A spokesman for the National Security Council",
    )
    assert isinstance(found, Speaker)
    assert found.anonymous and found.organization == "National Security Council"


def test_a_day_never_speaks(tagger: Tagger) -> None:
    assert speaker(tagger, "Officials said Monday it was fine.", "Monday") is None


def test_a_country_speaks_as_an_organization(tagger: Tagger) -> None:
    found = speaker(tagger, "Russia said the talks failed.", "Russia")
    assert isinstance(found, Speaker)
    assert (found.name, found.kind) == ("Russia", "organization")


def resolved(tagger: Tagger, text: str, sources: list[tuple[str, int]]) -> list[str | None]:
    """The names a Coreference gives the source spans, in the text's order."""
    doc = tagger.nlp(text)
    coreference = Coreference(tagger.inflected)
    names = []
    for words, nth in sources:
        found = coreference.resolve(span_of(doc, words, nth))
        names.append(found.name if found else None)
    return names


def test_he_never_means_a_country(tagger: Tagger) -> None:
    text = "Vladimir Putin said prices would rise. Russia said it would respond. He said the talks were over."
    assert resolved(tagger, text, [("Vladimir Putin", 0), ("Russia", 0), ("He", 0)])[2] == "Vladimir Putin"


def test_he_means_the_speaker_met_last_even_when_met_by_surname(tagger: Tagger) -> None:
    text = (
        "Patrick Kennedy wrote the memo. Steve Linick said the review was done. "
        "The rest have been moved, Kennedy said. He wrote that rules were kept."
    )
    sources = [("Patrick Kennedy", 0), ("Steve Linick", 0), ("Kennedy", 1), ("He", 0)]
    assert resolved(tagger, text, sources) == ["Patrick Kennedy", "Steve Linick", "Patrick Kennedy", "Patrick Kennedy"]


def test_he_never_means_a_speaker_the_text_called_she(tagger: Tagger) -> None:
    text = (
        "Patrick Kennedy said the memo was sent. Hillary Clinton said her emails were fine. "
        "She said the review was unfair. He said the rules were kept."
    )
    sources = [("Patrick Kennedy", 0), ("Hillary Clinton", 0), ("She", 0), ("He", 0)]
    assert resolved(tagger, text, sources) == [
        "Patrick Kennedy",
        "Hillary Clinton",
        "Hillary Clinton",
        "Patrick Kennedy",
    ]


def test_a_surname_that_is_also_a_country_means_the_person_named_before(tagger: Tagger) -> None:
    text = "Rep. Jim Jordan said the inquiry would go on. Jordan said it was fair."
    assert resolved(tagger, text, [("Rep. Jim Jordan", 0), ("Jordan", 1)]) == ["Jim Jordan", "Jim Jordan"]


def test_a_speaker_released_on_a_day_is_still_the_speaker(tagger: Tagger) -> None:
    found = speaker(
        tagger,
        "A poll from Marquette Law School released Wednesday found Clinton ahead.",
        "A poll from Marquette Law School released Wednesday",
    )
    assert isinstance(found, Speaker)
    assert found.organization == "Marquette Law School" or "Marquette" in found.name


def test_who_means_the_whole_name_the_parse_heads_on_its_first_word(tagger: Tagger) -> None:
    text = "The idea came from Donald Trump, who proclaimed in July that walls work."
    assert resolved(tagger, text, [("who", 0)]) == ["Donald Trump"]


def test_who_means_the_noun_phrase_not_the_clause_it_sits_in(tagger: Tagger) -> None:
    text = "The last question at the event was from a young child, who said he drove from Omaha."
    assert resolved(tagger, text, [("who", 0)]) == ["young child"]
    text = "The letter came from a Platte River employee, who said the server was safe."
    assert resolved(tagger, text, [("who", 0)]) == ["Platte River employee"]


def test_a_clause_taken_for_a_source_names_no_one(tagger: Tagger) -> None:
    sentence = "Ted Cruz says whatever he needs to say to get elected."
    assert speaker(tagger, sentence, "whatever he needs to") is None
    sentence = "The last question at the event was from a young child, who said he was tired."
    assert speaker(tagger, sentence, "at the event was from a young child") is None
    # a noun phrase, even one that opens on a preposition's word, still names its speakers
    found = speaker(tagger, "Outside GOP groups said the ads would run.", "Outside GOP groups")
    assert isinstance(found, Speaker) and found.anonymous


def test_an_attribution_without_a_speaker_leaves_the_claim_around_it_standing(tagger: Tagger) -> None:
    text = "Carly Fiorina said Cruz says whatever he needs to say to get elected."
    doc = tagger.nlp(text)
    paragraph = Paragraph(0, doc)
    words = [t.text for t in doc]
    said, whatever, say = words.index("said"), words.index("whatever"), words.index("say")
    outer = Node(0, paragraph, TokenSpan("CUE", said, said + 1), TokenSpan("SRC", 0, said), [], 0.9, children=[1])
    outer.content_tokens = [TokenSpan("CON", said + 1, len(doc) - 1)]
    # a layer the tagger marks inside it, "whatever he needs to" [say] "to get elected": no one's words,
    # though it covers most of Fiorina's
    inner = Node(1, paragraph, TokenSpan("CUE", say, say + 1), TokenSpan("SRC", whatever, say), [], 0.9, parent=0)
    inner.content_tokens = [TokenSpan("CON", say + 1, len(doc) - 1)]
    speakers = speakers_of([outer, inner], tagger.inflected)
    assert speakers[1] is None
    [claim] = drafts(text, [outer, inner], speakers)
    assert claim.text == "Cruz says whatever he needs to say to get elected"
    assert [hop.speaker.name for hop in claim.hops] == ["Carly Fiorina"]


def test_he_right_after_one_unnamed_person_means_that_person(tagger: Tagger) -> None:
    text = (
        "Hillary Clinton said the server was safe. The company's employee told agents he deleted the files. "
        "He said he forgot the request."
    )
    sources = [("Hillary Clinton", 0), ("The company's employee", 0), ("He", 0)]
    assert resolved(tagger, text, sources) == ["Hillary Clinton", "company's employee", "company's employee"]
    # unnamed speakers who are many, or no person at all, leave "he" to the person named before
    text = "Jim Jordan said the inquiry would go on. Officials said it was fair. He said it was not."
    sources = [("Jim Jordan", 0), ("Officials", 0), ("He", 0)]
    assert resolved(tagger, text, sources)[2] == "Jim Jordan"
    text = "Jim Jordan said the inquiry would go on. A report found it was fair. He said it was not."
    sources = [("Jim Jordan", 0), ("A report", 0), ("He", 0)]
    assert resolved(tagger, text, sources)[2] == "Jim Jordan"


def test_a_participle_without_a_subject_speaks_for_the_source_before_it(tagger: Tagger) -> None:
    text = "But Trump also struck populist notes similar to those Sanders had sounded, trumpeting his own campaign."
    doc = tagger.nlp(text)
    paragraph = Paragraph(0, doc)
    words = [t.text for t in doc]
    struck, trumpeting = words.index("struck"), words.index("trumpeting")
    main = Node(0, paragraph, TokenSpan("CUE", struck - 1, struck + 1), TokenSpan("SRC", 1, 2), [], 0.9)
    main.content_tokens = [TokenSpan("CON", struck + 1, words.index(","))]
    participle = Node(1, paragraph, TokenSpan("CUE", trumpeting, trumpeting + 1), None, [], 0.9)
    participle.content_tokens = [TokenSpan("CON", trumpeting + 1, len(doc) - 1)]
    speakers = speakers_of([main, participle], tagger.inflected)
    assert [s.name if s else None for s in speakers.values()] == ["Trump", "Trump"]


def test_a_document_speaks_for_the_organization_it_names(tagger: Tagger) -> None:
    found = speaker(tagger, "According to an FBI summary of its work, the aide sent the email.", "an FBI summary")
    assert isinstance(found, Speaker)
    assert (found.name, found.kind, found.anonymous, found.role) == ("FBI", "organization", False, "summary")
    found = speaker(tagger, "A poll from Marquette Law School released Wednesday found Clinton ahead.", "A poll")
    assert isinstance(found, Speaker) and found.anonymous  # no organization named: nobody's
    text = (
        "According to an FBI summary of its work, the aide sent the email. The employee did not act, "
        "according to the summary. A new poll found voters were split."
    )
    sources = [("an FBI summary", 0), ("the summary", 0), ("A new poll", 0)]
    assert resolved(tagger, text, sources) == ["FBI", "FBI", "new poll"]


def test_the_capital_the_of_a_one_word_title_is_part_of_its_name(tagger: Tagger) -> None:
    found = speaker(tagger, "But as The Hill pointed out, he has not released his returns.", "The Hill")
    assert isinstance(found, Speaker)
    assert (found.name, found.kind) == ("The Hill", "outlet")
    # a person's name never takes it, and a longer title keeps its name as it was
    found = speaker(tagger, "But as The New York Times pointed out, he has not released them.", "The New York Times")
    assert isinstance(found, Speaker) and found.name == "New York Times"
    text = "But as The Hill pointed out, the rules changed. He said it was not so."
    assert resolved(tagger, text, [("The Hill", 0), ("He", 0)]) == ["The Hill", None]


def test_you_names_no_one(tagger: Tagger) -> None:
    assert speaker(tagger, "You say she caused the migration, he said.", "You") is None


def named_then_subjectless(tagger: Tagger, text: str, first: str, then: str, then_words: int = 1) -> tuple[Node, Node]:
    """Two attributions of ``text``, as the tagger would mark them: the cue ``first``, its source the
    sentence's first word and its content up to "and"; then the cue ``then`` (``then_words`` long) with
    no source, its content to the end."""
    doc = tagger.nlp(text)
    paragraph = Paragraph(0, doc)
    words = [t.text for t in doc]
    one, two = words.index(first), words.index(then)
    named = Node(0, paragraph, TokenSpan("CUE", one, one + 1), TokenSpan("SRC", 0, 1), [], 0.9)
    named.content_tokens = [TokenSpan("CON", one + 1, words.index("and"))]
    subjectless = Node(1, paragraph, TokenSpan("CUE", two, two + then_words), None, [], 0.9)
    subjectless.content_tokens = [TokenSpan("CON", two + then_words, len(doc) - 1)]
    return named, subjectless


def test_a_subject_inside_another_content_is_not_the_speaker_of_a_cue_outside_it(tagger: Tagger) -> None:
    text = "Trump pledged to be the greatest jobs president that God ever created and cast doubt on the official rate."
    pledge, doubt = named_then_subjectless(tagger, text, "pledged", "cast", 3)
    # the parse joins "cast" to "created", whose subject, God, is inside what Trump pledged
    alone = implicit_subject(doubt)
    assert alone is not None and alone.text == "God"
    speakers = speakers_of([pledge, doubt], tagger.inflected)
    assert [s.name if s else None for s in speakers.values()] == ["Trump", "Trump"]


def test_documents_alone_opening_a_sentence_are_no_one_named(tagger: Tagger) -> None:
    found = speaker(tagger, "Polls show voters trust her more than any of them.", "Polls")
    assert isinstance(found, Speaker) and found.anonymous


def test_a_name_after_a_possessive_is_the_speaker_of_that_organization(tagger: Tagger) -> None:
    found = speaker(tagger, "As The Post's Abby Phillip documented, more governors joined.", "The Post's Abby Phillip")
    assert isinstance(found, Speaker)
    assert (found.name, found.organization) == ("Abby Phillip", "Post")
    found = speaker(tagger, "Russia's central bank said the slump would last.", "Russia's central bank")
    assert isinstance(found, Speaker) and found.name == "Russia's central bank"


def test_an_organization_named_with_of_or_for_keeps_its_whole_name(tagger: Tagger) -> None:
    sentence = "The Centers for Disease Control and Prevention estimates that one in 45 children has autism."
    found = speaker(tagger, sentence, "The Centers for Disease Control and Prevention")
    assert isinstance(found, Speaker)
    assert (found.name, found.kind) == ("Centers for Disease Control and Prevention", "organization")
    found = speaker(tagger, "The Department of State said it would review them.", "The Department of State")
    assert isinstance(found, Speaker) and found.name == "Department of State"
    found = speaker(tagger, "Sen. Susan Collins of Maine said it.", "Sen. Susan Collins of Maine")
    assert isinstance(found, Speaker) and (found.name, found.organization) == ("Susan Collins", "Maine")


def test_a_particle_joined_to_a_name_is_part_of_it(tagger: Tagger) -> None:
    found = speaker(tagger, "A video by the group al-Shabaab cites his call.", "al-Shabaab")
    assert isinstance(found, Speaker) and found.name == "al-Shabaab"


def test_nobody_is_no_one_named(tagger: Tagger) -> None:
    found = speaker(tagger, "Nobody called him.", "Nobody")
    assert isinstance(found, Speaker) and found.anonymous
    text = "Barack Obama said the plan worked. Nobody asked about it. He called it a success."
    assert resolved(tagger, text, [("Barack Obama", 0), ("Nobody", 0), ("He", 0)])[2] == "Barack Obama"


def test_a_cue_joined_by_and_without_a_subject_speaks_for_the_source_before_it(tagger: Tagger) -> None:
    text = 'Trump blamed the problem of mass shootings on "sickos" and suggested building institutions to house them.'
    blame, suggest = named_then_subjectless(tagger, text, "blamed", "suggested")
    assert implicit_subject(suggest) is None  # the parse takes "suggested" for an adjective
    speakers = speakers_of([blame, suggest], tagger.inflected)
    assert [s.name if s else None for s in speakers.values()] == ["Trump", "Trump"]


def test_the_time_and_place_opening_a_source_are_not_its_speaker(tagger: Tagger) -> None:
    sentence = "This month in Iowa, Hillary Clinton announced a plan for adults with autism."
    found = speaker(tagger, sentence, "This month in Iowa, Hillary Clinton")
    assert isinstance(found, Speaker) and found.name == "Hillary Clinton"


def test_a_source_opening_on_a_verb_names_no_one(tagger: Tagger) -> None:
    sentence = "A woman who had been an exchange student in Montana asked Obama about the election."
    assert speaker(tagger, sentence, "had been an exchange student in Montana") is None


def test_the_writer_among_others_is_no_name(tagger: Tagger) -> None:
    sentence = "My husband and I bought a condo, thinking it would be a group home."
    assert speaker(tagger, sentence, "My husband and I") is None


def test_the_one_asked_is_not_the_speaker_of_a_passive(tagger: Tagger) -> None:
    text = "The staffer deleted the archive, even though he had been asked to preserve it by the Benghazi committee."
    doc = tagger.nlp(text)
    words = [t.text for t in doc]
    had = words.index("had")
    node = cue_with_content(doc, had, had + 3, words.index("by"))
    found = implicit_subject(node)
    assert found is not None and found.text == "the Benghazi committee"
    doc = tagger.nlp("The staffer deleted the archive, even though he had been asked to preserve it.")
    node = cue_with_content(doc, had, had + 3)
    assert implicit_subject(node) is None  # who asked him, the text does not say here


def test_what_there_is_says_nothing(tagger: Tagger) -> None:
    text = (
        "Clark is making calls to committee members - there are two from each of the nine districts, "
        "plus four statewide officials - but said the outcome was open."
    )
    doc = tagger.nlp(text)
    said = [t.text for t in doc].index("said")
    node = cue_with_content(doc, said, said + 1)
    found = implicit_subject(node)
    assert found is not None and found.text == "Clark"


def test_he_does_not_mean_one_named_only_inside_what_another_says(tagger: Tagger) -> None:
    text = "Donald Trump said that Barack Obama wanted to admit refugees. He said he would deport them."
    doc = tagger.nlp(text)
    paragraph = Paragraph(0, doc)
    words = [t.text for t in doc]
    said, wanted, said_again = words.index("said"), words.index("wanted"), words.index("said", words.index("He"))
    outer = Node(0, paragraph, TokenSpan("CUE", said, said + 1), TokenSpan("SRC", 0, said), [], 0.9, children=[1])
    outer.content_tokens = [TokenSpan("CON", said + 2, words.index("."))]
    inner = Node(1, paragraph, TokenSpan("CUE", wanted, wanted + 1), TokenSpan("SRC", said + 2, wanted), [], 0.9)
    inner.parent = 0
    inner.content_tokens = [TokenSpan("CON", wanted + 1, words.index("."))]
    later = Node(2, paragraph, TokenSpan("CUE", said_again, said_again + 1), None, [], 0.9)
    later.source_tokens = TokenSpan("SRC", said_again - 1, said_again)
    later.content_tokens = [TokenSpan("CON", said_again + 1, len(doc) - 1)]
    speakers = speakers_of([outer, inner, later], tagger.inflected)
    assert [s.name if s else None for s in speakers.values()] == ["Donald Trump", "Barack Obama", "Donald Trump"]
    # the same named at the top of a sentence of its own is the one "he" means
    text = "Donald Trump said the wall would rise. Barack Obama wanted to admit refugees. He said they were safe."
    doc = tagger.nlp(text)
    sources = [("Donald Trump", 0), ("Barack Obama", 0), ("He", 0)]
    assert resolved(tagger, text, sources)[2] == "Barack Obama"


def test_a_cue_after_and_speaks_for_the_cue_whose_content_it_follows(tagger: Tagger) -> None:
    text = (
        "Louisiana Gov. Bobby Jindal on Monday signed an order to block any Syrian refugee, while Mike Huckabee, "
        'the former Arkansas governor, proposed we "wake up and smell the falafel" and said House Speaker Paul '
        "Ryan should resign if he can't block the refugees' arrival."
    )
    doc = tagger.nlp(text)
    paragraph = Paragraph(0, doc)
    words = [t.text for t in doc]
    proposed, said = words.index("proposed"), words.index("said")
    source = TokenSpan("SRC", words.index("Mike"), proposed - 1)
    first = Node(0, paragraph, TokenSpan("CUE", proposed, proposed + 1), source, [], 0.9)
    first.content_tokens = [TokenSpan("CON", proposed + 1, said - 2)]  # up to the closing quotation mark
    joined = Node(1, paragraph, TokenSpan("CUE", said, said + 1), None, [], 0.9)
    joined.content_tokens = [TokenSpan("CON", said + 1, len(doc) - 1)]
    # the parse hangs "said" from "signed", whose subject is Jindal
    speakers = speakers_of([first, joined], tagger.inflected)
    assert [s.name if s else None for s in speakers.values()] == ["Mike Huckabee", "Mike Huckabee"]
    # a cue after "and" that follows no other attribution's content keeps the subject the parse gives it
    text = "Jindal signed the order and said the speaker should resign."
    doc = tagger.nlp(text)
    words = [t.text for t in doc]
    said = words.index("said")
    alone = cue_with_content(doc, said, said + 1)
    found = speakers_of([alone], tagger.inflected)[0]
    assert found is not None and found.name == "Jindal"


def test_a_verb_in_a_tense_joined_to_one_without_takes_no_subject_from_it(tagger: Tagger) -> None:
    text = (
        "Mr. Putin backpedaled on his prediction a year ago that Russia would pull out of its current slump "
        "within two years, and blamed the tumble in oil prices."
    )
    doc = tagger.nlp(text)
    words = [t.text for t in doc]
    blamed = words.index("blamed")
    assert doc[blamed].head.text == "pull"  # whose subject is Russia, not the one who blamed
    node = cue_with_content(doc, blamed, blamed + 1)
    assert implicit_subject(node) is None
    # joined to a verb in a tense, it shares that verb's subject
    doc = tagger.nlp("Mr. Putin praised the talks and blamed the tumble in oil prices.")
    words = [t.text for t in doc]
    blamed = words.index("blamed")
    node = Node(0, Paragraph(0, doc), TokenSpan("CUE", blamed, blamed + 1), None, [], 0.9)
    found = implicit_subject(node)
    assert found is not None and found.text == "Mr. Putin"


def test_the_subject_the_parse_gave_a_participle_before_the_cue_is_the_cues(tagger: Tagger) -> None:
    text = (
        "New Jersey Gov. Chris Christie, hoping to surge in New Hampshire, called Obama a 'petulant child' who's "
        "acting 'as if he is a king.'"
    )
    doc = tagger.nlp(text)
    words = [t.text for t in doc]
    called, hoping = words.index("called"), words.index("hoping")
    # the parse hangs Christie on "hoping", and "called" has no subject
    assert not [c for c in doc[called].children if c.dep_ == "nsubj"]
    assert [c.text for c in doc[hoping].children if c.dep_ == "nsubj"] == ["Chris"]
    node = cue_with_content(doc, called, called + 1)
    found = implicit_subject(node)
    assert found is not None and found.text == "New Jersey Gov. Chris Christie"
