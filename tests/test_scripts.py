"""Names and statements in every script: letters stay letters (a vowel sign is part of its letter, not an
accent to drop), so different names never share a key; the same name with other spacing or punctuation
does; and a statement is found by a window of its words (by four characters, in scripts written
without spaces). A migration refolds what was stored before."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from service import migrations
from service.domain.names import fold, name_key, searchable
from tests.helpers import Server, assert_problem, claim_body, create_claim, hop, inline

# A name and the same name spaced or punctuated otherwise, per script.
NAMES = {
    "hindi": ("नरेन्द्र मोदी", "नरेन्द्र  मोदी,"),
    "bengali": ("শেখ হাসিনা", "শেখ-হাসিনা"),
    "tamil": ("மு. க. ஸ்டாலின்", "மு.க. ஸ்டாலின்"),
    "sinhala": ("රනිල් වික්‍රමසිංහ", "රනිල් වික්රමසිංහ"),  # with and without the joiner
    "thai": ("ทักษิณ ชินวัตร", "ทักษิณชินวัตร"),
    "arabic": ("مُحَمَّد بن سلمان", "محمد بن سلمان"),  # vowel points are optional
    "hebrew": ("בִּנְיָמִין נְתַנְיָהוּ", "בנימין נתניהו"),
    "chinese": ("习近平", "习 近平"),
    "japanese": ("岸田文雄", "岸田・文雄"),
    "korean": ("윤석열", "윤석열."),
}
# Statements, and a window of each that must find it (four characters where words are not spaced).
STATEMENTS = {
    "hindi": ("प्रधानमंत्री ने कहा कि देश की अर्थव्यवस्था तेजी से बढ़ रही है", "अर्थव्यवस्था तेजी से बढ़"),
    "bengali": ("প্রধানমন্ত্রী বলেছেন যে নতুন সেতু আগামী বছর খুলবে", "নতুন সেতু আগামী বছর"),
    "tamil": ("முதலமைச்சர் புதிய மருத்துவமனை திறக்கப்படும் என்று கூறினார்", "புதிய மருத்துவமனை திறக்கப்படும்"),
    "sinhala": ("ජනාධිපතිවරයා පැවසුවේ නව මාර්ගය ලබන වසරේ විවෘත කරන බවයි", "නව මාර්ගය ලබන වසරේ"),
    "thai": ("นายกรัฐมนตรีกล่าวว่าเศรษฐกิจจะเติบโตในปีหน้า", "เศรษฐกิจ"),
    "arabic": ("قال الوزير إن المفاوضات ستستأنف الأسبوع المقبل", "المفاوضات ستستأنف الأسبوع"),
    "hebrew": ("השר אמר כי המשא ומתן יתחדש בשבוע הבא", "המשא ומתן יתחדש"),
    "chinese": ("外交部发言人表示双方将继续保持沟通", "继续保持"),
    "japanese": ("官房長官は来週の会談で合意を目指すと述べた", "会談で合意"),
    "korean": ("대통령은 다음 달 정상회담이 열릴 것이라고 말했다", "다음 달 정상회담이"),
}


class TestFolding:
    def test_vowel_signs_are_letters_so_different_names_never_share_a_key(self) -> None:
        keys = {name_key(name) for name in ("मोदी", "मादा", "मेदा", "मुद")}
        assert len(keys) == 4
        assert len({name_key(n) for n in ("কমল", "কামাল", "কোমল")}) == 3  # Bengali
        assert len({name_key(n) for n in ("สมชาย", "สมชัย")}) == 2  # Thai
        assert len({name_key(n) for n in ("が", "か")}) == 2  # a Japanese voicing mark

    @pytest.mark.parametrize("script", sorted(NAMES))
    def test_a_name_folds_alike_whatever_its_spacing_and_punctuation(self, script: str) -> None:
        name, variant = NAMES[script]
        assert name_key(name) == name_key(variant) != ""

    def test_latin_greek_and_cyrillic_accents_still_fold_away(self) -> None:
        assert fold("Zélenskyy") == fold("Zelenskyy") == "zelenskyy"
        assert fold("Пе́сков") == fold("Песков")
        assert fold("Ἀθῆναι") == fold("Αθηναι")

    def test_words_without_spaces_are_searched_by_their_pairs_of_characters(self) -> None:
        assert searchable("习近平说") == "习近 近平 平说"
        assert searchable("Kyiv's mayor") == "kyivs mayor"


@pytest.mark.parametrize("script", sorted(NAMES))
async def test_each_name_is_stored_once_and_found_by_itself(client: httpx.AsyncClient, script: str) -> None:
    name, variant = NAMES[script]
    first = await create_claim(client, claim_body(f"{script}: the first claim", hop(inline(name))))
    again = await create_claim(client, claim_body(f"{script}: the second claim", hop(inline(variant))))
    assert again["origin"]["id"] == first["origin"]["id"]
    for query in (name, variant):
        found = (await client.get("/sources", params={"q": query})).json()["items"]
        assert found[0]["id"] == first["origin"]["id"] and found[0]["score"] == 1.0


async def test_a_devanagari_name_is_never_taken_for_another(client: httpx.AsyncClient) -> None:
    modi = await create_claim(client, claim_body("One thing.", hop(inline("मोदी"))))
    mada = await create_claim(client, claim_body("Another thing.", hop(inline("मादा"))))
    assert modi["origin"]["id"] != mada["origin"]["id"]
    found = (await client.get("/sources", params={"q": "मेदा"})).json()["items"]
    assert all(item["score"] < 1.0 for item in found)


@pytest.mark.parametrize("script", sorted(STATEMENTS))
async def test_each_statement_is_found_by_a_window_of_it(client: httpx.AsyncClient, script: str) -> None:
    text, window = STATEMENTS[script]
    stored = await create_claim(client, claim_body(text, hop(inline(f"Speaker of {script}"))))
    await create_claim(client, claim_body(f"Something else entirely, in {script}.", hop(inline("Someone"))))
    answer = await client.get("/trace", params={"statement": window})
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"][0]["trace"]["claim"]["id"] == stored["id"]


async def test_a_statement_of_punctuation_alone_is_still_refused(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/trace", params={"statement": "、。！"}), 422)


def test_the_migration_refolds_what_was_stored_before(server: Server) -> None:
    url = server.create_database()
    try:
        migrations.upgrade(url, "0012")
        asyncio.run(_store_as_before(url))
        migrations.upgrade(url)
        keys, tokens, search = asyncio.run(_stored(url))
        assert keys == {"मोदी", "मादा", "abc"}
        assert {"मोदी", "मादा"} <= tokens
        assert search == searchable("习近平说双方将继续保持沟通")
    finally:
        server.drop_database(url)


async def _store_as_before(url: str) -> None:
    """Two sources and an alias under the keys the old folding gave them (vowel signs dropped: one key)."""
    conn = await asyncpg.connect(url)
    try:
        modi = await conn.fetchval(
            "INSERT INTO sources (kind, name, name_key) VALUES ('person', 'मोदी', 'मद') RETURNING id"
        )
        await conn.execute("INSERT INTO sources (kind, name, name_key) VALUES ('person', 'मादा', 'मद')")
        await conn.execute("INSERT INTO source_aliases (source_id, alias, alias_key) VALUES ($1, 'ABC', 'abc')", modi)
        hina = await conn.fetchval(
            "INSERT INTO sources (kind, name, name_key) VALUES ('outlet', 'Hina', 'hina') RETURNING id"
        )
        text = "习近平说双方将继续保持沟通"
        async with conn.transaction():  # a claim and its hops together: its chain is checked at commit
            claim = await conn.fetchval(
                "INSERT INTO claims (text, kind, language, origin_source_id, relay_source_ids, search_text)"
                " VALUES ($1, 'quote', 'zh', $2, '{}', $1) RETURNING id",
                text,
                hina,
            )
            await conn.execute(
                "INSERT INTO hops (claim_id, position, source_id, cue) VALUES ($1, 0, $2, 'said')", claim, hina
            )
    finally:
        await conn.close()


async def _stored(url: str) -> tuple[set[str], set[str], str]:
    conn = await asyncpg.connect(url)
    try:
        keys = {r["k"] for r in await conn.fetch("SELECT name_key AS k FROM sources WHERE kind = 'person'")}
        keys |= {r["k"] for r in await conn.fetch("SELECT alias_key AS k FROM source_aliases")}
        tokens = {r["token"] for r in await conn.fetch("SELECT token FROM source_name_tokens")}
        search: str = await conn.fetchval("SELECT search_text FROM claims")
        return keys, tokens, search
    finally:
        await conn.close()
