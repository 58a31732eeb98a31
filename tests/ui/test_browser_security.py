"""The real app (`dxa ui`) in a real Chromium, attacked: Markdown/HTML planted in a heading, a title,
a 👎 comment and a literal 「[1]」 stays text on every page; no request leaves loopback on any page
(the map included); no upload is accepted before login, while the admin's upload still works.

Screenshots go to test-artifacts/ui/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import make_settings
from tests.factories import make_gpkg
from tests.ui.conftest import PASSWORDS, wait_idle
from tests.ui.test_browser import CHROMIUM, browser, dxa, running_ui, shot  # noqa: F401  (browser: a fixture)
from ui.render import WORD_JOINER

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
HEADING = (
    "(1) 窓口手続のオンライン化 ![h](https://beacon.example/heading.png) [見出しの罠](https://evil.example/heading) "
    ":red[赤い見出し] $$h^2$$ <img src=https://beacon.example/heading2.png>"
)
TITLE = "悪意ある表題 ![t](https://beacon.example/title.png) [表題の罠](https://evil.example/title) :red[赤い表題] $$t$$ [1]"
COMMENT = (
    "![c](https://beacon.example/comment.png) [コメントの罠](https://evil.example/comment) :red[赤いコメント] $$c$$"
)
LITERAL = "文献[1]を参照"
NATIONAL = f"""# 国の計画（テスト）

## {HEADING}

行政手続のオンライン化を進め、窓口に来なくても手続ができるようにする。

## (2) デジタル人材の育成

職員のデジタル技術の研修を計画的に実施する。
"""
CITY = f"""# 市の計画（テスト）

## {HEADING}

本市は窓口手続のオンライン化を進め、{LITERAL}して手続を見直す。
"""
QUESTION = "窓口手続のオンライン化はどのように進めますか"
ADMIN_PAGES = ("チャット", "出典表示", "地図", "整合表", "起草支援", "評価", "資料管理", "監査ログ", "ユーザー管理")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embed_cache: Path) -> Iterator[str]:
    """`dxa ui` over a small home: a national and a city text with hostile headings (the city one with a
    hostile title too), a GeoPackage for the map, two users."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright")
    work = tmp_path_factory.mktemp("browser-security")
    home = work / "home"
    make_settings(home, embed_cache)
    env = dict(os.environ, DXA_HOME=str(home), ANONYMIZED_TELEMETRY="False")
    for key in ("DXA_STORE__PATH", "DXA_LLM__MODEL", "DXA_UI__MAP_TILE_URL"):
        env.pop(key, None)
    # plain text, not Markdown: a .md file loses its inline HTML at ingest (tests/ingest/test_loaders.py), and
    # here the <img> of the heading must reach the pages to be shown as text
    (work / "national.txt").write_text(NATIONAL, encoding="utf-8")
    (work / "city.txt").write_text(CITY, encoding="utf-8")
    gpkg = make_gpkg(work / "facilities.gpkg")
    ingest = ["ingest", "--no-progress", "--doc-id"]
    dxa(env, *ingest, "national", "--title", "国の計画", "--level", "national", str(work / "national.txt"))
    dxa(env, *ingest, "city", "--title", TITLE, "--level", "city", str(work / "city.txt"))
    dxa(env, *ingest, "facilities", "--title", "公共施設", "--level", "city", str(gpkg))
    for name, password in PASSWORDS.items():
        dxa(env, "user", "add", name, "--role", "admin" if name.startswith("admin") else "staff", stdin=password + "\n")
    with running_ui(env, work) as url:
        yield url


