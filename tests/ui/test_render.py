"""ui.render: the one escaping rule for untrusted text, and which [n] markers are ours."""

from __future__ import annotations

import re
import string

from ui.render import CITE_CLASS, WORD_JOINER, answer_html, md

PAYLOADS = [
    "![beacon](https://beacon.example/b.png)",
    "[ログインはこちら](https://evil.example/login)",
    ":red[赤字] :blue-background[青] :material/home: :smile:",
    "$$x^2$$ と $y$",
    "<img src=https://beacon.example/i.png> <b>太字</b>",
    "# 見出し\n- 箇条書き\n> 引用 | 表 | ~~消~~ `code` **強調** _斜体_ {x}",
    "https://evil.example/bare www.evil.example",
    "文献[1]を参照",
]


def unescape(text: str) -> str:
    """What Markdown shows for `md()` output: each backslash escape resolved, the word joiner invisible."""
    return re.sub(r"\\(.)", r"\1", text).replace(WORD_JOINER, "")


def test_md_escapes_every_markdown_significant_character_and_shows_the_text_unchanged() -> None:
    for payload in PAYLOADS:
        out = md(payload)
        assert unescape(out) == " ".join(payload.splitlines()), payload  # the text itself, on one line
        bare = re.sub(r"\\.", "", out)  # anything that is not escaped
        assert not set(bare) & set(string.punctuation), (payload, out)


def test_md_breaks_shortcodes_and_autolinks() -> None:
    out = md(":smile: :material/home: https://evil.example")
    assert f"\\:{WORD_JOINER}smile" in out and f"\\:{WORD_JOINER}material" in out
    assert f"https\\:{WORD_JOINER}" in out


def badges(html: str) -> list[str]:
    return re.findall(rf'<sup class="{CITE_CLASS}"[^>]*>&#91;(\d+)&#93;</sup>', html)


def test_extractive_answer_badges_only_the_line_final_marker_the_answerer_added() -> None:
    answer = "文献[1]によれば、計画期間は6年間である。 [1]\n本部は年2回開催する。[2] [2]"
    html = answer_html(answer, cited=[1, 2], mode="extractive")
    assert badges(html) == ["1", "2"]  # the document's own 「[1]」 and 「[2]」 are not badges
    assert "文献&#91;1&#93;によれば" in html and "開催する。&#91;2&#93; " in html


def test_markers_outside_the_citations_are_never_badges() -> None:
    assert badges(answer_html("本文である。 [3]", cited=[1], mode="extractive")) == []
    assert badges(answer_html("本文[3]である[1]。", cited=[1], mode="llm")) == ["1"]


def test_generated_answer_badges_the_models_markers() -> None:
    html = answer_html("期間は6年間です[1]。本部長は市長です[2]。", cited=[1, 2], mode="llm")
    assert badges(html) == ["1", "2"]


def test_unsupported_sentence_keeps_its_badge_inside_the_warning() -> None:
    answer = "根拠のない文である。 [1]\n次の文。 [2]"
    html = answer_html(answer, ["根拠のない文である。 [1]"], cited=[1, 2])
    assert badges(html) == ["1", "2"] and html.count("⚠") == 1


def test_answer_html_escapes_markup_in_the_text() -> None:
    html = answer_html("<script>alert(1)</script> ![x](https://beacon.example/x.png) [1]", cited=[1])
    assert "<script" not in html and "](" not in html and "https://" not in html
