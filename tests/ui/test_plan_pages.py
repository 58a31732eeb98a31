"""The 整合表 and 起草支援 pages through Streamlit's AppTest, over the bundled corpus index."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from assistant.config import REPO_ROOT

PAGES = REPO_ROOT / "ui" / "pages"


@pytest.fixture
def page_env(corpus_pipeline, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DXA_HOME", str(corpus_pipeline.settings.home))
    monkeypatch.setenv("DXA_STORE__PATH", str(corpus_pipeline.settings.index_dir))
    import streamlit as st

    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def run_page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=180)
    at.session_state["user"] = SimpleNamespace(name="staff1", role="staff")
    return at.run()


def test_pages_refuse_without_login() -> None:
    for name in ("alignment.py", "drafting.py"):
        at = AppTest.from_file(str(PAGES / name), default_timeout=60).run()
        assert any("ログイン" in e.value for e in at.error)


def test_alignment_page(page_env) -> None:  # type: ignore[no-untyped-def]
    at = run_page("alignment.py")
    at.button[0].click().run()
    assert not at.exception
    assert [m.label for m in at.metric] == ["対応あり", "一部対応", "記載なし"]
    assert len(at.dataframe) >= 3  # table, candidates, gaps
    texts = [t.value for t in at.text]
    assert any(t.startswith("判定: ") for t in texts)


def test_drafting_page_flags_edited_sentence(page_env) -> None:  # type: ignore[no-untyped-def]
    at = run_page("drafting.py")
    at.button[0].click().run()  # form submit
    assert not at.exception
    text = at.text_area[0].value
    assert "## 国の方針" in text and "## 出典" in text
    at.text_area[0].set_value(text.replace("## 背景\n", "## 背景\n本市は全庁で紙を廃止する[1]。\n")).run()
    next(b for b in at.button if b.label == "出典チェック").click().run()
    assert any("本市は全庁で紙を廃止する" in t.value for t in at.text)


def test_drafts_and_downloads_go_to_the_audit_log(page_env, corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    from assistant.audit import AuditLog

    log = AuditLog.from_settings(corpus_pipeline.settings)
    before = {e.id for e in log.events()}
    at = run_page("drafting.py")
    at.button[0].click().run()  # form submit: a draft
    at.download_button[0].click().run()  # Word
    at = run_page("alignment.py")
    at.button[0].click().run()
    at.download_button[0].click().run()  # Excel
    assert not at.exception
    new = [(e.user, e.kind, e.detail) for e in reversed(log.events()) if e.id not in before]
    assert [(u, k) for u, k, _ in new] == [("staff1", "draft"), ("staff1", "export"), ("staff1", "export")]
    assert new[1][2].endswith(".docx") and new[2][2] == "整合表.xlsx"


def test_alignment_page_shows_related_passages_apart_from_evidence(page_env, corpus_pipeline) -> None:  # type: ignore[no-untyped-def]
    from assistant.align import build_matrix

    matrix = build_matrix(corpus_pipeline)
    rows = [(n, r) for n, r in enumerate(matrix.rows, start=1) if r.verdict == "記載なし" and r.related]
    assert rows, "the bundled corpus has gap rows with near (non-evidence) city passages"
    n, row = rows[0]
    at = run_page("alignment.py")
    at.button[0].click().run()
    at.selectbox(key="align_pick").set_value(n).run()
    assert not at.exception
    assert any(m.value == "**関連の可能性（根拠ではありません）**" for m in at.markdown)
    texts = [t.value for t in at.text]
    assert "（該当する記述なし）" in texts  # no evidence on the city side
    assert all(c.quote in texts for c in row.related)  # the near passages, shown apart
    assert any(t.startswith("判定: 記載なし") for t in texts)
