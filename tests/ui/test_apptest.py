"""The Streamlit app through AppTest: login gate, roles, chat with citations, audit log, feedback,
safe rendering of hostile documents, 資料管理, 監査ログ, ユーザー管理 and 地図."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assistant.audit import AuditLog
from assistant.errors import AuthError
from assistant.users import User, UserStore
from ingest.jobs import JobStore
from tests.factories import make_corrupt_pdf, make_pdf
from tests.ui.conftest import PASSWORDS, XSS_QUESTION

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
PAGES = ROOT / "ui" / "pages"
QUESTION = "計画の期間はいつからいつまでですか"
ADMIN_PAGES = ("ui/pages/documents.py", "ui/pages/audit_log.py", "ui/pages/users.py")
TIMEOUT = 120


def plain(shown: str) -> str:
    """Markdown-escaped text as the browser shows it (backslash escapes and word joiners removed)."""
    return shown.replace("\\", "").replace("\u2060", "")


def all_markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def login(name: str, password: str | None = None) -> AppTest:
    at = app()
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password or PASSWORDS[name])
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def test_not_logged_in_sees_only_the_login_page(ui_home: Path) -> None:
    at = app()
    assert not at.exception
    assert [t.value for t in at.title] == ["厚木市DX推進計画 策定支援アシスタント"]
    assert {w.key for w in at.text_input} == {"login_name", "login_password"}
    assert not at.dataframe and not at.chat_input and not at.sidebar.button  # no data, no logout, no chat
    for page in ("ui/pages/chat.py", "ui/pages/map.py", "ui/pages/source.py", *ADMIN_PAGES):
        with pytest.raises(ValueError):  # not in the navigation at all
            at.switch_page(page)


def test_pages_refuse_without_login(ui_home: Path) -> None:
    for page in ("chat.py", "source.py", "map.py", "documents.py", "audit_log.py", "users.py"):
        at = AppTest.from_file(str(PAGES / page), default_timeout=TIMEOUT).run()
        assert [e.value for e in at.error] == ["ログインしてください。"], page
        assert not at.dataframe and not at.chat_input, page


def test_wrong_password_is_refused(ui_home: Path) -> None:
    at = login("staff1", "not-the-password")
    assert "ユーザー名またはパスワードが正しくありません" in at.error[0].value
    assert at.session_state.get("user") is None
    assert not at.chat_input


def test_repeated_wrong_passwords_lock_the_name_until_an_admin_unlocks_it(ui_home: Path) -> None:
    for _ in range(5):  # the default limit
        at = login("staff1", "not-the-password")
    assert "ロックされています" in at.error[0].value
    at = login("staff1")  # the right password does not open it now
    assert "ロックされています" in at.error[0].value and at.session_state.get("user") is None

    at = login("admin1")
    at.switch_page("ui/pages/users.py").run()
    assert not at.exception
    assert list(at.dataframe[0].value["状態"]) == ["", "ロック中"]  # admin1, staff1
    at.selectbox(key="unlock_name").select("staff1")
    at.button(key="unlock_user").click().run()
    assert not at.exception
    at = login("staff1")
    assert at.session_state["user"].name == "staff1" and at.chat_input
    at.button(key="logout").click().run()

    # every step is in the audit log, which the admin sees on 監査ログ
    events = [(e.user, e.kind) for e in reversed(AuditLog(ui_home / "audit.sqlite").events())]
    assert events == [
        *[("staff1", "login_failed")] * 5,
        ("staff1", "login_locked"),
        ("admin1", "login"),
        ("admin1", "user_unlock"),
        ("staff1", "login"),
        ("staff1", "logout"),
    ]
    at = login("admin1")
    at.switch_page("ui/pages/audit_log.py").run()
    table = at.dataframe[1].value
    assert list(table["操作"])[:3] == ["ログイン", "ログアウト", "ログイン"]


def test_staff_asks_and_gets_a_cited_answer_logged_with_feedback(ui_home: Path) -> None:
    at = login("staff1")
    assert at.title[0].value == "チャット"
    assert [b.key for b in at.sidebar.button if b.key == "logout"] == ["logout"]
    ask(at, QUESTION)
    text = all_markdown(at)
    assert "令和9" in text and "2027" in text and "令和14" in text
    labels = [e.label for e in at.expander]
    assert any("atsugi" in lbl or "厚木" in lbl for lbl in labels), labels  # a citation of the city plan
    assert any("資料抜粋" in c.value for c in at.caption)
    assert any("令和9" in c.value and "出典:" in c.value for c in at.code)  # copyable text with sources

    log = AuditLog(ui_home / "audit.sqlite")
    runs = log.query()
    assert len(runs) == 1
    run = runs[0]
    assert run.user == "staff1" and run.question == QUESTION and run.mode == "extractive"
    assert run.citations and run.retrieved and run.settings_fingerprint
    assert {c["chunk_id"] for c in run.citations} <= set(run.retrieved)
    assert run.timings["total_ms"] > 0

    at.text_input(key=f"comment-{run.id}").input("期間の根拠が弱い")
    at.button(key=f"down-{run.id}").click().run()
    assert not at.exception
    down = log.list_feedback("down")
    assert [(f.run_id, f.user, f.comment) for f in down] == [(run.id, "staff1", "期間の根拠が弱い")]
    assert any("評価済み" in c.value for c in at.caption)

    # The conversation survives a logout/login through the audit log.
    at.button(key="logout").click().run()
    assert at.session_state.get("user") is None and not at.chat_input
    at = login("staff1")
    assert QUESTION not in all_markdown(at)
    at.sidebar.button(key="restore").click().run()
    assert QUESTION in all_markdown(at)


def test_staff_cannot_reach_admin_pages(ui_home: Path) -> None:
    at = login("staff1")
    for page in ADMIN_PAGES:
        with pytest.raises(ValueError):
            at.switch_page(page)
    for page in ("documents.py", "audit_log.py", "users.py"):  # and each page refuses by itself
        direct = AppTest.from_file(str(PAGES / page), default_timeout=TIMEOUT)
        direct.session_state["user"] = User("staff1", "staff")
        direct.run()
        assert [e.value for e in direct.error] == ["この画面を利用する権限がありません。"], page
        assert not direct.dataframe


def test_admin_pages(ui_home: Path) -> None:
    at = login("admin1")
    ask(at, QUESTION)
    at.switch_page("ui/pages/documents.py").run()
    assert not at.exception and at.title[0].value == "資料管理"
    docs = at.dataframe[0].value
    assert {"atsugi-dx-policy", "xss-test", "facilities"} <= set(docs["文書ID"])

    at.switch_page("ui/pages/audit_log.py").run()
    assert not at.exception and at.title[0].value == "監査ログ"
    assert list(at.dataframe[0].value["質問"]) == [QUESTION]

    at.switch_page("ui/pages/users.py").run()
    assert not at.exception
    at.text_input(key="new_name").input("suzuki")
    at.text_input(key="new_password").input("suzuki-pass-1")
    at.text_input(key="new_password2").input("suzuki-pass-1")
    at.button[0].click().run()
    assert not at.exception and any("追加しました: suzuki" in plain(s.value) for s in at.success)
    assert UserStore(ui_home / "users.sqlite").verify("suzuki", "suzuki-pass-1").role == "staff"


def wait_for_jobs(at: AppTest, home: Path, timeout_s: float = 600) -> AppTest:
    """Wait for the upload jobs' processes to end (however fast the machine), then rerun the page."""
    store, deadline = JobStore(home / "jobs.sqlite"), time.time() + timeout_s
    while any(j.active for j in store.recent()):
        assert time.time() < deadline, "upload job did not end"
        time.sleep(0.5)
    return at.run()


