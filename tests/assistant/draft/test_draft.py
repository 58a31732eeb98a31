"""Drafting: the skeleton without an LLM, prose with the fake LLM server, check_draft, docx, compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.citations import markers, split_sentences
from assistant.compare import Statement, compare_statements, statements_of_text
from assistant.draft import HEADINGS, check_draft, make_draft, skeleton
from assistant.export import draft_docx, draft_markdown, read_docx_text

TITLE, INTENT = "行政事務のＤＸ", "「行政事務のＤＸ」の施策の方向性"
INVENTED = "本市は令和10年度までに全職員にスマートフォンを配布し、紙の申請書を全廃する[1]。"


@pytest.fixture(scope="module")
def draft(corpus_pipeline):  # type: ignore[no-untyped-def]
    return skeleton(corpus_pipeline, TITLE, INTENT, "dearu")


def test_skeleton_has_headings_and_cited_exact_quotes(draft) -> None:  # type: ignore[no-untyped-def]
    assert [s.heading for s in draft.sections] == [h for h, _ in HEADINGS]
    by_n = {c.n: c for c in draft.citations}
    filled = [x for s in draft.sections for x in s.sentences if not x.placeholder]
    assert len(filled) >= 4
    for x in filled:
        assert x.citations and markers(x.text) == x.citations
        c = by_n[x.citations[0]]
        assert c.quote in c.chunk.text  # exact substring of the stored text
    levels = {s.heading: {by_n[n].chunk.level for x in s.sentences for n in x.citations} for s in draft.sections}
    assert levels["国の方針"] <= {"national"} and levels["県の方針"] <= {"prefecture"}
    direction = draft.sections[-1].sentences
    assert not any(x.placeholder for x in direction)  # built from the city text and the gap list
    consider = [x for x in direction if x.kind == "consider"]
    assert consider and all(x.text.startswith("【検討】") and x.citations for x in consider)
    assert all(by_n[x.citations[0]].chunk.level in {"national", "prefecture"} for x in consider)
    assert any(x.kind == "quote" and by_n[x.citations[0]].chunk.level == "city" for x in direction)


SECTIONS = ("市民サービスのＤＸ", "地域社会のＤＸ", "行政事務のＤＸ", "ＤＸ推進基盤の整備")


@pytest.mark.parametrize("title", SECTIONS)
def test_dearu_drafts_of_the_four_sections_read_as_drafts(corpus_pipeline, title: str) -> None:  # type: ignore[no-untyped-def]
    from assistant.align import is_content
    from assistant.draft import PARAPHRASE_NOTE, has_polite_ending
    from assistant.draft.skeleton import _UNCONFIRMED

    d = skeleton(corpus_pipeline, title, "", "dearu")
    by_n = {c.n: c for c in d.citations}
    sentences = [x for s in d.sections for x in s.sentences]
    assert all(not has_polite_ending(x.text) for x in sentences)  # 0 です・ます endings
    assert all(x.citations for x in sentences if not x.placeholder)  # every sentence cited
    for x in sentences:
        for n in x.citations:
            quote = by_n[n].quote
            assert quote in by_n[n].chunk.text  # the 出典 keeps the exact quote
            assert is_content(quote, by_n[n].chunk.title), quote  # headings never become sentences
            assert not _UNCONFIRMED.search(quote), quote  # digest notes / unconfirmed statements
    assert any(x.paraphrase for x in sentences) and PARAPHRASE_NOTE in d.text
    national = [by_n[n].quote for x in d.sections[1].sentences for n in x.citations]
    assert national and any(w in national[0] for w in ("地方公共団体", "自治体", "市区町村", "市町村"))
    check = check_draft(draft_markdown(d), corpus_pipeline)
    assert check.unsupported == [] and check.unknown_markers == [] and check.sentences >= 6


def test_check_draft_accepts_skeleton_and_flags_invented_sentence(corpus_pipeline, draft) -> None:  # type: ignore[no-untyped-def]
    md = draft_markdown(draft)
    assert check_draft(md, corpus_pipeline).unsupported == []
    edited = md.replace("## 本市の方向性（案）\n", "## 本市の方向性（案）\n" + INVENTED + "\n本市は窓口を改革する。\n")
    result = check_draft(edited, corpus_pipeline)
    assert INVENTED in result.unsupported
    assert "本市は窓口を改革する。" in result.unsupported  # no marker at all
    dangling = md.replace("## 出典", "新しい施策を進める[42]。\n\n## 出典")
    assert check_draft(dangling, corpus_pipeline).unknown_markers == [42]


def test_docx_roundtrip(corpus_pipeline, draft, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from docx import Document

    path = tmp_path / "draft.docx"
    path.write_bytes(draft_docx(draft))
    doc = Document(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings == [h for h, _ in HEADINGS] + ["出典"]
    texts = [p.text for p in doc.paragraphs]
    first = next(x.text for s in draft.sections for x in s.sentences if not x.placeholder)
    assert first in texts
    assert sum(t.startswith(f"[{c.n}] ") for t in texts for c in draft.citations) == len(draft.citations)
    assert check_draft(read_docx_text(path), corpus_pipeline).unsupported == []


def test_llm_draft_with_fake_server(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    from assistant.config import LLMSettings
    from assistant.pipeline import Pipeline
    from tests.fake_openai import FakeOpenAI

    def reply(messages):  # type: ignore[no-untyped-def]
        user = messages[-1]["content"]
        # cite passage 1 with a sentence taken from it, and add one sentence no passage supports
        start = user.index("<passage ")
        body = user[user.index("\n", start) + 1 : user.index("</passage>", start)]
        sentence = next(s for s in split_sentences(body) if len(s) > 20 and not s.startswith("#"))
        return f"## 背景\n{sentence.rstrip('。')}[1]。\n## 本市の方向性（案）\n本市は火星に支所を設置する[1]。"

    with FakeOpenAI(reply) as fake:
        settings = corpus_pipeline.settings.model_copy(
            update={"llm": LLMSettings(model="test", base_url=fake.url, api_key="x", timeout_s=5)}
        )
        d = make_draft(Pipeline(settings), TITLE, INTENT, "desumasu")
        assert d.mode == "llm" and [s.heading for s in d.sections] == ["背景", "本市の方向性（案）"]
        assert all(markers(x.text) for s in d.sections for x in s.sentences)
        assert d.unsupported == ["本市は火星に支所を設置する[1]。"]
        assert d.citations and all(c.quote in c.chunk.text for c in d.citations)
        assert "ですます調" in fake.requests[-1]["messages"][0]["content"]
        fake.status = 500
        d = make_draft(Pipeline(settings), TITLE, INTENT)
        assert d.mode == "skeleton" and d.notice


def test_compare_new_kept_dropped() -> None:
    old = [
        Statement("1", "行政手続のオンライン化を推進し、市民の利便性を高める。"),
        Statement("2", "ファクスによる申請受付を拡充する。"),
    ]
    new = statements_of_text(
        "# 新計画\n## 1\n行政手続のオンライン化を推進し、市民の利便性を高める[1]。\n## 3\n生成AIを活用して業務を効率化する。\n"
        "## 出典\n- [1] 旧計画"
    )
    result = compare_statements(old, new, 0.5)
    assert [p.new.text for p in result.kept] == ["行政手続のオンライン化を推進し、市民の利便性を高める[1]。"]
    assert [s.text for s in result.new] == ["生成AIを活用して業務を効率化する。"]
    assert [s.text for s in result.dropped] == ["ファクスによる申請受付を拡充する。"]


def test_cli_draft_check_and_compare(corpus_pipeline, draft, tmp_path, embed_cache, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_settings
    from ui.cli import main

    home = tmp_path / "home"
    make_settings(home, embed_cache)
    monkeypatch.setenv("DXA_HOME", str(home))
    monkeypatch.setenv("DXA_STORE__PATH", str(corpus_pipeline.settings.index_dir))
    md = tmp_path / "draft.md"
    md.write_text(draft_markdown(draft).replace("## 背景\n", "## 背景\n" + INVENTED + "\n"), encoding="utf-8")
    capsys.readouterr()
    assert main(["draft", "check", str(md)]) == 1
    assert INVENTED in capsys.readouterr().out
    assert main(["draft", "compare", "atsugi-dx-policy", str(md), "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["kept"] and out["added"] and out["dropped"]
