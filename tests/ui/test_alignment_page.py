"""整合表 with many documents: filters by document, level, verdict and chapter, a document column, and a
heat map whose rows are all there with readable labels (ui/alignview.py and the page through AppTest)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
from streamlit.testing.v1 import AppTest

from assistant.align import AlignItem, AlignmentMatrix, AlignmentRow
from assistant.types import Chunk, make_chunk_id
from assistant.users import User
from ui.alignview import HEAT_ROW_PX, NO_CHAPTER, chapter_of, filter_rows, heat_cells, row_views

PAGE = str(Path(__file__).resolve().parents[2] / "ui" / "pages" / "alignment.py")
TOPICS = ["窓口のオンライン化", "デジタル人材の育成", "情報システムの標準化", "データの利活用", "セキュリティ対策"]


def test_chapter_of_takes_the_first_numbered_heading_above_the_item() -> None:
    assert chapter_of("総務省 要約 > 3 取組事項 > 3.1 重点取組事項 > (1) 窓口改革") == "3 取組事項"
    assert chapter_of("国の計画 > 第2章 推進体制 > (3) 人材") == "第2章 推進体制"
    assert chapter_of("県の計画 > ３ 主な取組 > (1) LINE") == "３ 主な取組"  # full-width digits
    assert chapter_of("県の計画 > (1) LINE") == "県の計画"  # no numbered heading: the parent
    assert chapter_of("(1) LINE") == NO_CHAPTER


def synthetic_matrix(n_docs: int = 3, per_doc: int = 87) -> AlignmentMatrix:
    """260-odd rows whose headings repeat from document to document, as real plans' do."""
    rows = []
    for d in range(n_docs):
        for i in range(per_doc):
            section = f"計画{d} > 第{i % 4 + 1}章 分野{i % 4 + 1} > ({i % 9 + 1}) {TOPICS[i % 5]}"
            chunk = Chunk(
                make_chunk_id(f"doc{d}", None, section), f"doc{d}", f"計画{d}", "national" if d else "prefecture",
                "", None, section, "本文", "本文", i,
            )  # fmt: skip
            verdict = ("対応あり", "一部対応", "記載なし")[i % 3]
            rows.append(AlignmentRow(AlignItem(f"doc{d}", section, (chunk,)), verdict, 0.5, [], [], []))  # type: ignore[arg-type]
    return AlignmentMatrix(rows, ["01 市の記述", "02 市の記述"], [[0.1, 0.9]] * len(rows), (0.4, 0.7))


def test_filters_document_column_and_one_heat_map_row_per_item() -> None:
    matrix = synthetic_matrix()
    views = row_views(matrix)
    assert len(views) == 261 and {v.document for v in views} == {"計画0", "計画1", "計画2"}
    labels = {c["項目"] for c in heat_cells(matrix, views)}
    assert len(labels) == 261  # repeated headings stay separate rows (numbered labels)

    one = filter_rows(views, documents={"計画1"})
    assert len(one) == 87 and {v.document for v in one} == {"計画1"}
    assert {v.row.item.level for v in filter_rows(views, levels={"prefecture"})} == {"prefecture"}
    gaps = filter_rows(views, documents={"計画1"}, verdicts={"記載なし"}, chapters={"第2章 分野2"})
    assert gaps and all(v.row.verdict == "記載なし" and v.chapter == "第2章 分野2" for v in gaps)
    assert len(heat_cells(matrix, gaps)) == 2 * len(gaps)
    assert filter_rows(views) == views  # no filter: everything


def write_plan(path: Path, title: str, chapters: int, items: int) -> Path:
    parts = [f"# {title}\n"]
    for c in range(1, chapters + 1):
        parts.append(f"## 第{c}章 施策分野{c}\n")
        for i in range(1, items + 1):
            topic = TOPICS[(c + i) % len(TOPICS)]
            parts.append(f"### ({i}) {topic}の推進\n国は地方公共団体における{topic}を第{c}章の方針として支援する。\n")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def heat_spec(at: AppTest) -> tuple[dict, list[str]]:
    """The heat map's Vega-Lite spec and its row labels, in order, as the browser receives them."""
    chart = at.get("vega_lite_chart")[0].proto
    spec = json.loads(chart.spec)
    if chart.datasets:
        [dataset] = chart.datasets
        labels = pa.ipc.open_stream(dataset.data.data).read_all().column("項目").to_pylist()
    else:
        [values] = spec["datasets"].values()
        labels = [v["項目"] for v in values]
    return spec, list(dict.fromkeys(labels))


