"""である調 conversion: deterministic, on real sentences of the bundled corpus and on each polite form."""

from __future__ import annotations

import pytest

from assistant.answer.citations import split_sentences
from assistant.config import REPO_ROOT
from assistant.draft import has_polite_ending, to_dearu

CITY = (REPO_ROOT / "corpus" / "atsugi" / "atsugi-dx-plan-policy-2027-2032.txt").read_text(encoding="utf-8")


def city_sentence(start: str) -> str:
    """A real sentence of the city document (line breaks of the extracted PDF text joined)."""
    flat = "".join(line.strip() for line in CITY.splitlines())
    return split_sentences(flat[flat.index(start) :])[0]


@pytest.mark.parametrize(
    ("start", "ending"),
    [
        ("令和３年３月に策定した", "を策定する。"),
        ("今後、少子高齢化", "求められている。"),
        ("こうしたＤＸ推進", "確保する必要がある。"),
        ("策定に係る庁内検討組織", "審議を行う。"),
        ("次期計画の策定スケジュール", "おおむね次のとおりである。"),
        ("PDCA", "実効性を確保する。"),
    ],
)
def test_real_city_sentences(start: str, ending: str) -> None:
    sentence = city_sentence(start)
    assert has_polite_ending(sentence)
    out = to_dearu(sentence)
    assert out.endswith(ending), out
    assert not has_polite_ending(out)
    assert out[: len(sentence) - 8] == sentence[: len(sentence) - 8]  # only the ending changed
    assert to_dearu(out) == out  # already である調: unchanged


@pytest.mark.parametrize(
    ("polite", "plain"),
    [
        ("計画を策定しました。", "計画を策定した。"),
        ("整合を図りました。", "整合を図った。"),
        ("審議を行いませんでした。", "審議を行わなかった。"),
        ("手続を変更しません。", "手続を変更しない。"),
        ("内容を確認してください。", "内容を確認すること。"),
        ("受付は終了でした。", "受付は終了であった。"),
        ("大きな効果があるでしょう。", "大きな効果があるであろう。"),
        ("課題が多いです。", "課題が多い。"),
        ("ともに検討しましょう。", "ともに検討しよう。"),
        ("相談窓口がございます。", "相談窓口がある。"),
        ("対応していきますが、課題もあります。", "対応していくが、課題もある。"),
    ],
)
def test_each_polite_form(polite: str, plain: str) -> None:
    assert to_dearu(polite) == plain
    assert not has_polite_ending(plain)


def test_plain_text_and_markers_untouched() -> None:
    assert to_dearu("国は標準化を進める。") == "国は標準化を進める。"
    assert has_polite_ending("取組を進めます[3]。") and not has_polite_ending("取組を進める[3]。")