class Visit:
    """A browser tab that records every URL it requests and fails on any script dialog."""

    def __init__(self, chromium, server: str) -> None:  # type: ignore[no-untyped-def]
        self.context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.server = server
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def log_in(self, name: str) -> None:
        pg = self.page
        pg.goto(self.server)
        pg.get_by_label("ユーザー名").fill(name)
        pg.get_by_label("パスワード").fill(PASSWORDS[name])
        pg.get_by_role("button", name="ログイン").click()
        pg.get_by_role("heading", name="チャット").wait_for()

    def open(self, title: str) -> None:
        self.page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        self.page.get_by_role("heading", name=title).first.wait_for()
        self.settle()

    def settle(self) -> None:
        wait_idle(self.page)
        self.page.wait_for_load_state("networkidle")

    def text(self) -> str:
        """The visible text of the main area, the invisible word joiners that `md()` adds removed."""
        return self.page.get_by_test_id("stMainBlockContainer").inner_text().replace(WORD_JOINER, "")

    def rendered(self, where: str) -> list[str]:
        """What of the payloads took effect on the page now: images, links, typeset math, scripts."""
        out = [
            f"{where}: {n} × {what}"
            for selector, what in (
                ("img[src*='beacon.example']", "beacon image"),
                ("a[href*='evil.example']", "link"),
                (".katex, math", "typeset $$…$$"),
            )
            if (n := self.page.locator(selector).count())
        ]
        return out + [f"{where}: a script ran: {d}" for d in self.dialogs]

    def off_loopback(self) -> list[str]:
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.hostname not in LOOPBACK:
                out.append(url)
        return out

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, server: str) -> Iterator[Visit]:  # type: ignore[no-untyped-def]  # noqa: F811
    v = Visit(browser, server)
    yield v
    v.close()


