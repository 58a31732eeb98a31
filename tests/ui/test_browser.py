"""The real app (`dxa ui`) in a real Chromium: login, a cited answer, the source viewer, logout, roles, a login
that survives reloads (HttpOnly cookie) until logout or removal, typed URLs, a question answered while an upload indexes.

Screenshots go to test-artifacts/ui/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.factories import make_pdf
from tests.ui.conftest import PASSWORDS, XSS_QUESTION, XSS_TEXT, click_until, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "ui"
QUESTION = "計画の期間はいつからいつまでですか"
DXA = [str(Path(sys.executable).with_name("dxa"))]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


SERVER_ENV: dict[str, str] = {}  # the environment `dxa ui` runs with: the same home for `dxa user …` calls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dxa(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    done = subprocess.run([*DXA, *args], env=env, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embed_cache: Path) -> Iterator[str]:
    """`dxa ui` on a free port over a home prepared with the CLI: corpus, a PDF, a hostile text, two users."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright")
    work = tmp_path_factory.mktemp("browser")
    home = work / "home"
    make_settings(home, embed_cache)
    env = dict(os.environ, DXA_HOME=str(home), ANONYMIZED_TELEMETRY="False")
    env.pop("DXA_STORE__PATH", None)
    env.pop("DXA_LLM__MODEL", None)
    pdf = make_pdf(
        work / "suishin.pdf",
        [
            "厚木市DX推進本部の設置について定める。",
            "推進本部は、市長を本部長とし、全庁的なDXの推進を統括する。\n本部会議は年2回以上開催する。",
        ],
        title="厚木市DX推進本部設置要綱",
    )
    xss = work / "xss-test.md"
    xss.write_text(XSS_TEXT, encoding="utf-8")
    dxa(env, "ingest", "--corpus", "--no-progress")
    dxa(
        env,
        "ingest",
        str(pdf),
        "--doc-id",
        "suishin",
        "--title",
        "厚木市DX推進本部設置要綱",
        "--level",
        "city",
        "--no-progress",
    )
    dxa(env, "ingest", str(xss), "--doc-id", "xss-test", "--title", "悪意ある資料", "--no-progress")
    for name, password in PASSWORDS.items():
        dxa(env, "user", "add", name, "--role", "admin" if name.startswith("admin") else "staff", stdin=password + "\n")
    with running_ui(env, work) as url:
        yield url


