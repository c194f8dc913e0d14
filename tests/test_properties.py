"""Properties that must hold for every input: name folding, spelling skeletons, cursors."""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.api.pagination import decode_cursor, encode_cursor
from service.domain import names
from service.domain.names import deletes, fold, name_key, name_similarity, name_tokens, skeleton
from service.errors import InvalidInput

texts = st.text(max_size=80)
words = st.text(alphabet=st.characters(categories=["Ll", "Lu"]), min_size=1, max_size=20)
# Letters whose combining marks are accents (Latin, Greek, Cyrillic); other scripts' marks are letters' parts.
ACCENTED_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")
accentable_words = words.filter(lambda word: unicodedata.name(word[0], "").startswith(ACCENTED_SCRIPTS))


class TestFolding:
    @given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
    def test_ascii_text_folds_as_any_text_folds(self, text: str) -> None:
        assert names._fold_ascii(text) == names._fold_any(text)

    @given(texts)
    def test_folding_is_idempotent(self, text: str) -> None:
        assert fold(fold(text)) == fold(text)

    @given(texts)
    def test_folded_text_is_lower_case_words_separated_by_single_spaces(self, text: str) -> None:
        folded = fold(text)
        assert folded == folded.strip()
        assert "  " not in folded
        assert folded == folded.casefold()
        # No accent is left on a Latin, Greek or Cyrillic letter.
        for before, mark in itertools.pairwise(folded):
            if unicodedata.category(mark).startswith("M"):
                assert not unicodedata.name(before, "").startswith(ACCENTED_SCRIPTS), (before, mark)

    @given(texts)
    def test_case_and_surrounding_punctuation_do_not_change_a_key(self, text: str) -> None:
        assert name_key(text.upper()) == name_key(text)
        assert name_key(f"  ({text}).  ") == name_key(text)

    @given(accentable_words)
    def test_an_accent_does_not_change_a_key(self, word: str) -> None:
        accented = unicodedata.normalize("NFC", word[0] + "\u0301" + word[1:])
        assert name_key(accented) == name_key(word)


class TestSkeletons:
    @given(words)
    def test_a_skeleton_never_grows_when_taken_again(self, word: str) -> None:
        once = skeleton(fold(word))
        assert len(skeleton(once)) <= len(once)

    @given(st.lists(words, min_size=1, max_size=4))
    def test_a_name_matches_itself_best(self, parts: list[str]) -> None:
        tokens = name_tokens(" ".join(parts))
        if tokens:
            assert name_similarity(tokens, tokens) == pytest.approx(0.95)
            assert 0 <= name_similarity(tokens, tokens[:1]) <= 0.95

    @given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=15), st.data())
    def test_a_word_missing_one_letter_shares_a_delete_key(self, token: str, data: st.DataObject) -> None:
        i = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
        shorter = token[:i] + token[i + 1 :]
        assert deletes(token) & deletes(shorter)


class TestCursors:
    @given(st.integers(min_value=0, max_value=2**63 - 1))
    def test_a_sequence_cursor_round_trips(self, seq: int) -> None:
        assert decode_cursor(encode_cursor("claims", seq), "claims", (int,)) == (seq,)

    @given(st.floats(min_value=0, max_value=1, allow_nan=False), st.integers(min_value=0, max_value=2**63 - 1))
    def test_a_score_cursor_round_trips(self, score: float, seq: int) -> None:
        assert decode_cursor(encode_cursor("sources?q", score, seq), "sources?q", (float, int)) == (score, seq)

    @given(st.text(max_size=200))
    def test_any_other_string_is_invalid_input_or_a_cursor_of_this_list(self, garbage: str) -> None:
        try:
            key = decode_cursor(garbage, "claims", (int,))
        except InvalidInput as refused:
            assert refused.errors[0]["field"] == "cursor"
        else:
            assert key is not None and isinstance(key[0], int)

    @given(st.integers(min_value=0, max_value=2**63 - 1))
    def test_a_cursor_of_another_list_is_refused(self, seq: int) -> None:
        with pytest.raises(InvalidInput):
            decode_cursor(encode_cursor("sources", seq), "claims", (int,))