def test_planted_payloads_stay_text_and_nothing_leaves_loopback(visit: Visit, browser, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    # staff: ask, and give a 👎 with a hostile comment
    v = visit
    v.log_in("staff1")
    box = v.page.get_by_placeholder("質問を入力してください", exact=False)
    box.fill(QUESTION)
    box.press("Enter")
    v.page.get_by_text("出典", exact=True).first.wait_for()
    v.settle()
    answer = v.page.locator(".dxa-text").filter(has_text=LITERAL).first
    problems: list[str] = []

    def expect(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    # the document's 「[1]」 is plain text inside the sentence; the answerer's own marker is a badge
    expect(LITERAL in answer.inner_html(), "チャット: the document's [1] is not plain text")
    badges = answer.locator("sup.dxa-cite")
    expect(badges.count() >= 1 and badges.first.inner_text() == "[1]", "チャット: no citation badge")
    v.page.get_by_label("コメント（任意）").fill(COMMENT)
    v.page.get_by_role("button", name="👎 役に立たない").click()
    v.page.get_by_text("評価済み", exact=False).wait_for()
    v.settle()
    body = v.text()
    expect(f"（{COMMENT}）" in body, "チャット: the 👎 comment is not shown literally")
    expect(TITLE in body, "チャット: the citation title is not shown literally")
    problems += v.rendered("チャット (staff)")
    shot(v.page, "sec-01-chat-payloads")
    off = v.off_loopback()

    # admin: every page, every payload shown as text, every request to the server only
    a = Visit(browser, server)
    try:
        a.log_in("admin1")
        for title in ADMIN_PAGES:
            a.open(title)
            if title == "地図":
                a.page.get_by_test_id("stDeckGlJsonChart").locator("canvas").first.wait_for()
            if title == "整合表":
                a.page.get_by_role("button", name="整合表を作成・更新").click()
                a.page.get_by_role("heading", name="項目の詳細").wait_for(timeout=180_000)
                captions = a.page.get_by_test_id("stCaptionContainer").filter(has_text="evil.example")
                # the drill-down's captions render after its heading: wait for them, not for the heading alone
                captions.first.wait_for()
                a.settle()
                texts = [t.replace(WORD_JOINER, "") for t in captions.all_inner_texts()]
                expect(
                    bool(texts) and all(HEADING in t for t in texts),
                    f"整合表: heading not literal under quotes {texts}",
                )
            if title == "評価":
                a.page.get_by_role("tab", name="👎 から設問を作成").click()
                a.page.get_by_text("コメント:", exact=False).wait_for()
                expect(f"コメント: {COMMENT}" in a.text(), "評価: the 👎 comment is not shown literally")
            if title == "資料管理":
                a.page.get_by_test_id("stDataFrame").first.wait_for()
                a.page.get_by_test_id("stSelectbox").filter(has_text="文書").first.click()
                a.page.get_by_role("option", name="city —", exact=False).click()
                a.settle()
                label = a.page.get_by_test_id("stCheckbox").filter(has_text="索引から削除する").inner_text()
                expect(
                    f"「{TITLE}」を索引から削除する" in label.replace(WORD_JOINER, ""), "資料管理: title not literal"
                )
            problems += a.rendered(title)
            shot(a.page, f"sec-02-{ADMIN_PAGES.index(title):02d}-{title}")
        assert len(a.requests) > 20  # the log did record the pages' traffic
        off += a.off_loopback()
        assert problems == [] and off == [], "\n".join(["", *problems, "requests off loopback:", *off])
    finally:
        a.close()


def test_map_draws_without_an_internet_basemap(visit: Visit) -> None:
    v = visit
    v.log_in("staff1")
    v.open("地図")
    v.page.get_by_test_id("stDeckGlJsonChart").locator("canvas").first.wait_for()
    v.settle()
    assert "背景地図は表示していません" in v.text()
    shot(v.page, "sec-03-map")
    assert not any("cartocdn" in u or "mapbox" in u for u in v.requests)
    assert v.off_loopback() == []


def session_id_of(v: Visit) -> str:
    """Open the login page and read the session id the server sends over the websocket."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ids: list[str] = []

    def on_frame(payload: bytes | str) -> None:
        if isinstance(payload, bytes):
            msg = ForwardMsg()
            try:
                msg.ParseFromString(payload)
            except Exception:  # noqa: BLE001  (other frames)
                return
            if msg.WhichOneof("type") == "new_session":
                ids.append(msg.new_session.initialize.session_id)

    v.page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    v.page.goto(v.server)
    v.page.get_by_role("button", name="ログイン").wait_for()
    assert ids, "no NewSession message seen"
    return ids[-1]


def put_upload(v: Visit, session_id: str, file_id: str, size: int) -> int:
    """PUT a file to the upload endpoint from a raw HTTP client, with the tab's XSRF cookie and token."""
    import httpx
    from streamlit.web.server.starlette.starlette_routes import XSRF_COOKIE_NAME

    cookies = {c["name"]: c["value"] for c in v.context.cookies()}
    headers = {"X-Xsrftoken": cookies.get(XSRF_COOKIE_NAME, "")}
    url = f"{v.server}/_stcore/upload_file/{session_id}/{file_id}"
    files = {"file": (f"{file_id}.bin", b"\0" * size, "application/octet-stream")}
    r = httpx.put(url, files=files, headers=headers, cookies=cookies, timeout=60)
    return r.status_code


def test_no_upload_is_accepted_before_login(visit: Visit) -> None:
    import httpx

    v = visit
    session = session_id_of(v)
    for i in range(3):
        status = put_upload(v, session, f"before-login-{i}", 5_000_000)
        assert 400 <= status < 500, status
    metrics = httpx.get(f"{v.server}/_stcore/metrics", params={"families": "cache_memory_bytes"}, timeout=30).text
    assert "UploadedFileManager" not in metrics  # nothing is held for the session

    # the same tab after login may upload (so the refusal above was the login, not the request)
    v.page.get_by_label("ユーザー名").fill("admin1")
    v.page.get_by_label("パスワード").fill(PASSWORDS["admin1"])
    v.page.get_by_role("button", name="ログイン").click()
    v.page.get_by_role("heading", name="チャット").wait_for()
    assert put_upload(v, session, "after-login", 1000) == 204
    v.page.get_by_role("button", name="ログアウト").click()
    v.page.get_by_role("button", name="ログイン").wait_for()
    assert 400 <= put_upload(v, session, "after-logout", 1000) < 500


def test_admin_upload_on_documents_page_still_works(visit: Visit, tmp_path: Path) -> None:
    v = visit
    v.log_in("admin1")
    v.open("資料管理")
    doc = tmp_path / "upload-test.md"
    doc.write_text("# 追加資料\n\n窓口の混雑を減らすため、予約制を導入する。\n", encoding="utf-8")
    v.page.locator("input[type=file]").set_input_files(str(doc))
    v.page.get_by_text("upload-test.md").first.wait_for()
    v.page.get_by_test_id("stSelectbox").filter(has=v.page.get_by_text("区分", exact=True)).click()
    v.page.get_by_role("option", name="その他").click()
    v.page.get_by_role("button", name="索引に登録").click()
    v.page.get_by_text("索引の登録を受け付けました", exact=False).wait_for(timeout=120_000)
    v.page.get_by_text("完了: 追加しました", exact=False).wait_for(timeout=600_000)  # the background job ends
    shot(v.page, "sec-04-upload")
    assert v.off_loopback() == []
