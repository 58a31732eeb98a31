"""The real app (`dxa ui`) in a real Chromium: login, a cited answer, the source viewer, logout, roles.

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
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.factories import make_pdf
from tests.ui.conftest import PASSWORDS, XSS_QUESTION, XSS_TEXT

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


def log_in(pg, server: str, name: str) -> None:  # type: ignore[no-untyped-def]
    pg.goto(server)
    pg.get_by_label("ユーザー名").fill(name)
    pg.get_by_label("パスワード").fill(PASSWORDS[name])
    pg.get_by_role("button", name="ログイン").click()
    pg.get_by_role("heading", name="チャット").wait_for()


def ask(pg, question: str) -> None:  # type: ignore[no-untyped-def]
    box = pg.get_by_placeholder("質問を入力してください", exact=False)
    box.fill(question)
    box.press("Enter")
    pg.get_by_text("出典", exact=True).first.wait_for()
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')")


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
    pg.get_by_role("button", name="出典を開く").first.click()
    pg.get_by_role("heading", name="出典表示").wait_for()
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
    pg.goto(f"{server}/documents")  # a new session: back to the login page, never the admin page
    pg.get_by_role("button", name="ログイン").wait_for()
    assert pg.get_by_role("heading", name="資料管理").count() == 0
    log_in(pg, server, "staff1")
    assert pg.get_by_role("heading", name="資料管理").count() == 0


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
    pg.get_by_test_id("stExpander").filter(has_text="設置要綱").first.locator("summary").click()
    pg.get_by_role("button", name="出典を開く").first.click()
    pg.get_by_role("heading", name="出典表示").wait_for()
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
    main.get_by_text("kaigi: 追加しました", exact=False).wait_for(timeout=180_000)
    expect(count).not_to_have_text(before)  # the count follows the upload without 一覧を更新
    expect(pg.get_by_test_id("stFileChipName")).to_have_count(0)  # the form is empty for the next upload

    manage = pg.get_by_test_id("stSelectbox").filter(has=pg.get_by_text("文書", exact=True))
    manage.click()
    pg.keyboard.type("kaigi")  # the choice is searchable; typing avoids a long, virtualised list
    pg.keyboard.press("Enter")
    pg.get_by_test_id("stCheckbox").filter(has_text="kaigi").click()
    pg.get_by_role("button", name="削除").click()
    main.get_by_text("削除しました: kaigi", exact=False).wait_for(timeout=120_000)
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')")
    assert pg.get_by_test_id("stException").count() == 0
    assert "SyntaxError" not in main.inner_text()
    expect(count).to_have_text(before)
    expect(manage).not_to_contain_text("kaigi")  # the removed document is not shown as the choice
    manage.click()
    pg.keyboard.type("kaigi")
    pg.get_by_text("No results").wait_for()  # the removed document is no longer offered
    pg.keyboard.press("Escape")
    shot(pg, "10-documents-after-removal")
