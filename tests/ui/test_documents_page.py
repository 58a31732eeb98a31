"""資料管理 through AppTest: an upload (a background job) and a removal leave the page whole, with a fresh
list and count, and the form does not carry the last upload's 区分 into the next one."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from assistant.users import User
from tests.factories import make_pdf
from tests.ui.test_apptest import plain, wait_for_jobs

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "ui" / "pages" / "documents.py")
TIMEOUT = 120


def admin_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state["user"] = User("admin1", "admin")
    return at.run()


def count_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if "文書 " in c.value and " 件" in c.value)


def listed(at: AppTest) -> set[str]:
    return set(at.dataframe[0].value["文書ID"])


def test_upload_then_removal_refreshes_the_page_and_resets_the_form(ui_home: Path, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "kaigi.pdf", ["厚木市DX推進本部会議の議事録である。\n電子申請の拡大を決定した。"])
    at = admin_page()
    assert not at.exception
    before = listed(at)
    assert "kaigi" not in before and count_caption(at).endswith(f"文書 {len(before)} 件")
    assert at.selectbox(key="upload_level").value is None  # 区分 is chosen for each upload

    at.file_uploader[0].set_value(("kaigi.pdf", pdf.read_bytes(), "application/pdf"))
    at.text_input(key="upload_title").input("推進本部会議 議事録")
    at.selectbox(key="upload_level").set_value("national")
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("索引の登録を受け付けました" in plain(s.value) for s in at.success)  # a background job indexes it
    at = wait_for_jobs(at, ui_home)
    assert listed(at) == before | {"kaigi"}  # no 一覧を更新 needed: list and count are fresh when the job ends
    assert count_caption(at).endswith(f"文書 {len(before) + 1} 件")
    assert at.selectbox(key="upload_level").value is None  # the 国 choice does not carry over
    assert at.text_input(key="upload_title").value == ""
    assert not at.file_uploader[0].value  # a fresh uploader, not the last file
    assert any(o.startswith("kaigi") for o in at.selectbox(key="manage_doc").options)

    # a second upload without a 区分 is refused rather than filed under the last one's
    at.file_uploader[0].set_value(("kaigi2.pdf", pdf.read_bytes(), "application/pdf"))
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["区分（市・県・国・その他）を選んでください。"]
    assert listed(at) == before | {"kaigi"}

    at.selectbox(key="manage_doc").set_value("kaigi").run()
    at.checkbox(key="confirm_remove").check().run()
    at.button(key="remove").click().run()
    assert not at.exception, at.exception  # was: SyntaxError: '(' was never closed
    assert not at.error
    assert [s.value for s in at.success if plain(s.value).startswith("削除しました: kaigi")]
    assert listed(at) == before  # the removed document is gone from the list at once
    assert count_caption(at).endswith(f"文書 {len(before)} 件")
    assert not any(o.startswith("kaigi") for o in at.selectbox(key="manage_doc").options)
    assert at.selectbox(key="manage_doc").value in before
    assert at.checkbox(key="confirm_remove").value is False  # the next removal needs a new confirmation
    assert at.button(key="remove").disabled


def test_a_word_document_is_accepted_and_indexed(ui_home: Path, tmp_path: Path) -> None:
    from tests.factories import make_docx

    docx = make_docx(tmp_path / "sokeikaku.docx")
    at = admin_page()
    uploader = at.file_uploader[0]
    assert ".docx" in list(uploader.proto.type) and "Word（.docx）" in uploader.proto.label  # from the registry
    uploader.set_value(("sokeikaku.docx", docx.read_bytes(), "application/octet-stream"))
    at.selectbox(key="upload_level").set_value("city")
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at = wait_for_jobs(at, ui_home)
    assert "sokeikaku" in listed(at)
