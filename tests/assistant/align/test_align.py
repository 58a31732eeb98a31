"""The alignment matrix on the bundled corpus: `dxa align --json`, calibration accuracy, exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.align import build_matrix, matrix_json, parse_judgement
from assistant.errors import LLMError
from assistant.export import MATRIX_COLUMNS, matrix_markdown, matrix_xlsx
from tests.conftest import make_settings
from ui.cli import main

DIGEST = Path(__file__).resolve().parents[3] / "corpus" / "national" / "jichitai-dx-digest.md"


@pytest.fixture(scope="module")
def matrix(corpus_pipeline):  # type: ignore[no-untyped-def]
    return build_matrix(corpus_pipeline, use_llm=False)


def numbered_priorities() -> list[str]:
    """The (n) headings under 3.1 of the digest, read from the file itself."""
    text = DIGEST.read_text(encoding="utf-8")
    part = text.split("### 3.1", 1)[1].split("### 3.2", 1)[0]
    return re.findall(r"^#### (\(\d\) .+)$", part, re.M)


def test_align_json_has_every_national_priority_with_quotes(
    corpus_pipeline,
    tmp_path: Path,
    embed_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    home = tmp_path / "home"
    make_settings(home, embed_cache)
    monkeypatch.setenv("DXA_HOME", str(home))
    monkeypatch.setenv("DXA_STORE__PATH", str(corpus_pipeline.settings.index_dir))
    capsys.readouterr()
    assert main(["align", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    priorities = numbered_priorities()
    assert len(priorities) == 7
    rows = {r["item"]: r for r in out["rows"] if r["doc_id"] == "jichitai-dx-digest"}
    chunks = {}
    for r in out["rows"]:
        for c in r["citations"]:
            chunks.setdefault(c["chunk_id"], None)
    texts = {c.chunk_id: c.text for c in corpus_pipeline.index.get_chunks(list(chunks))}
    for heading in priorities:
        row = rows[heading]  # every 重点取組事項 is a row
        assert "3.1 自治体DXの重点取組事項" in row["section"]
        assert row["verdict"] in {"対応あり", "一部対応", "記載なし"}
        assert row["source_quotes"], heading
        if row["verdict"] != "記載なし":
            assert row["city_quotes"], heading
        for c in row["citations"]:
            assert c["quote"] and c["quote"] in texts[c["chunk_id"]]
            assert c["level"] == ("city" if c["side"] == "city" else "national")
    assert {
        "item_id",
        "level",
        "doc_id",
        "section",
        "item",
        "verdict",
        "score",
        "source_quotes",
        "city_quotes",
        "citations",
    } <= set(out["rows"][0])
    assert out["gaps"] and all(g["verdict"] in {"記載なし", "一部対応"} for g in out["gaps"])


def test_clear_cases(matrix) -> None:  # type: ignore[no-untyped-def]
    rows = {r.item.heading: r for r in matrix.rows}
    security = rows["(5) セキュリティ対策の徹底"]
    assert security.verdict == "対応あり"
    assert "情報セキュリティ" in security.city_quotes[0].chunk.section
    assert rows["(2) デジタル人材の確保・育成"].verdict == "対応あり"
    gaps = matrix.gaps()
    order = {"記載なし": 0, "一部対応": 1}
    assert [order[g.verdict] for g in gaps] == sorted(order[g.verdict] for g in gaps)
    assert all(g.source_quotes for g in gaps)


def test_calibration_accuracy_on_labelled_set(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    from assistant.pipeline import Pipeline
    from eval.calibrate_alignment import evaluate

    # the pair-level calibration holds for items embedded as queries; the default (stored vectors) is
    # measured at row level by eval/bench_alignment.py (README)
    plan = corpus_pipeline.settings.plan.model_copy(update={"item_vectors": "query"})
    result = evaluate(Pipeline(corpus_pipeline.settings.model_copy(update={"plan": plan})))
    assert result["n"] >= 30
    assert result["configured_accuracy"] >= 0.8
    assert result["loo_accuracy"] >= 0.8  # held-out, not training fit


def test_xlsx_and_markdown_exports(matrix, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    path = tmp_path / "matrix.xlsx"
    path.write_bytes(matrix_xlsx(matrix))
    wb = load_workbook(path)
    ws = wb["整合表"]
    assert tuple(c.value for c in ws[1]) == MATRIX_COLUMNS
    body = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(body) == len(matrix.rows)
    for values, row in zip(body, matrix.rows, strict=True):
        assert values[1] == row.item.heading and values[4].startswith(row.verdict)
        assert row.source_quotes[0].quote in values[2]
        assert "国・県:" in values[5] and row.item.chunks[0].title in values[5]
        if row.verdict != "記載なし":
            assert "市:" in values[5] and row.city_quotes[0].quote in values[3]
    assert ws.column_dimensions["C"].width >= 40 and ws["C2"].alignment.wrap_text
    assert "未対応の項目" in wb.sheetnames

    md = matrix_markdown(matrix)
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table[0] == "| " + " | ".join(MATRIX_COLUMNS) + " |"
    assert len(table) == 2 + len(matrix.rows)
    assert all(line.count("|") == len(MATRIX_COLUMNS) + 1 for line in table)


def test_json_shape(matrix) -> None:  # type: ignore[no-untyped-def]
    out = matrix_json(matrix)
    json.dumps(out, ensure_ascii=False)
    assert len(out["rows"]) == len(matrix.rows)
    assert out["rows"] == [r.to_dict() for r in matrix.rows]
    for data, row in zip(out["rows"], matrix.rows, strict=True):  # each citation is Citation.to_dict() + its side
        sides = [("source", c) for c in row.source_quotes] + [("city", c) for c in row.city_quotes]
        assert data["citations"] == [{"n": c.n, "side": side, **c.to_dict()} for side, c in sides]
        assert [list(x)[:2] for x in data["citations"] + data["related"]] == [["n", "side"]] * (
            len(sides) + len(row.related)
        )


def test_parse_judgement() -> None:
    assert parse_judgement('{"verdict": "一部対応", "passages": [2], "reason": "一部"}', 3) == ("一部対応", [1], "一部")
    assert parse_judgement("判定: 記載なし", 3)[0] == "記載なし"
    with pytest.raises(LLMError):
        parse_judgement("わかりません", 3)


def test_llm_judgement_and_fallback(corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    from assistant.config import LLMSettings
    from assistant.pipeline import Pipeline
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI('{"verdict": "対応あり", "passages": [1], "reason": "市の記述で明示されている"}') as fake:
        settings = corpus_pipeline.settings.model_copy(
            update={"llm": LLMSettings(model="test", base_url=fake.url, api_key="x", timeout_s=5)}
        )
        pipeline = Pipeline(settings)
        m = build_matrix(pipeline)
        assert all(r.judged_by == "llm" for r in m.rows)
        assert "<item" in fake.last_messages[-1]["content"]
        # the model says 対応あり everywhere; the evidence rule re-checks the passages it picked
        for r in m.rows:
            if any(x.evidence for x in r.matches):
                assert (
                    r.verdict == "対応あり"
                    and r.city_quotes
                    and all(x.evidence for x in r.matches[: len(r.city_quotes)])
                )
            else:
                assert r.verdict == "記載なし" and not r.city_quotes and "主題に触れていない" in r.reason
        rows = {r.item.heading: r for r in m.rows}
        assert rows["(3) 公金収納におけるeLTAXの活用"].verdict == "記載なし"
        assert rows["(5) セキュリティ対策の徹底"].verdict == "対応あり"
        assert build_matrix(pipeline) is m  # an LLM matrix is cached too (same index, same model)
        fake.status = 500
        m = build_matrix(pipeline, cache=False)
        assert m.notice and all(r.judged_by == "threshold" for r in m.rows)