@contextmanager
def running_ui(env: dict[str, str], work: Path) -> Iterator[str]:
    """`dxa ui` on a free port with `env`, its log in `work`; yields the URL once it is healthy."""
    SERVER_ENV.update(env)
    port = free_port()
    log = (work / "ui.log").open("w")
    proc = subprocess.Popen([*DXA, "ui", "--port", str(port)], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"dxa ui did not start: {(work / 'ui.log').read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
    pg = context.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.set_default_timeout(60_000)
    pg.dialogs = dialogs
    yield pg
    assert dialogs == [], f"a script ran in the page: {dialogs}"
    context.close()


def shot(pg, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(pg, server: str, name: str, *, password: str | None = None, landing: str = "チャット") -> None:  # type: ignore[no-untyped-def]
    if pg.url != server and not pg.url.startswith(server + "/"):
        pg.goto(server)
    pg.get_by_label("ユーザー名").fill(name)
    pg.get_by_label("パスワード").fill(password or PASSWORDS[name])
    pg.get_by_role("button", name="ログイン").click()
    pg.get_by_role("heading", name=landing).wait_for()


def ask(pg, question: str) -> None:  # type: ignore[no-untyped-def]
    box = pg.get_by_placeholder("質問を入力してください", exact=False)
    box.fill(question)
    box.press("Enter")
    pg.get_by_text("出典", exact=True).first.wait_for()
    wait_idle(pg)


def test_staff_login_ask_open_source_logout(page, server: str) -> None:  # type: ignore[no-untyped-def]
    pg = page
    pg.goto(server)
    pg.get_by_role("button", name="ログイン").wait_for()
    assert pg.get_by_text("チャット").count() == 0  # nothing but the login form
    shot(pg, "01-login")
    log_in(pg, server, "staff1")
    nav = pg.get_by_test_id("stSidebarNav")
    assert nav.get_by_text("チャット").count() == 1 and nav.get_by_text("資料管理").count() == 0
    ask(pg, QUESTION)
    body = pg.get_by_test_id("stMainBlockContainer").inner_text()
    assert "令和9(2027)年度から令和14(2032)年度" in body
    citations = pg.get_by_test_id("stExpander").filter(has_text="[1]")
    assert citations.count() >= 1
    shot(pg, "02-answer")
    citations.first.locator("summary").click()
    click_until(
        pg, citations.first.get_by_role("button", name="出典を開く"), pg.get_by_role("heading", name="出典表示")
    )
    pg.locator("mark").first.wait_for()  # the quote highlighted in its context
    shot(pg, "03-source")
    pg.get_by_role("button", name="ログアウト").click()
    pg.get_by_role("button", name="ログイン").wait_for()
    assert pg.get_by_test_id("stSidebarNav").count() == 0
    shot(pg, "04-logged-out")


def test_staff_cannot_reach_documents_page(page, server: str) -> None:  # type: ignore[no-untyped-def]
    pg = page
    log_in(pg, server, "staff1")
    assert pg.get_by_test_id("stSidebarNav").get_by_text("資料管理").count() == 0
    session_cookie(pg)
    pg.goto(f"{server}/documents")  # typed: the login holds (cookie), the admin page stays out of reach
    pg.get_by_role("heading", name="チャット").wait_for()
    assert pg.get_by_role("heading", name="資料管理").count() == 0
    fresh = pg.context.browser.new_context(locale="ja-JP")  # no cookie: the login page, at that URL
    other = fresh.new_page()
    other.set_default_timeout(60_000)
    other.goto(f"{server}/documents")
    other.get_by_role("button", name="ログイン").wait_for()
    assert other.get_by_role("heading", name="資料管理").count() == 0
    log_in(other, server, "staff1")  # lands on チャット: the role has no 資料管理
    assert other.get_by_role("heading", name="資料管理").count() == 0
    fresh.close()


def session_cookie(pg, timeout_s: float = 60) -> dict:  # type: ignore[no-untyped-def]
    """The session cookie, once the page's fetch of the cookie route has set it."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        found = [c for c in pg.context.cookies() if c["name"] == "dxa_session"]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError("the session cookie was never set")


def test_login_survives_reloads_and_typed_urls_until_logout(page, browser, server: str) -> None:  # type: ignore[no-untyped-def]
    pg = page
    log_in(pg, server, "staff1")
    cookie = session_cookie(pg)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["expires"] - time.time() == pytest.approx(8 * 3600, abs=300)  # DXA_UI__SESSION_HOURS
    assert "dxa_session" not in pg.evaluate("document.cookie")  # no script in the page can read it
    pg.reload()
    pg.get_by_role("heading", name="チャット").wait_for()
    assert pg.get_by_role("button", name="ログイン").count() == 0
    pg.goto(f"{server}/map")  # a typed URL opens that page, still logged in
    pg.get_by_role("heading", name="地図").wait_for()
    shot(pg, "10-reload-keeps-login")
    pg.get_by_role("button", name="ログアウト").click()
    pg.get_by_role("button", name="ログイン").wait_for()
    pg.reload()  # logout revoked the cookie's session on the server
    pg.get_by_role("button", name="ログイン").wait_for()
    assert pg.get_by_test_id("stSidebarNav").count() == 0
    replay = browser.new_context(locale="ja-JP")  # the old cookie, replayed elsewhere, opens nothing
    replay.add_cookies([cookie])
    other = replay.new_page()
    other.set_default_timeout(60_000)
    other.goto(server)
    other.get_by_role("button", name="ログイン").wait_for()
    assert other.get_by_role("button", name="ログアウト").count() == 0
    replay.close()


def test_a_typed_url_opens_after_login(page, server: str) -> None:  # type: ignore[no-untyped-def]
    pg = page
    pg.goto(f"{server}/audit_log")
    pg.get_by_role("button", name="ログイン").wait_for()
    assert pg.get_by_role("heading", name="監査ログ").count() == 0  # the login form first
    log_in(pg, server, "admin1", landing="監査ログ")
    assert pg.url.endswith("/audit_log")


def test_removing_a_user_ends_their_open_login(page, server: str) -> None:  # type: ignore[no-untyped-def]
    pg = page
    dxa(SERVER_ENV, "user", "add", "temp1", "--role", "staff", stdin="temp-password-1\n")
    log_in(pg, server, "temp1", password="temp-password-1")
    session_cookie(pg)
    dxa(SERVER_ENV, "user", "remove", "temp1")
    ask_box = pg.get_by_placeholder("質問を入力してください", exact=False)
    ask_box.fill(QUESTION)
    ask_box.press("Enter")  # the open tab's next question: logged out instead of answered
    pg.get_by_role("button", name="ログイン").wait_for()
    dxa(SERVER_ENV, "user", "add", "temp1", "--role", "staff", stdin="temp-password-1\n")
    pg.reload()  # the cookie died with the user; a new user of that name does not inherit it
    pg.get_by_role("button", name="ログイン").wait_for()
    assert pg.get_by_role("button", name="ログアウト").count() == 0
    dxa(SERVER_ENV, "user", "remove", "temp1")


def test_staff_question_is_answered_while_an_upload_indexes(browser, server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sections = [
        f"第{n}節 公用車の電気自動車への転換。第{n}地区の公用車を順次電気自動車に切り替え、充電設備を庁舎に設ける。"
        f"切り替えの費用と効果は第{n}地区ごとに毎年度検証し、結果を公表する。" * 4
        for n in range(1, 41)
    ]
    sections[20] += "公用車の電気自動車への転換は令和12年度までに完了する。"
    pdf = make_pdf(tmp_path / "ev-keikaku.pdf", sections, title="公用車EV化計画")
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP") for _ in range(2)]
    admin, staff = (c.new_page() for c in contexts)
    for pg in (admin, staff):
        pg.set_default_timeout(120_000)
    try:
        log_in(admin, server, "admin1")
        admin.get_by_test_id("stSidebarNav").get_by_text("資料管理").click()
        admin.get_by_role("heading", name="資料管理").wait_for()
        admin.locator("input[type=file]").set_input_files(str(pdf))
        admin.get_by_label("表題").fill("公用車EV化計画")
        admin.get_by_test_id("stSelectbox").filter(has=admin.get_by_text("区分", exact=True)).click()
        admin.get_by_role("option", name="市").click()
        admin.get_by_role("button", name="索引に登録").click()
        admin.get_by_text("索引の登録を受け付けました", exact=False).wait_for()

        log_in(staff, server, "staff1")  # meanwhile, a staff member asks
        ask(staff, QUESTION)
        # under load the answer text was once not yet on the page when 出典 showed and the spinner went: wait for it
        main = staff.get_by_test_id("stMainBlockContainer")
        main.get_by_text("令和9(2027)年度から令和14(2032)年度", exact=False).first.wait_for(timeout=60_000)
        assert "令和9(2027)年度から令和14(2032)年度" in main.inner_text()
        shot(admin, "11-job-while-staff-asked")

        admin.get_by_test_id("stSidebarNav").get_by_text("チャット").click()  # the job outlives a page change
        admin.get_by_role("heading", name="チャット").wait_for()
        admin.get_by_test_id("stSidebarNav").get_by_text("資料管理").click()
        admin.get_by_text("ev-keikaku.pdf（ev-keikaku）", exact=False).first.wait_for()
        admin.get_by_text("完了: 追加しました", exact=False).wait_for(timeout=900_000)  # refreshes by itself
        shot(admin, "12-job-done")

        ask(staff, "公用車の電気自動車への転換はいつまでに完了しますか")  # the new document is searchable at once
        main = staff.get_by_test_id("stMainBlockContainer")
        main.get_by_test_id("stExpander").filter(has_text="公用車EV化計画").first.wait_for()
        assert "令和12年度" in main.inner_text()
    finally:
        for c in contexts:
            c.close()


def test_admin_sees_admin_pages_and_pdf_page_image(page, server: str) -> None:  # type: ignore[no-untyped-def]
    pg = page
    log_in(pg, server, "admin1")
    nav = pg.get_by_test_id("stSidebarNav")
    for title in ("資料管理", "監査ログ", "ユーザー管理"):
        assert nav.get_by_text(title).count() == 1
    nav.get_by_text("資料管理").click()
    pg.get_by_role("heading", name="資料管理").wait_for()
    pg.get_by_test_id("stDataFrame").first.wait_for()
    shot(pg, "05-documents")
    ask_page = nav.get_by_text("チャット")
    ask_page.click()
    ask(pg, "推進本部の本部長は誰ですか")
    cited = pg.get_by_test_id("stExpander").filter(has_text="設置要綱").first
    cited.locator("summary").click()
    click_until(pg, cited.get_by_role("button", name="出典を開く"), pg.get_by_role("heading", name="出典表示"))
    pg.get_by_test_id("stImage").first.wait_for()  # the PDF page rendered by pdftoppm
    shot(pg, "06-pdf-source")
    nav.get_by_text("監査ログ").click()
    pg.get_by_role("heading", name="監査ログ").wait_for()
    shot(pg, "07-audit")


def test_hostile_document_text_stays_text(page, server: str) -> None:  # type: ignore[no-untyped-def]
    pg = page
    log_in(pg, server, "staff1")
    ask(pg, XSS_QUESTION)
    main = pg.get_by_test_id("stMainBlockContainer")
    expander = main.get_by_test_id("stExpander").filter(has_text="悪意ある資料").first
    expander.locator("summary").click()
    assert "<script>alert(1)</script>" in main.inner_text()  # visible literally
    assert pg.locator("script:text('alert(1)')").count() == 0
    assert pg.locator("img[src='x']").count() == 0
    assert pg.locator("a[href^='https://evil.example']").count() == 0
    shot(pg, "08-xss")


def test_alignment_page_renders_matrix_and_drill_down(page, server: str) -> None:  # type: ignore[no-untyped-def]
    pg = page
    log_in(pg, server, "staff1")
    pg.get_by_test_id("stSidebarNav").get_by_text("整合表").click()
    pg.get_by_role("heading", name="整合表").first.wait_for()
    pg.get_by_role("button", name="整合表を作成・更新").click()
    pg.get_by_role("heading", name="項目の詳細").wait_for(timeout=180_000)  # the matrix takes a while
    shot(pg, "09-alignment")
    pg.locator(".vega-embed").first.wait_for()  # the heat map
    pg.get_by_test_id("stDataFrame").first.wait_for()
    body = pg.get_by_test_id("stMainBlockContainer").inner_text()
    assert "判定:" in body and "国・県の記述" in body and "市の記述" in body
    assert any(v in body for v in ("対応あり", "一部対応", "記載なし"))
    assert "自治体フロントヤード改革の推進" in body  # a national priority item as a row
    shot(pg, "09-alignment")


def test_admin_uploads_then_removes_a_document_without_error(  # type: ignore[no-untyped-def]
    page, server: str, tmp_path: Path
) -> None:
    """資料管理 in the browser: after 削除 the page stays whole and no longer offers the document."""
    from playwright.sync_api import expect

    pg = page
    pdf = make_pdf(tmp_path / "kaigi.pdf", ["厚木市DX推進本部会議の議事録である。\n電子申請の拡大を決定した。"])
    log_in(pg, server, "admin1")
    pg.get_by_test_id("stSidebarNav").get_by_text("資料管理").click()
    pg.get_by_role("heading", name="資料管理").wait_for()
    main = pg.get_by_test_id("stMainBlockContainer")
    count = main.get_by_text(re.compile(r"文書 \d+ 件")).first
    before = count.inner_text()

    pg.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(pdf))
    pg.get_by_test_id("stFileChipName").filter(has_text="kaigi").wait_for()
    pg.get_by_test_id("stSelectbox").filter(has=pg.get_by_text("区分", exact=True)).click()
    pg.get_by_role("option", name="市").click()
    pg.get_by_role("button", name="索引に登録").click()
    main.get_by_text("索引の登録を受け付けました", exact=False).wait_for(timeout=120_000)
    main.get_by_text("完了: 追加しました", exact=False).wait_for(timeout=600_000)  # the background job ends
    expect(count).not_to_have_text(before, timeout=120_000)  # the count follows the job without 一覧を更新
    expect(pg.get_by_test_id("stFileChipName")).to_have_count(0)  # the form is empty for the next upload

    manage = pg.get_by_test_id("stSelectbox").filter(has=pg.get_by_text("文書", exact=True))
    wait_idle(pg)  # the finished job reruns the page: a choice typed during that rerun is lost
    manage.click()
    pg.keyboard.type("kaigi")  # the choice is searchable; typing avoids a long, virtualised list
    pg.keyboard.press("Enter")
    wait_idle(pg)
    pg.get_by_test_id("stCheckbox").filter(has_text="kaigi").click()
    pg.get_by_role("button", name="削除").click()
    main.get_by_text("削除しました: kaigi", exact=False).wait_for(timeout=120_000)
    wait_idle(pg)
    assert pg.get_by_test_id("stException").count() == 0
    assert "SyntaxError" not in main.inner_text()
    expect(count).to_have_text(before)
    expect(manage).not_to_contain_text("kaigi")  # the removed document is not shown as the choice
    manage.click()
    pg.keyboard.type("kaigi")
    pg.get_by_text("No results").wait_for()  # the removed document is no longer offered
    pg.keyboard.press("Escape")
    shot(pg, "10-documents-after-removal")
