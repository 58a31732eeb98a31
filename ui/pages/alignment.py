"""整合表: national / prefectural items against the city text — heat map, table, drill-down, gaps, downloads.

The page only renders: assistant.align builds the matrix and assistant.export the files. Document
text is shown with st.text / st.dataframe, never as HTML.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from assistant.align import VERDICTS, build_matrix
from assistant.errors import DXAError
from assistant.export import matrix_markdown, matrix_xlsx, where
from ui.activity import record_admin_event
from ui.alignview import HEAT_ROW_PX, choices, filter_rows, heat_cells, row_views
from ui.common import get_pipeline, require_role
from ui.render import level_label, md

require_role()
pipeline = get_pipeline()

st.title("整合表")
st.caption(
    "国・県の計画の番号付き項目ごとに、市の資料の対応する記述を探して判定します（判定は目安です。必ず原文を確認してください）。"
)

llm_ready = pipeline.settings.llm.configured
use_llm = st.toggle(
    "生成AIで判定する", value=False, disabled=not llm_ready, help="未設定の場合は類似度のしきい値で判定します。"
)
key = ("matrix", pipeline.index.generation(), use_llm)
if st.button("整合表を作成・更新", type="primary") or st.session_state.get("matrix_key") == key:
    if st.session_state.get("matrix_key") != key:
        try:
            with st.spinner("国・県の項目と市の記述を照合しています…"):
                st.session_state["matrix"] = build_matrix(pipeline, use_llm=use_llm)
                st.session_state["matrix_key"] = key
        except DXAError as exc:
            st.error(md(exc.user_message("ja")))
            st.stop()
matrix = st.session_state.get("matrix") if st.session_state.get("matrix_key") == key else None
if matrix is None:
    st.info("「整合表を作成・更新」を押してください。")
    st.stop()
if not matrix.rows:
    st.warning("国・県の資料に番号付きの項目が見つかりません。資料管理で資料を登録してください。")
    st.stop()
if matrix.notice:
    st.warning(md(matrix.notice))

partial, full = matrix.thresholds
all_views = row_views(matrix)

# -- filters ---------------------------------------------------------------------------------------
st.subheader("絞り込み")
f1, f2, f3, f4 = st.columns(4)
docs = f1.multiselect("文書", choices(all_views, "document"), key="align_docs", placeholder="すべての文書")
levels = f2.multiselect(
    "区分", choices(all_views, "level"), format_func=level_label, key="align_levels", placeholder="すべて"
)
verdicts = f3.multiselect("判定", list(VERDICTS), key="align_verdicts", placeholder="すべて")
in_docs = filter_rows(all_views, documents=docs, levels=levels)  # the chapters of the chosen documents
chapter_options = choices(in_docs, "chapter")
if "align_chapters" in st.session_state:  # keep only the chapters the chosen documents still have
    st.session_state["align_chapters"] = [c for c in st.session_state["align_chapters"] if c in chapter_options]
chapters = f4.multiselect("章", chapter_options, key="align_chapters", placeholder="すべての章")
views = filter_rows(all_views, docs, levels, verdicts, chapters)
st.caption(f"表示中の項目 {len(views)} ／ 全 {len(all_views)} 項目")
if not views:
    st.info("条件に合う項目がありません。絞り込みを変えてください。")
    st.stop()
rows = [v.row for v in views]
c1, c2, c3 = st.columns(3)
c1.metric("対応あり", sum(r.verdict == "対応あり" for r in rows))
c2.metric("一部対応", sum(r.verdict == "一部対応" for r in rows))
c3.metric("記載なし", sum(r.verdict == "記載なし" for r in rows))

# -- heat map ------------------------------------------------------------------------------------
st.subheader("項目 × 市の記述（スコア）")
heat = (
    alt.Chart(pd.DataFrame(heat_cells(matrix, views)))
    .mark_rect()
    .encode(
        x=alt.X("市の記述:N", sort=None, axis=alt.Axis(labelLimit=160, labelAngle=-60)),
        # every row its own 22px band and label: never thinned out (labelOverlap) nor cut (labelLimit 0)
        y=alt.Y("項目:N", sort=None, axis=alt.Axis(title=None, labelLimit=0, labelOverlap=False, labelFontSize=12)),
        color=alt.Color("スコア:Q", scale=alt.Scale(scheme="blues")),
        tooltip=["文書", "項目", "市の記述", alt.Tooltip("スコア:Q", format=".2f")],
    )
    .properties(height=alt.Step(HEAT_ROW_PX))
)
st.altair_chart(heat, width="stretch")
st.caption(f"一部対応 ≥ {partial:g}、対応あり ≥ {full:g}（eval/calibrate_alignment.py で校正）")

# -- table ------------------------------------------------------------------------------------------
st.subheader("整合表")
table = pd.DataFrame(
    [
        {
            "番号": v.n,
            "文書": v.document,
            "章": v.chapter,
            "区分": level_label(v.row.item.level),
            "項目": v.row.item.heading,
            "判定": v.row.verdict,
            "スコア": round(v.row.score, 2),
            "国・県の記述": v.row.source_quotes[0].quote if v.row.source_quotes else "",
            "市の記述": v.row.city_quotes[0].quote if v.row.city_quotes else "（該当する記述なし）",
        }
        for v in views
    ]
)
st.dataframe(table, width="stretch", hide_index=True)

d1, d2 = st.columns(2)
d1.download_button(
    "Excel（.xlsx）で保存（全項目）",
    matrix_xlsx(matrix),
    "整合表.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    on_click=record_admin_event,
    args=("export", "整合表.xlsx"),
)
d2.download_button(
    "Markdown で保存（全項目）",
    matrix_markdown(matrix),
    "整合表.md",
    "text/markdown",
    on_click=record_admin_event,
    args=("export", "整合表.md"),
)

# -- drill-down -----------------------------------------------------------------------------------
st.subheader("項目の詳細")
labels = {v.n: f"【{v.row.verdict}】{v.label}（{v.document}）" for v in views}
pick = st.selectbox("項目を選択", list(labels), format_func=lambda n: labels[n], key="align_pick")
row = matrix.rows[pick - 1]
st.text(
    f"判定: {row.verdict}（スコア {row.score:.2f}、{'生成AI' if row.judged_by == 'llm' else 'しきい値'}による判定）"
)
if row.reason:
    st.text(f"理由: {row.reason}")
left, right = st.columns(2)
with left:
    st.markdown("**国・県の記述**")
    for c in row.source_quotes:
        st.text(c.quote)
        st.caption(md(where(c)))
with right:
    st.markdown("**市の記述**")
    if not row.city_quotes:
        st.text("（該当する記述なし）")
    for c in row.city_quotes:
        st.text(c.quote)
        st.caption(md(where(c)))
    if row.related:
        # near the item but not naming its subject: shown for review, never as evidence
        st.markdown("**関連の可能性（根拠ではありません）**")
        if row.concepts:
            st.caption(md("根拠とするには次の語（または同義語）が必要です: " + "、".join(row.concepts)))
        for c in row.related:
            st.text(c.quote)
            st.caption(md(where(c)))
with st.expander("候補となった市の記述（スコア順）"):
    st.dataframe(
        pd.DataFrame(
            [{"市の記述": m.chunk.section, "スコア": round(m.score, 2), "判定": m.verdict} for m in row.matches]
        ),
        hide_index=True,
        width="stretch",
    )

# -- gaps -------------------------------------------------------------------------------------------
st.subheader("市の資料で取り上げられていない項目（表示中の項目のうち）")
shown = {id(r) for r in rows}
gaps = [r for r in matrix.gaps() if id(r) in shown]
if not gaps:
    st.success("すべての項目に対応する記述があります。")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "順位": i,
                    "判定": r.verdict,
                    "区分": level_label(r.item.level),
                    "項目": r.item.heading,
                    "国・県の記述": r.source_quotes[0].quote if r.source_quotes else "",
                }
                for i, r in enumerate(gaps, start=1)
            ]
        ),
        hide_index=True,
        width="stretch",
    )
