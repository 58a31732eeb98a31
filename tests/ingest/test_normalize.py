"""normalize_text / clean_page / original_span on real documents and on property checks."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from ingest.headings import parse_heading
from ingest.normalize import clean_page, find_noise_lines, normalize_text, original_span

ROW = re.compile(r"^令和\d+年\d+月 ")

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
ATSUGI = SHARED / "corpus/atsugi/atsugi-dx-plan-policy-2027-2032.txt"
JUTEN = SHARED / "corpus/real/juten-keikaku-2023/20230609_policies_priority_outline_05.pdf"
JP = r"[\u3041-\u30ff\u3400-\u9fff、。「」]"


@pytest.fixture(scope="module")
def atsugi_raw() -> str:
    if not ATSUGI.exists():
        pytest.skip(f"{ATSUGI} not present")
    return ATSUGI.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def juten_pages() -> list[str]:
    if not JUTEN.exists():
        pytest.skip(f"{JUTEN} not present")
    from pypdf import PdfReader

    return [p.extract_text() for p in PdfReader(JUTEN).pages]


def test_character_folding() -> None:
    text, _ = normalize_text("ＡＢＣ１２３（案）　ｶﾞｲﾄﾞ ①②　令和９年〜１０年 ⽅針 ⅱ m²")
    assert text == "ABC123(案)ガイド①②令和9年～10年方針ⅱ m²"


def test_map_points_at_raw_characters() -> None:
    raw = "令和９（2027）年度から\n\n令和14（2032）年度 \nまでの６年間とする。\n次の文。"
    text, m = normalize_text(raw)
    assert text == "令和9(2027)年度から令和14(2032)年度までの6年間とする。\n次の文。"
    assert len(m) == len(text)
    assert all(a <= b for a, b in zip(m, m[1:], strict=False))
    s = text.index("令和14")
    e = text.index("6年間") + 3
    assert raw[m[s] : m[e - 1] + 1] == "令和14（2032）年度 \nまでの６年間"


def test_random_spans_round_trip(atsugi_raw: str) -> None:
    text, m = normalize_text(atsugi_raw)
    rng = random.Random(7)
    for _ in range(400):
        s = rng.randrange(len(text))
        e = min(len(text), s + rng.randrange(1, 80))
        span = text[s:e].strip()
        if not span or "\n" in span:
            continue
        line_start = text.rfind("\n", 0, s) + 1
        if ROW.match(text[line_start:]):
            continue  # a piece of a table row is no longer a row on its own
        s = text.index(span, s)
        e = s + len(span)
        again, _ = normalize_text(atsugi_raw[m[s] : m[e - 1] + 1])
        assert again == span


def test_sentence_lines_joined_and_breaks_kept(atsugi_raw: str) -> None:
    text, _ = normalize_text(atsugi_raw)
    assert "令和9(2027)年度から令和14(2032)年度までの6年間とし、当該計画期間における具体的な取組施策" in text
    for line in text.split("\n"):
        assert line == line.strip()
        assert "  " not in line
    # headings stand on their own line; paragraph breaks are a single newline
    assert "\n4 計画の期間\n令和9(2027)" in text
    assert "\n\n" not in text
    # the schedule table in §9 keeps one row per line, the date cell set off by a space
    rows = [line for line in text.split("\n") if ROW.match(line)]
    assert rows[0] == "令和7年8月 市民アンケート(市内に住民登録のある満18歳以上の市民3,300人)"
    assert rows[-2:] == ["令和9年2月 計画策定", "令和9年4月 厚木市DX推進計画(2027～2032)スタート"]
    assert len(rows) == 7
    prose = "\n".join(line for line in text.split("\n") if not ROW.match(line))
    assert not re.search(f"{JP} +{JP}", prose), "spaces between Japanese characters remain"
    # a line break inside a raw sentence never survives
    lines = text.split("\n")
    for before, after in zip(lines, lines[1:], strict=False):
        assert before[-1] in "。！？:：" or parse_heading(before) or parse_heading(after) or ROW.match(after), (
            before,
            after,
        )


def test_table_rows_only_where_a_date_cell_is_set_off() -> None:
    raw = "日程 実施内容\n令和７年８月 市民アンケート（市内に住民登録のある\n満18歳以上の市民）\n令和８年５月　意見交換会開催"
    text, _ = normalize_text(raw)
    # a cell that wraps stays in its row
    assert (
        text
        == "日程実施内容\n令和7年8月 市民アンケート(市内に住民登録のある満18歳以上の市民)\n令和8年5月 意見交換会開催"
    )
    # in running text a date is never set off by a space, so a line that starts with one joins as usual
    text, _ = normalize_text("本計画は、\n令和９年４月に開始する。")
    assert text == "本計画は、令和9年4月に開始する。"


def test_markdown_table_rows_keep_their_lines() -> None:
    raw = (
        "### 8.3. 用語集\n\n|用語|意味|\n|----|----|\n"
        "|ＥＢＰＭ|Evidence Based Policy Making の略。客観的な証拠に基づく政策立案のこと。|\n"
        "|ＫＰＩ|目標・戦略を実現するための指標のうち、特に重要なもの。|\n"
        "表の後の文は\n続く。"
    )
    text, idx = normalize_text(raw)
    lines = text.split("\n")
    assert lines[1:5] == [
        "|用語|意味|",
        "|----|----|",
        "|EBPM|Evidence Based Policy Makingの略。客観的な証拠に基づく政策立案のこと。|",
        "|KPI|目標・戦略を実現するための指標のうち、特に重要なもの。|",
    ]
    # the text after the table is not glued to its last row, and wrapped lines still join
    assert lines[5] == "表の後の文は続く。"
    row = text.index("|KPI|")
    assert (
        raw[idx[row] : idx[row + len(lines[4]) - 1] + 1]
        == "|ＫＰＩ|目標・戦略を実現するための指標のうち、特に重要なもの。|"
    )


def test_toc_dot_leaders_dropped() -> None:
    raw = "第１章 はじめに ・・・・・・・・ 3\n１ 計画策定の趣旨 ........ 12\n（２）推進体制……………15\n本文です。"
    text, _ = normalize_text(raw)
    assert text == "第1章 はじめに\n1 計画策定の趣旨\n(2)推進体制\n本文です。"


def test_furigana_lines_dropped() -> None:
    text, _ = normalize_text("災害等に対する強靭\nきょうじん\n性の確保も含め、検討する。")
    assert text == "災害等に対する強靭性の確保も含め、検討する。"


def test_noise_lines_on_real_pdf(juten_pages: list[str]) -> None:
    noise = find_noise_lines(juten_pages)
    # the only running element of this PDF is the bare page number at the top of pages 6-118
    assert "#" in noise
    assert all(len(k) < 40 for k in noise)
    for n in (6, 51, 118):
        raw = juten_pages[n - 1]
        printed = n - 5
        assert raw.lstrip().startswith(f"{printed} ")
        text, m = clean_page(raw, noise)
        assert not text.startswith(str(printed)), text[:20]
        assert m[0] > raw.index(str(printed))


def test_clean_page_bare_page_numbers() -> None:
    raw = "- 12 -\n本文の一行目で\nある。\n12/118"
    text, m = clean_page(raw, set())
    assert text == "本文の一行目である。"
    assert raw[m[0] : m[-1] + 1] == "本文の一行目で\nある。"


def test_footnotes_not_glued_to_body(juten_pages: list[str]) -> None:
    text, _ = clean_page(juten_pages[50], find_noise_lines(juten_pages))  # page 51, footnote 48
    assert "拡張できるこ\n48 ユーザーエクスペリエンスの略。" in text


def test_original_span(atsugi_raw: str) -> None:
    quote = "令和9(2027)年度から令和14(2032)年度までの6年間"
    assert original_span(atsugi_raw, quote) == "令和９（2027）年度から令和14（2032）年度までの６年間"
    assert original_span(atsugi_raw, "地域社会のDX") == "地域社会のＤＸ"
    spanning = original_span(
        atsugi_raw, "市民の皆様の利便性の向上や将来にわたる安定的な市政運営の実現を目指し、社会情勢"
    )
    assert spanning is not None and "\n" in spanning and spanning.startswith("市民の皆様")
    assert original_span(atsugi_raw, "この文は文書にない") is None


def test_a_blank_line_ends_a_markdown_paragraph_but_not_a_wrapped_text_line() -> None:
    """Markdown: a caption or 「**〔キーワード〕**」 before a blank line stays a line of its own. Plain text
    extracted from a PDF has blank lines inside sentences: there they are still wrapping."""
    md = "**〔キーワード〕**\n\nデータ利活用、EBPM\n図2 経験点の減衰\n\n　\n\n経験には乗数を乗じます。\n続く行"
    text, idx = normalize_text(md, paragraphs=True)
    assert text.split("\n") == [
        "**〔キーワード〕**",
        "データ利活用、EBPM図2経験点の減衰",
        "経験には乗数を乗じます。",
        "続く行",
    ]
    assert all(md[i] == ch for i, ch in zip(idx, text, strict=True) if ch != "\n")
    wrapped, _ = normalize_text("令和８年度で終了するこ\n\nとに伴い、策定します。")
    assert wrapped == "令和8年度で終了することに伴い、策定します。"
