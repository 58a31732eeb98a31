"""UI fixtures: a home with the bundled corpus, a hostile text file and a GeoPackage indexed once,
copied per test so each test gets its own DXA_HOME (index, users, audit log)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.config import Settings
from tests.conftest import make_settings
from tests.factories import make_gpkg

XSS_TEXT = """# 悪意ある資料のテスト

この資料には危険な記述が含まれる。<script>alert(1)</script> 画像 <img src=x onerror=alert(1)> を含む。
詳しくは [link](https://evil.example) を参照すること。**強調** と $x$ も文字のまま表示されるべきである。
"""
XSS_QUESTION = "悪意ある資料には何が含まれますか"
PASSWORDS = {"staff1": "staff-password-1", "admin1": "admin-password-1"}
# True once the app's script has finished its run and no spinner shows: a click made while a run is still
# going can be lost on a loaded machine (the run it interrupts resets the button's trigger), so browser tests
# click only on a settled page.
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.dataset.testScriptState === "notRunning" && !document.querySelector('[data-testid="stSpinner"]');
}"""


def wait_idle(pg) -> None:  # type: ignore[no-untyped-def]
    """Wait until the Streamlit page `pg` (a Playwright page) has finished running its script."""
    pg.wait_for_function(IDLE_JS)


def click_until(pg, target, expected, *, attempts: int = 3, wait_ms: int = 20_000) -> None:  # type: ignore[no-untyped-def]
    """Click `target` on a settled page until `expected` (a locator) shows, as a person clicks again when nothing
    happens: on a loaded machine a click can land while an expander is still opening and never reach the button.
    A click that did register but whose page is slow is not repeated: the page is let finish its run first."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(attempts):
        wait_idle(pg)
        if attempt and expected.count():
            return
        target.click()
        try:
            expected.wait_for(timeout=wait_ms)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise


def ingest_ui_corpus(settings: Settings, extra_dir: Path) -> None:
    """Index the bundled corpus plus the XSS text (level city) and a GeoPackage, as `dxa ingest` would."""
    from assistant.pipeline import Pipeline
    from assistant.types import SourceInfo
    from ingest.indexer import ingest_corpus, ingest_file

    pipeline = Pipeline(settings)
    results = ingest_corpus(pipeline.index, settings)
    xss = extra_dir / "xss-test.md"
    xss.write_text(XSS_TEXT, encoding="utf-8")
    results.append(
        ingest_file(
            pipeline.index, settings, xss, SourceInfo(doc_id="xss-test", title="悪意ある資料<b>太字</b>", level="other")
        )
    )
    gpkg = make_gpkg(extra_dir / "facilities.gpkg")
    results.append(
        ingest_file(pipeline.index, settings, gpkg, SourceInfo(doc_id="facilities", title="公共施設", level="city"))
    )
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]


@pytest.fixture(scope="session")
def ui_template(tmp_path_factory: pytest.TempPathFactory, embed_cache: Path) -> Path:
    """A home directory with everything indexed and two users; tests copy it."""
    from assistant.users import UserStore

    home = tmp_path_factory.mktemp("ui-template") / "home"
    settings = make_settings(home, embed_cache)
    ingest_ui_corpus(settings, home.parent)
    users = UserStore.from_settings(settings)
    users.add("staff1", PASSWORDS["staff1"], "staff")
    users.add("admin1", PASSWORDS["admin1"], "admin")
    return home


@pytest.fixture
def ui_home(ui_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated DXA_HOME for one test, and fresh Streamlit resource caches that will read it."""
    import streamlit as st

    home = tmp_path / "home"
    shutil.copytree(ui_template, home, symlinks=True)
    monkeypatch.setenv("DXA_HOME", str(home))
    monkeypatch.delenv("DXA_STORE__PATH", raising=False)
    monkeypatch.delenv("DXA_LLM__MODEL", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield home
    st.cache_resource.clear()
