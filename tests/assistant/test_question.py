"""Question analysis (assistant/question.py) and the typed morpheme API (assistant/sudachi.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT
from assistant.question import (
    QUESTION_WORDS,
    is_alignment_question,
    question_focus,
    question_parts,
    strip_question_words,
    without_naming,
)
from assistant.sudachi import Morpheme, morphemes, words


def test_question_words_and_alignment_questions() -> None:
    assert {"何", "どこ", "誰", "いつ"} <= QUESTION_WORDS
    assert strip_question_words("会場はどこで、何時からですか") == "会場は、で、、時からですか"
    assert is_alignment_question("国と市の計画の違いは")
    assert is_alignment_question("県の計画との整合を確認したい")
    assert not is_alignment_question("計画の期間はいつからいつまでですか")


def test_focus_uses_long_units() -> None:
    assert question_focus("意見交換会の会場はどこですか") == "会場"
    assert question_focus("計画の開催時期はいつですか") == "開催"  # 時期 only names the kind of answer
    assert question_focus("委員長は誰ですか") == "委員長"
    assert question_focus("どのような取組がありますか") is None


def test_morphemes_are_typed_and_cover_the_text() -> None:
    text = "計画を策定しました。"
    ms = morphemes(text)
    assert all(isinstance(m, Morpheme) for m in ms)
    assert "".join(m.surface for m in ms) == text
    assert all(text[m.begin : m.end] == m.surface for m in ms)
    verb = next(m for m in ms if m.surface == "し")
    assert verb.dictionary == "する" and verb.pos[0] == "動詞"
    assert verb.conjugation_form.startswith("連用形") and verb.conjugation_type.startswith("サ行")
    assert [m.surface for m in morphemes("情報システム標準化", "A")] == words("情報システム標準化")
    assert len(words("情報システム標準化", "A")) > len(words("情報システム標準化", "C"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_only_the_wrappers_import_sudachipy_and_answer_does_not_reach_into_retrieval() -> None:
    files = sorted((REPO_ROOT / "assistant").rglob("*.py"))
    assert len(files) > 20
    sudachi_users = {
        p.relative_to(REPO_ROOT).as_posix() for p in files if any(m.startswith("sudachipy") for m in _imports(p))
    }
    assert sudachi_users == {"assistant/sudachi.py"}
    for p in (REPO_ROOT / "assistant" / "answer").glob("*.py"):
        assert not _imports(p) & {"assistant.retrieve", "assistant.sparse", "assistant.signals"}, p


@pytest.mark.parametrize(
    ("message", "parts"),
    [
        (
            "次期計画の庁内検討組織はどこ？メンバー構成と人数は？",
            ["次期計画の庁内検討組織はどこ？", "メンバー構成と人数は？"],
        ),
        (
            "認定する制度はありますか。ある場合、申請手数料はいくらでしょうか。",
            ["認定する制度はありますか。", "ある場合、申請手数料はいくらでしょうか。"],
        ),
        ("計画の期間は？ また、アンケートはいつ実施しますか？", ["計画の期間は？", "アンケートはいつ実施しますか？"]),
        # a short piece (an instruction, not a question) stays with its part
        (
            "人材モデルとしてどんな職種を定義してる？主なものを3つ。",
            ["人材モデルとしてどんな職種を定義してる？主なものを3つ。"],
        ),
        # a sentence of situation first is no question of its own
        (
            "県内の配置状況を把握したい。デジタル推進委員は何人いる？",
            ["県内の配置状況を把握したい。デジタル推進委員は何人いる？"],
        ),
        ("計画期間は", ["計画期間は"]),
        # one sentence asking two things, its clauses joined by a continuative 「…され、」「…で、」: two parts,
        # the second keeping the first's context (its leading 「…について、」 clause, or the sentences before it)
        (
            "基本指針について、ガイドブックではデータをどう扱うとされ、ルール集ではどこが出したものとされていますか。",
            [
                "基本指針について、ガイドブックではデータをどう扱うとされ",
                "基本指針について、ルール集ではどこが出したものとされていますか。",
            ],
        ),
        (
            "チラシを作る予定です。意見の募集期間は何日間で、提出方法はどうなっていますか？",
            ["チラシを作る予定です。意見の募集期間は何日間で", "チラシを作る予定です。提出方法はどうなっていますか？"],
        ),
        # …but not when the second clause asks nothing, is too short to be a question, or the comma is inside 「」
        ("計画を策定し、市民の意見を聞く手続はどれですか", ["計画を策定し、市民の意見を聞く手続はどれですか"]),
        ("次の手続は何で、いつ？", ["次の手続は何で、いつ？"]),
        (
            "「何を定め、どう測るか」という観点はどこにありますか",
            ["「何を定め、どう測るか」という観点はどこにありますか"],
        ),
    ],
)
def test_question_parts(message: str, parts: list[str]) -> None:
    assert question_parts(message) == parts


@pytest.mark.parametrize(
    ("question", "searched"),
    [
        # a closing phrase asking what something is called is how the answer is worded: it is not searched
        (
            "会社を辞めずに地方へ移り住めるようにする取組、計画ではどんな言葉で表現されてる？",
            "会社を辞めずに地方へ移り住めるようにする取組",
        ),
        (
            "市町村ごとに違う書式や独自の決まりごと、計画ではカタカナで何と呼んでる？",
            "市町村ごとに違う書式や独自の決まりごと",
        ),
        ("点検するための書式は、何と呼ばれていますか。", "点検するための書式は"),
        ("一覧に載せる制度、略称は？", "一覧に載せる制度"),
        ("中央部を流れている川の名称は。", "中央部を流れている川"),
        ("一時的な低温を北海道では何と呼ぶ", "一時的な低温を北海道では"),
        # …but not a question about something else, a word that merely contains 用語, or what is too short to search
        (
            "リズムはギリシャ語でなんという言葉が語源になっているか？",
            "リズムはギリシャ語でなんという言葉が語源になっているか？",
        ),
        ("エチオピアの事実上の公用語は？", "エチオピアの事実上の公用語は？"),
        ("国はどういう方向で減らしていく考え？", "国はどういう方向で減らしていく考え？"),
        ("これを何という？", "これを何という？"),
    ],
)
def test_the_search_form_of_a_naming_question(question: str, searched: str) -> None:
    assert without_naming(question) == searched