def job_states(at: AppTest) -> list[str]:
    """The job lines on 資料管理, newest first, as the browser shows them (the Markdown escapes removed)."""
    lines = [m.value.replace("\\", "") for m in at.markdown if m.value[:1] in "⏳⚙✅❌"]
    lines += [p.proto.text.replace("\\", "") for p in at.get("progress")]
    return [line.split(": ", 1)[1] for line in lines]


def test_admin_uploads_indexes_and_removes(ui_home: Path, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "kaigi.pdf", ["厚木市DX推進本部会議の議事録である。\n電子申請の拡大を決定した。"])
    at = login("admin1")
    at.switch_page("ui/pages/documents.py").run()
    at.file_uploader[0].set_value(("kaigi.pdf", pdf.read_bytes(), "application/pdf"))
    at.text_input(key="upload_title").input("推進本部会議 議事録")
    at.selectbox(key="upload_level").set_value("city")
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("索引の登録を受け付けました" in plain(s.value) for s in at.success)  # indexing runs in its own process
    assert job_states(at)[0].startswith(("待機中", "読み込み中…", "索引中", "完了")), job_states(at)
    wait_for_jobs(at, ui_home)
    assert job_states(at)[0].startswith("完了: 追加しました")
    assert list((ui_home / "uploads").glob("*-kaigi.pdf"))
    assert "kaigi" in set(at.dataframe[0].value["文書ID"])  # the list refreshed when the job ended

    bad = make_corrupt_pdf(tmp_path / "broken.pdf")
    at.file_uploader[0].set_value(("broken.pdf", bad.read_bytes(), "application/pdf"))
    at.selectbox(key="upload_level").set_value("city")  # chosen for each upload
    at.button[0].click().run()
    wait_for_jobs(at, ui_home)
    assert not at.exception
    state = job_states(at)[0]
    assert state.startswith("失敗: ") and "broken" in state, state
    assert not list((ui_home / "uploads").glob("*-broken.pdf"))

    at.switch_page("ui/pages/chat.py").run()
    at.switch_page("ui/pages/documents.py").run()  # the job list survives a page change
    assert len(job_states(at)) == 2
    at.selectbox(key="manage_doc").set_value("kaigi").run()
    at.checkbox(key="confirm_remove").check().run()
    at.button(key="remove").click().run()
    assert not at.exception, at.exception
    assert any("削除しました: kaigi" in plain(s.value) for s in at.success)
    assert "kaigi" not in set(at.dataframe[0].value["文書ID"])


