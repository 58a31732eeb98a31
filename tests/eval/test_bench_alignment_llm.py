"""`python -m eval.bench_alignment --llm` against the local OpenAI-protocol server (tests/fake_openai.py).

The labelled rows of the bundled documents go through the real LLM path (prompt builder, ChatOpenAI
client, JSON parsing, evidence / quote re-check); the fake answers well-formed judgements quoting
passage 1, malformed JSON for one row and a made-up quote for another. The four 体系 sections are
drafted through the same client and checked with `check_draft`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.align import ALIGN_SYSTEM, Match, build_align_prompt, build_matrix, city_chunks, find_items
from assistant.align.judge import QUOTE_NOT_FOUND
from assistant.answer.citations import split_sentences
from assistant.config import LLMSettings
from assistant.pipeline import Pipeline
from assistant.prompts import format_passage
from assistant.types import Hit
from eval import bench_alignment as bench
from eval import bench_alignment_llm as bench_llm
from tests.conftest import make_settings
from tests.fake_openai import FakeOpenAI

MALFORMED_ITEM = "(1) 組織体制の整備"  # the fake answers broken JSON for this row
MADE_UP_ITEM = "(5) セキュリティ対策の徹底"  # ... and a quote the city never wrote for this one
MADE_UP_QUOTE = "本市は令和10年度までに全庁のサーバーを月面データセンターへ移転する。"
INVENTED_SECTION = "地域社会のＤＸ"  # the draft of this section gets one sentence no passage supports
INVENTED = "本市は全市民に無料の空飛ぶ車を配布する[1]。"
PASSAGE = re.compile(r"<passage [^>]*>\n.*?\n</passage>", re.S)


def first_sentence(block: str) -> str:
    body = block.split("\n", 1)[1].rsplit("\n</passage>", 1)[0]
    sentences = [s for s in split_sentences(body) if not s.startswith("#")] or [body]
    return max(sentences, key=len)  # the longest: a content sentence, not a title line


def reply(messages: list[dict[str, Any]]) -> str:
    system, user = messages[0]["content"], messages[-1]["content"]
    blocks = PASSAGE.findall(user)
    if system == ALIGN_SYSTEM:
        heading = user.split("\n")[1]
        if heading == MALFORMED_ITEM:
            return '{"verdict": "判定不能", "passages": [1, '
        quote = MADE_UP_QUOTE if heading == MADE_UP_ITEM else first_sentence(blocks[0])
        return f'{{"verdict": "対応あり", "passages": [{{"n": 1, "quote": "{quote}"}}], "reason": "市の記述にある"}}'
    title = re.search(r"<section>(.*)</section>", user)
    extra = f"\n{INVENTED}" if title and title.group(1) == INVENTED_SECTION else ""
    sentence = first_sentence(blocks[0]).rstrip("。")
    return f"## 背景\n{sentence}[1]。{extra}\n## 本市の方向性（案）\n【要記入：本市の取組】"


@pytest.fixture(scope="module")
def labelled(corpus_pipeline):  # type: ignore[no-untyped-def]
    plan = corpus_pipeline.settings.plan
    items = find_items(corpus_pipeline, plan)
    labels = yaml.safe_load(bench.DEFAULT_LABELS.read_text(encoding="utf-8"))
    rows = bench.labelled_rows(items, labels, {it.doc_id for it in items})  # the bundled documents' rows
    return items, rows


def test_labelled_rows_and_drafts_through_the_llm_path(corpus_pipeline, labelled) -> None:  # type: ignore[no-untyped-def]
    items, rows = labelled
    assert len(rows) >= 10
    headings = [items[r.index].heading for r in rows]
    assert MALFORMED_ITEM in headings and MADE_UP_ITEM in headings
    plan = corpus_pipeline.settings.plan
    threshold = {r.item.item_id: r for r in build_matrix(corpus_pipeline, use_llm=False).rows}
    city = city_chunks(corpus_pipeline, plan)
    with FakeOpenAI(reply) as fake:
        llm = LLMSettings(model="test", base_url=fake.url, api_key="x", timeout_s=10)
        pipeline = Pipeline(corpus_pipeline.settings.model_copy(update={"llm": llm}))
        run = bench_llm.llm_rows(pipeline, [r.index for r in rows], items, plan)
        align_requests = list(fake.requests)
        drafts = bench_llm.llm_drafts(pipeline)

    # every labelled row was asked once, with exactly what the prompt builder writes for its candidates
    assert len(align_requests) == len(rows)
    asked = {}
    for body in align_requests:
        system, user = (m["content"] for m in body["messages"][-2:])
        blocks = PASSAGE.findall(user)
        chunks = [
            next(c for c in city if format_passage(n, Hit(chunk=c, score=0.0)) == b) for n, b in enumerate(blocks, 1)
        ]
        item = next(items[r.index] for r in rows if user.split("\n")[1] == items[r.index].heading)
        matches = [Match(c, 0.0, "記載なし") for c in chunks]
        assert (system, user) == build_align_prompt(item, matches)
        assert len(chunks) == plan.top_k * 2
        asked[item.item_id] = chunks
    assert set(asked) == {items[r.index].item_id for r in rows}

    by_heading = {row.item.heading: row for row in run.rows}
    # malformed JSON: counted, and the row keeps the threshold verdict and evidence
    bad = by_heading[MALFORMED_ITEM]
    assert run.status["unreadable"] == 1 and bad.llm_status == "unreadable" and bad.judged_by == "threshold"
    assert bad.verdict == threshold[bad.item.item_id].verdict
    # the made-up quote is dropped by the re-check and never shown; the judgement is rejected
    made_up = by_heading[MADE_UP_ITEM]
    assert run.status["rejected"] == 1 and made_up.llm_status == "rejected" and made_up.judged_by == "threshold"
    assert made_up.dropped == [f"passage 1: {QUOTE_NOT_FOUND}"] and run.dropped[QUOTE_NOT_FOUND] == 1
    assert all(MADE_UP_QUOTE not in c.quote for r in run.rows for c in r.citations)
    assert made_up.verdict == threshold[made_up.item.item_id].verdict
    # the well-formed rows are judged by the model; its verified quote is shown as the evidence
    good = [r for r in run.rows if r.item.heading not in (MALFORMED_ITEM, MADE_UP_ITEM)]
    assert run.status["ok"] == len(good) == len(rows) - 2 and all(r.judged_by == "llm" for r in good)
    for row in good:
        assert all(c.quote and c.quote in c.chunk.text for c in row.city_quotes)
        first = asked[row.item.item_id][0]
        if row.verdict != "記載なし" and row.city_quotes[0].chunk.chunk_id == first.chunk_id:
            assert row.city_quotes[0].quote == first_sentence(format_passage(1, Hit(chunk=first, score=0.0)))
    assert any(r.verdict == "対応あり" and r.city_quotes for r in good)
    # picks of passages that do not name the item's subject are dropped too
    assert run.dropped["項目の主題に触れていない"] == sum(
        "主題に触れていない" in note for r in run.rows for note in r.dropped if note.startswith("passage")
    )
    acc, prec, _, _ = bench.figures(rows, bench.Outcome(run.verdicts, run.shown))
    assert 0.0 <= acc <= 1.0 and 0.0 <= prec <= 1.0

    # drafts: each section through the model; the check flags exactly the invented sentence
    assert [d.section for d in drafts] == list(bench_llm.SECTIONS) and all(d.ok for d in drafts)
    for d in drafts:
        assert d.headings == ["背景", "本市の方向性（案）"] and d.sentences >= 1 and d.unknown == []
        assert d.unsupported == ([INVENTED] if d.section == INVENTED_SECTION else []), d.section


def test_bench_llm_flag_prints_the_counts(
    corpus_pipeline, tmp_path: Path, embed_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    make_settings(home, embed_cache)
    with FakeOpenAI(reply) as fake:
        for key, value in {
            "HOME": str(home),
            "LLM__MODEL": "test",
            "LLM__BASE_URL": fake.url,
            "LLM__API_KEY": "x",
        }.items():
            monkeypatch.setenv(f"DXA_{key}", value)
        store = str(corpus_pipeline.settings.index_dir)
        monkeypatch.setattr(sys, "argv", ["bench_alignment", "--store", store, "--llm", "--indexed-only"])
        capsys.readouterr()
        bench.main()
    out = capsys.readouterr().out
    assert "1 unreadable" in out and "1 rejected" in out and "1 picks quoting text not in the passage" in out
    assert re.search(r"draft 地域社会のＤＸ: \d+ sentences checked, 1 unsupported", out)
    assert len(re.findall(r"draft .*: \d+ sentences checked, 0 unsupported, 0 unknown markers", out)) == 3