def test_alignment_page_with_many_documents(ui_home: Path, tmp_path: Path) -> None:
    from assistant.config import Settings
    from assistant.pipeline import Pipeline
    from assistant.types import SourceInfo
    from ingest.indexer import ingest_file

    pipeline = Pipeline(Settings())
    for doc_id, title, level, chapters, items in (
        ("kuni-model", "国のモデル計画", "national", 4, 8),
        ("ken-plan", "県のデジタル計画", "prefecture", 2, 6),
    ):
        path = write_plan(tmp_path / f"{doc_id}.md", title, chapters, items)
        result = ingest_file(
            pipeline.index, pipeline.settings, path, SourceInfo(doc_id=doc_id, title=title, level=level)
        )
        assert result.ok, result.message

    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["user"] = User("staff1", "staff")
    at.run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    total = len(table)
    assert total >= 44 and {"国のモデル計画", "県のデジタル計画"} <= set(table["文書"])
    assert {"番号", "文書", "章", "区分", "項目", "判定"} <= set(table.columns)
    spec, labels = heat_spec(at)
    assert len(labels) == total  # every row on the heat map, none merged
    assert spec["height"] == {"step": HEAT_ROW_PX}  # one band of its own per row, however many rows
    axis = spec["encoding"]["y"]["axis"]
    assert axis["labelLimit"] == 0 and axis["labelOverlap"] is False  # labels never cut off nor thinned out

    at.multiselect(key="align_docs").set_value(["国のモデル計画"]).run()
    assert set(at.multiselect(key="align_chapters").options) == {f"第{c}章 施策分野{c}" for c in range(1, 5)}
    at.multiselect(key="align_chapters").set_value(["第3章 施策分野3"]).run()
    table = at.dataframe[0].value
    assert len(table) == 8 and set(table["文書"]) == {"国のモデル計画"} and set(table["章"]) == {"第3章 施策分野3"}
    spec, labels = heat_spec(at)
    assert len(labels) == 8 and spec["height"] == {"step": HEAT_ROW_PX}
    assert any(c.value == f"表示中の項目 8 ／ 全 {total} 項目" for c in at.caption)

    verdict = table["判定"].iloc[0]
    at.multiselect(key="align_verdicts").set_value([verdict]).run()
    table = at.dataframe[0].value
    assert set(table["判定"]) == {verdict} and len(table) <= 8
    assert [m.value for m in at.metric if m.label == verdict] == [str(len(table))]

    at.multiselect(key="align_verdicts").set_value([])
    at.multiselect(key="align_docs").set_value([])
    at.multiselect(key="align_levels").set_value(["prefecture"]).run()
    assert not at.exception
    assert at.multiselect(key="align_chapters").value == []  # 第3章 is the national plan's only
    assert set(at.dataframe[0].value["区分"]) == {"県"}


def test_alignment_page_shows_the_right_verdicts_and_verbatim_quotes(ui_home: Path) -> None:
    """On the bundled corpus, rows of eval/alignment/labels.yaml that the engine gets right show their
    labelled verdict, and every quote the page shows is verbatim in the chunk it is attributed to."""
    from assistant.config import Settings
    from assistant.pipeline import Pipeline

    index = Pipeline(Settings()).index
    city = index.document_chunks("atsugi-dx-policy")
    digest = index.document_chunks("jichitai-dx-digest")
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["user"] = User("staff1", "staff")
    at.run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    national = table[table["区分"] == "国"]
    rows = {r["項目"]: r for r in national.to_dict("records")}
    labelled = {  # labels.yaml `rows`, jichitai-dx-digest: the labelled verdict and the evidence section
        "(2) デジタル人材の確保・育成": ("対応あり", None),
        "(5) セキュリティ対策の徹底": ("対応あり", "(3) 情報セキュリティの確保"),
        "(1) 組織体制の整備": ("一部対応", "７ 策定体制等"),
        "(3) 公金収納におけるeLTAXの活用": ("記載なし", None),
        "(4) マイナンバーカードの普及促進・利用の推進": ("記載なし", None),
    }
    for heading, (verdict, section) in labelled.items():
        row = rows[heading]
        assert row["判定"] == verdict, (heading, row)
        assert any(row["国・県の記述"] in c.text and c.section.endswith(heading) for c in digest), heading
        if verdict == "記載なし":
            assert row["市の記述"] == "（該当する記述なし）"
            continue
        sources = [c for c in city if row["市の記述"] in c.text]
        assert sources, (heading, row["市の記述"])  # verbatim in a city chunk
        if section:
            assert any(c.section.endswith(section) for c in sources), (heading, [c.section for c in sources])

    # the drill-down of one row: its verdict line, and each quote above a caption naming its own chunk
    n = int(rows["(5) セキュリティ対策の徹底"]["番号"])
    at.selectbox(key="align_pick").set_value(n).run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert texts[0].startswith("判定: 対応あり（スコア ") and texts[0].endswith("しきい値による判定）")
    captions = [re.sub(r"\\(.)", r"\1", c.value) for c in at.caption]  # without md()'s escapes
    every = [c for d in index.documents() for c in index.document_chunks(d.doc_id)]
    shown = [t for t in texts[1:] if not t.startswith("理由: ")]
    cited = rows["(5) セキュリティ対策の徹底"]["市の記述"]
    assert cited in shown and rows["(5) セキュリティ対策の徹底"]["国・県の記述"] in shown
    for quote in shown:
        if quote == "（該当する記述なし）":
            continue
        owners = [c for c in every if quote in c.text]
        assert owners, quote  # every quote shown is verbatim in some chunk …
        assert any(any(c.section in cap and c.title in cap for c in owners) for cap in captions), quote
    assert any("(3) 情報セキュリティの確保" in cap and "厚木市" in cap for cap in captions)
