"""Follow-up questions resolved from the conversation (no LLM): the rewrite, `dxa ask` with history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.followup import Turn, is_followup, resolve, topic
from tests.ui.test_cli import run_json, store  # noqa: F401  (the CLI store fixture)


@pytest.mark.parametrize(
    ("previous", "question", "expected"),
    [
        # a demonstrative becomes the previous question's topic; its leading clause is kept
        ("市民アンケートはいつ実施しますか", "その対象者は？", "市民アンケートの対象者は"),
        (
            "本市の計画策定で、意見交換会はいつ開きますか",
            "その次は何ですか",
            "本市の計画策定で、意見交換会の次は何ですか",
        ),
        ("ガバメントクラウドの利用料は誰が払うのですか", "それはいつから？", "ガバメントクラウドの利用料はいつから"),
        # a bare 「X は？」 asks the same of another level, or of the most similar noun phrase
        ("国の計画期間は何年ですか", "じゃあ県は？", "県の計画期間は何年ですか"),
        (
            "データ・エンジニアの採用で、必要な経験は何年ですか",
            "データ・サイエンティストのほうは？",
            "データ・サイエンティストの採用で",
        ),
        # a municipality or prefecture named in the previous question stands for its level
        ("厚木市DX推進計画の計画期間は？", "県はどうですか？", "県DX推進計画の計画期間は"),
        ("厚木市DX推進計画の計画期間は？", "国のほうはどうなってる？", "国DX推進計画の計画期間は"),
        ("厚木市DX推進計画の計画期間は？", "神奈川県の場合は？", "神奈川県DX推進計画の計画期間は"),
        ("神奈川県の計画期間は？", "じゃあ市だと？", "市の計画期間は"),
        # 「それって…」 leans on the previous topic as 「それは…」 does
        ("アクションプランの期間は？", "それって何年ずつ？", "アクションプランの期間って何年ずつ"),
    ],
)
def test_followups_become_standalone_questions(previous: str, question: str, expected: str) -> None:
    assert is_followup(question)
    assert expected in resolve(question, [Turn(previous, "…")])


def test_standalone_questions_and_empty_history_are_left_alone() -> None:
    q = "計画の期間はいつからいつまでですか"
    assert not is_followup(q)
    assert resolve(q, [Turn("市民アンケートはいつですか")]) == q
    assert resolve("その対象者は？", []) == "その対象者は？"
    assert topic("厚木市の市民アンケートはいつ実施しますか") == "厚木市の市民アンケート"


def test_a_word_starting_with_a_level_is_no_level() -> None:
    """「市民は？」 after a question on 神奈川県 asks about 市民, not the city: the place stays."""
    assert "神奈川県" in resolve("市民は？", [Turn("神奈川県のDX計画の目標は？")])


def test_a_chain_of_followups_stays_anchored() -> None:
    history = [Turn("市民アンケートはいつ実施しますか"), Turn("その対象者は？")]
    assert "市民アンケート" in resolve("それは何人ですか", history)


def test_cli_ask_resolves_a_followup_from_history(
    store: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    first = "アクションプランはどのような計画ですか"
    lines = [
        {"id": "t1", "question": first},
        {"id": "t2", "question": "それは前期と後期で何年ずつですか", "history": [{"question": first, "answer": ""}]},
        {"id": "plain", "question": "計画の期間はいつからいつまでですか"},
    ]
    batch = tmp_path / "q.jsonl"
    batch.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    out = {o["id"]: o for o in run_json(capsys, ["ask", "--questions", str(batch), "--json", "--store", str(store)])}
    follow = out["t2"]
    assert follow["question"] == "それは前期と後期で何年ずつですか"
    assert "アクションプラン" in follow["resolved_question"]
    assert not follow["refused"] and "前期３年" in follow["answer"].replace("3", "３")
    assert out["plain"]["resolved_question"] == out["plain"]["question"]

    # one question with --history FILE.json; a malformed history is a usage error, not a traceback
    history = tmp_path / "h.json"
    history.write_text(
        json.dumps([{"question": "計画の期間はいつからいつまでですか", "answer": "令和９年度から"}]), "utf-8"
    )
    [one] = run_json(capsys, ["ask", "それは何年間ですか", "--history", str(history), "--json", "--store", str(store)])
    assert one["resolved_question"].startswith("計画の期間") and "６年間" in one["answer"].replace("6", "６")
    history.write_text('{"question": "not a list"}', "utf-8")
    with pytest.raises(SystemExit, match="history"):
        run_json(capsys, ["ask", "それは何年間ですか", "--history", str(history), "--json", "--store", str(store)])
