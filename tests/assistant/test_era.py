"""Era years ↔ western years, as used by the sparse index for both documents and queries."""

import pytest

from assistant.era import era_to_western, expand_years, find_years, western_to_era, year_tokens


@pytest.mark.parametrize(
    ("era", "year", "western"),
    [
        ("令和", 9, 2027),
        ("令和", "元", 2019),
        ("平成", 31, 2019),
        ("平成", "元", 1989),
        ("昭和", 64, 1989),
        ("大正", 1, 1912),
        ("明治", 1, 1868),
        ("令和", "９", 2027),
        ("令和", "七", 2025),
        ("平成", "二十", 2008),
        ("R", 7, 2025),
        ("Ｈ", "30", 2018),
        ("平成", 32, 2020),
    ],
)
def test_era_to_western(era, year, western):
    assert era_to_western(era, year) == western


def test_era_to_western_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown era"):
        era_to_western("天平", 3)
    with pytest.raises(ValueError):
        era_to_western("令和", 0)


def test_western_to_era_gives_both_eras_in_a_change_year():
    assert western_to_era(2027) == [("令和", 9)]
    assert western_to_era(2019) == [("平成", 31), ("令和", 1)]
    assert western_to_era(1800) == []


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("令和９年度の計画", "令和９年度（2027年度）の計画"),
        ("2027年度まで", "2027年度（令和9年度）まで"),
        ("令和元年度に策定", "令和元年度（2019年度）に策定"),
        ("R7年度", "R7年度（2025年度）"),
        ("令和6年4月1日", "令和6年（2024年）4月1日"),
        ("１９９０年", "１９９０年（平成2年）"),
        ("2019年", "2019年（平成31年・令和元年）"),
    ],
)
def test_expand_years_appends_the_other_form(text, expanded):
    assert expand_years(text) == expanded


@pytest.mark.parametrize(
    "text",
    [
        "令和９（2027）年度",
        "2027（令和９）年度",
        "令和9年度（2027年度）",
        "2027年度(令和9年度)",
        "昭和50年代",
        "12027年",
        "西暦のない文",
        "第3年",
    ],
)
def test_expand_years_leaves_paired_or_non_year_text_alone(text):
    assert expand_years(text) == text


def test_year_tokens_and_paired_forms():
    assert year_tokens("令和元年度から2027年度まで") == {2019, 2027}
    assert year_tokens("令和９（2027）年度") == {2027}
    assert {y.kind for y in find_years("令和9年度（2027年度）")} == {"paired"}


def test_query_and_document_forms_meet_in_the_sparse_tokens():
    from assistant.sparse import BigramTokenizer, SudachiTokenizer

    for tok in (SudachiTokenizer(), BigramTokenizer()):
        doc = set(tok.tokenize("計画期間は令和９年度までとする。"))
        assert set(tok.tokenize("2027年度")) <= doc, tok.name
        assert set(tok.tokenize("令和9年度")) <= set(tok.tokenize("2027年度までの計画"))
