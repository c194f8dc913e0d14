"""Name and text keys: the folded forms that matching compares.

PostgreSQL here has no ``unaccent``, so folding happens in Python before anything is stored or
queried: case folded, accents stripped, punctuation and runs of white space turned into one space.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)
# Letters that do not decompose into a base letter and a combining mark.
_SPECIAL_LETTERS = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ı": "i"}
)


def fold(text: str) -> str:
    """Fold ``text`` to lower case ASCII-ish words separated by single spaces."""
    return _fold_ascii(text) if text.isascii() else _fold_any(text)


def _fold_any(text: str) -> str:
    """``fold`` of any text."""
    # Apostrophes join, they do not separate: "Kyiv's" -> "kyivs", "O'Brien" -> "obrien".
    words = _SEPARATORS.sub(" ", _letters(text).replace("'", "").replace("\u2019", "")).split()
    return " ".join(_join_initials(words))


def _letters(text: str) -> str:
    """``text`` case folded, decomposed, special letters spelled out and combining marks dropped."""
    # Decompose before case folding (so compatibility letters like "𝕊" fold too) and translate the
    # letters that do not decompose after it (so "Ǽ" becomes "ae" like "Æ").
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    decomposed = decomposed.translate(_SPECIAL_LETTERS)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# ASCII's separators ([\W_]) as spaces (a table for bytes.translate), and a run of single letters
# ("u s" of "U.S.") as one match.
_ASCII_SEPARATORS = bytes(code if chr(code).isalnum() else 32 for code in range(128)) + bytes(range(128, 256))
_ASCII_INITIALS = re.compile(r"(?<!\S)[a-z](?: [a-z])+(?!\S)")
# What every run of single letters holds, in a text padded with a space: much cheaper to find than
# the run itself (the lookbehind is tried at every position), and in few texts.
_TWO_INITIALS = re.compile(r" [a-z] [a-z] ")


def _fold_ascii(text: str) -> str:
    """``fold`` of ASCII text, the same words faster (bulk imports fold a million texts): ASCII
    neither decomposes nor combines, its case folding is lower-casing, and C does the splitting."""
    words = b" ".join(text.encode().lower().translate(_ASCII_SEPARATORS, b"'").split()).decode()
    if _TWO_INITIALS.search(f" {words} ") is None:
        return words
    return _ASCII_INITIALS.sub(lambda run: run.group().replace(" ", ""), words)


def _join_initials(words: list[str]) -> list[str]:
    """Runs of single letters are one word: "U.S." and "US", "A.R." and "AR" fold alike."""
    joined: list[str] = []
    run = ""
    for word in words:
        if len(word) == 1 and word.isalpha():
            run += word
            continue
        if run:
            joined.append(run)
            run = ""
        joined.append(word)
    if run:
        joined.append(run)
    return joined


@functools.lru_cache(maxsize=1 << 16)
def name_key(name: str) -> str:
    """The key under which a source name or alias is matched (remembered: names recur)."""
    return fold(name)


# --- spelling variants -------------------------------------------------------------------------
#
# Agencies spell one name many ways: Razvozhayev and Razvozayev, Zelenskyy and Зеленський,
# Aksyonov and Aksenov. Names are compared on skeletons: Cyrillic transliterated, then the letter
# groups that transliterations disagree on collapsed into one form. Skeletons a letter apart are
# found through a table of their one-letter deletions (a symmetric-delete index, no pg_trgm).

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
    "ђ": "dj", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c", "џ": "dz", "ѓ": "g", "ќ": "k", "ѕ": "dz",
}  # fmt: skip
_TRANSLITERATION = str.maketrans(_CYRILLIC)

# Applied in order to a transliterated, folded word.
_VARIANTS = [
    (re.compile(r"shch"), "sh"),
    (re.compile(r"(?<=[^aeiou])[yi]o"), "e"),  # Aksyonov/Aksenov, Fyodor/Fedor: the letter ё
    (re.compile(r"(?<=[aeiou])y(?=[aeiou])|^y(?=[aeiou])"), ""),  # Yevgeny/Evgeny, Razvozayev/Razvozaev
    (re.compile(r"kh"), "h"),
    (re.compile(r"zh"), "z"),
    (re.compile(r"ck"), "k"),
    (re.compile(r"ph"), "f"),
    (re.compile(r"(?:yy|iy|ii|yi|ij|yj)$"), "i"),  # Zelenskyy, Zelenskiy, Zelenskii
    (re.compile(r"[yj]"), "i"),
    (re.compile(r"w"), "v"),
    (re.compile(r"q"), "k"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"c(?=[aou]|$)"), "k"),
    (re.compile(r"(.)\1+"), r"\1"),  # doubled letters
]


def transliterate(text: str) -> str:
    """Cyrillic letters in Latin (Russian, Ukrainian, Serbian, Macedonian), the rest unchanged."""
    return unicodedata.normalize("NFC", text.casefold()).translate(_TRANSLITERATION)


@functools.lru_cache(maxsize=1 << 16)
def skeleton(word: str) -> str:
    """The form of one folded word on which spelling variants coincide (remembered: words recur)."""
    for pattern, replacement in _VARIANTS:
        word = pattern.sub(replacement, word)
    return word


def name_tokens(name: str) -> list[str]:
    """The skeletons of a name's words, in order."""
    return [skeleton(word) for word in fold(transliterate(name)).split()]


@functools.lru_cache(maxsize=1 << 16)
def deletes(token: str) -> frozenset[str]:
    """The token and every form of it missing one letter (tokens under four letters: itself only)."""
    if len(token) < 4:
        return frozenset({token})
    return frozenset({token} | {token[:i] + token[i + 1 :] for i in range(len(token))})


def _edit_distance(a: str, b: str, bound: int = 2) -> int:
    """Levenshtein distance with adjacent transpositions, or ``bound + 1`` once it exceeds ``bound``."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > bound:
            return bound + 1
        previous2, previous = previous, current
    return previous[-1]


def _token_similarity(query: str, name: str) -> float:
    if query == name:
        return 1.0
    if len(query) <= 2:
        # an initial, or initials run together ("A. Belousov", "A.R. Belousov")
        return 0.8 if name.startswith(query[0]) else 0.0
    distance = _edit_distance(query, name)
    if distance == 1 and min(len(query), len(name)) >= 4:
        return 0.85
    if distance == 2 and min(len(query), len(name)) >= 7:
        return 0.7
    return 0.0


def name_similarity(query: list[str], name: list[str]) -> float:
    """How well the query's skeleton tokens match a name's, in [0, 1); 1.0 is kept for exact keys.

    Each query token is paired with the best unused name token. What counts most is how much of the
    query is matched; name words the query leaves out (a given name, a middle name) cost a little.
    The result is scaled below 1 so that only an exact name or alias scores 1.
    """
    if not query or not name:
        return 0.0
    unused = list(name)
    total = 0.0
    for token in sorted(query, key=len, reverse=True):
        scored = [(_token_similarity(token, candidate), candidate) for candidate in unused]
        best, chosen = max(scored, default=(0.0, ""))
        if best > 0:
            total += best
            unused.remove(chosen)
    covered = 1 - len(unused) / len(name)
    return 0.95 * (total / len(query)) * (0.75 + 0.25 * covered)