def test_a_removed_or_locked_user_is_logged_out_on_the_next_click(ui_home: Path) -> None:
    users = UserStore(ui_home / "users.sqlite")
    at = login("staff1")
    assert at.chat_input
    users.remove("staff1")
    ask_after = at.chat_input[0].set_value(QUESTION).run()  # the question of the open session is not answered
    assert not ask_after.exception and not ask_after.chat_input and ask_after.session_state.get("user") is None
    assert {w.key for w in ask_after.text_input} == {"login_name", "login_password"}
    assert AuditLog(ui_home / "audit.sqlite").query() == []  # nothing answered, nothing logged

    users.add("staff2", "staff-password-2", "staff")
    at = login("staff2", "staff-password-2")
    assert at.chat_input
    for _ in range(5):  # someone else locks the name
        with pytest.raises(AuthError):
            users.verify("staff2", "wrong-password")
    at.run()
    assert not at.chat_input and at.session_state.get("user") is None


def test_a_role_change_takes_effect_at_once(ui_home: Path) -> None:
    at = login("admin1")
    at.switch_page("ui/pages/documents.py").run()
    assert at.title[0].value == "資料管理"
    with sqlite3.connect(ui_home / "users.sqlite") as db:  # demoted by another admin meanwhile
        db.execute("UPDATE users SET role = 'staff' WHERE name = 'admin1'")
    at.run()
    assert not at.exception and at.title[0].value != "資料管理" and at.session_state["user"].role == "staff"
    assert not any("資料管理" in str(e.value) for e in at.dataframe)
    for page in ADMIN_PAGES:
        with pytest.raises(ValueError):  # gone from the navigation
            at.switch_page(page)
    assert at.chat_input  # still logged in, as staff


def test_hostile_document_is_rendered_escaped(ui_home: Path) -> None:
    at = login("staff1")
    at.multiselect(key="f_docs").set_value(["xss-test"]).run()
    ask(at, XSS_QUESTION)
    text = all_markdown(at)
    assert "<script" not in text and "<img" not in text and "](https://" not in text
    assert "&#60;script&#62;alert&#40;1&#41;&#60;&#47;script&#62;" in text  # shown literally, as text
    assert "&#91;link&#93;&#40;https&#58;&#47;&#47;evil&#46;example&#41;" in text
    assert "<b>" not in text
    assert all("<b>" not in e.label or "\\<b\\>" in e.label for e in at.expander)

    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("open-"))).click().run()
    assert not at.exception and at.title[0].value == "出典表示"
    source_text = all_markdown(at)
    assert "<script" not in source_text and "&#60;script&#62;" in source_text
    assert "<mark" in source_text  # the quote is highlighted


def test_map_shows_features_and_their_attributes(ui_home: Path) -> None:
    at = login("staff1")
    at.switch_page("ui/pages/map.py").run()
    assert not at.exception and at.title[0].value == "地図"
    assert at.get("deck_gl_json_chart")
    names = list(at.selectbox(key="map_feature").options)  # as displayed
    assert any("厚木市役所" in n for n in names), names
    attrs = at.dataframe[0].value
    assert "住所" in set(attrs["属性"])


def test_map_highlights_features_cited_in_the_latest_answer(ui_home: Path) -> None:
    at = login("staff1")
    at.multiselect(key="f_docs").set_value(["facilities"]).run()
    ask(at, "厚木市役所の住所はどこですか")
    cited = at.session_state["cited_chunks"]
    assert cited
    at.switch_page("ui/pages/map.py").run()
    assert any("引用された地物" in c.value for c in at.caption)
    assert at.selectbox(key="map_feature").value in cited  # the cited feature is preselected
    assert any(o.startswith("★") for o in at.selectbox(key="map_feature").options)


def test_llm_answer_streams_and_a_failure_falls_back_with_a_notice(
    ui_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as fake:
        monkeypatch.setenv("DXA_LLM__MODEL", "test")
        monkeypatch.setenv("DXA_LLM__BASE_URL", fake.url)
        monkeypatch.setenv("DXA_LLM__API_KEY", "x")
        monkeypatch.setenv("DXA_LLM__TIMEOUT_S", "10")
        fake.reply = "計画期間は令和9(2027)年度から令和14(2032)年度までの6年間です[1]。"
        at = login("staff1")
        assert at.radio(key="f_mode").options == ["自動（生成AI・失敗時は資料抜粋）", "生成AI", "資料抜粋"]
        ask(at, QUESTION)
        assert fake.requests and fake.requests[-1]["stream"] is True
        assert any("回答方式: 生成AI" in c.value for c in at.caption)
        assert "令和14&#40;2032&#41;年度までの6年間です" in all_markdown(at)

        fake.status = 500
        ask(at, QUESTION)
        assert any("回答方式: 資料抜粋" in c.value for c in at.caption)
        assert "生成AIの呼び出しに失敗したため" in all_markdown(at)
    runs = AuditLog(ui_home / "audit.sqlite").query(newest_first=False)
    assert [r.mode for r in runs] == ["llm", "extractive"] and "生成AI" in runs[1].notice
