"""The bundled corpus and its manifest (corpus/sources.toml), and `dxa corpus fetch` against a real local server."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import re
import shutil
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.errors import ConfigError, IngestError, NetworkError
from assistant.types import SourceInfo
from ingest.fetch import fetch_sources
from ingest.manifest import ManifestEntry, entry_for_path, load_manifest, verify_entry
from tests.factories import make_pdf

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT / "corpus"
SHARED = REPO_ROOT.parent / "shared"
FACTS = SHARED / "corpus" / "facts.md"

DIGESTS = {"jichitai-dx-digest": "national", "kanagawa-dx-digest": "prefecture"}
MARKER = re.compile(r"〔出典(\d+)〕")
URL = re.compile(r"https?://\S+")

# 第2.3版 (2024-02-05) lists these seven 重点取組事項, in this order.
PRIORITY_ITEMS = (
    "自治体フロントヤード改革の推進",
    "自治体の情報システムの標準化・共通化",
    "公金収納におけるeLTAXの活用",
    "マイナンバーカードの普及促進・利用の推進",
    "セキュリティ対策の徹底",
    "自治体のAI・RPAの利用推進",
    "テレワークの推進",
)

# Claims that the fact sheet marks [U] (unverified): no digest may state them.
UNVERIFIED_CLAIMS = (
    "第2.0版",
    "第2.1版",
    "第2.2版",
    "第4.0版",
    "第5.0版",
    "第5.1版",
    "ほぼ全国民",
    "特定移行支援システム",
    "eL-QR",
    "共通基盤の整備・運用に関する基本方針",
    "デジタル原則を踏まえた条例",
    "サイバーセキュリティ確保の方針",
)


@pytest.fixture(scope="module")
def entries() -> list[ManifestEntry]:
    return load_manifest(CORPUS)


def _by_id(entries: list[ManifestEntry]) -> dict[str, ManifestEntry]:
    return {e.doc_id: e for e in entries}


def _digest_text(entries: list[ManifestEntry], doc_id: str) -> str:
    path = _by_id(entries)[doc_id].path
    assert path is not None
    return path.read_text(encoding="utf-8")


def _split_sources(text: str) -> tuple[str, str]:
    body, sep, sources = text.partition("\n## 出典\n")
    assert sep, "digest has no '## 出典' section"
    return body, sources


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


# -- manifest ----------------------------------------------------------------------------------------


def test_manifest_lists_the_bundled_documents(entries: list[ManifestEntry]) -> None:
    by_id = _by_id(entries)
    assert set(by_id) == {"atsugi-dx-policy", "jichitai-dx-digest", "kanagawa-dx-digest", "juten-keikaku-2023"}
    assert by_id["atsugi-dx-policy"].source.level == "city"
    assert by_id["jichitai-dx-digest"].source.level == "national"
    assert by_id["kanagawa-dx-digest"].source.level == "prefecture"
    for entry in entries:
        src = entry.source
        assert src.title and src.publisher and src.edition and src.licence
        assert src.url.startswith("https://")
        assert len(entry.sha256) == 64


def test_fetchable_official_pdf_is_not_shipped(entries: list[ManifestEntry]) -> None:
    juten = _by_id(entries)["juten-keikaku-2023"]
    assert juten.path is None
    assert juten.source.level == "national"
    assert juten.fetch_url is not None and juten.fetch_url.startswith("https://www.digital.go.jp/")
    assert juten.fetch_url.endswith("/20230609_policies_priority_outline_05.pdf")
    source_md = SHARED / "corpus" / "real" / "juten-keikaku-2023" / "SOURCE.md"
    if source_md.exists():
        assert juten.sha256 in source_md.read_text(encoding="utf-8")


@pytest.mark.parametrize("doc_id", ["atsugi-dx-policy", "jichitai-dx-digest", "kanagawa-dx-digest"])
def test_shipped_file_exists_and_matches_its_checksum(entries: list[ManifestEntry], doc_id: str) -> None:
    entry = _by_id(entries)[doc_id]
    assert entry.path is not None and entry.path.is_file()
    assert entry.path.is_relative_to(CORPUS)
    verify_entry(entry)


def test_every_document_in_corpus_is_in_the_manifest(entries: list[ManifestEntry]) -> None:
    """Every document file (what `dxa ingest` would read) is described; data files such as the
    整合表's reviewed synonym table (synonyms.toml) are not documents."""
    from ingest.loaders import SUPPORTED_SUFFIXES

    listed = {e.path for e in entries if e.path is not None}
    on_disk = {
        p.absolute()
        for p in CORPUS.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and p.name != "SOURCE.md"
        and "__pycache__" not in p.parts
    }
    assert on_disk == listed


def test_atsugi_policy_is_a_byte_exact_copy_with_its_artifacts(entries: list[ManifestEntry]) -> None:
    path = _by_id(entries)["atsugi-dx-policy"].path
    assert path is not None
    data = path.read_bytes()
    shared = SHARED / "corpus" / "atsugi" / "atsugi-dx-plan-policy-2027-2032.txt"
    if shared.exists():
        assert data == shared.read_bytes()
    text = data.decode("utf-8")
    assert "「地域社会のＤＸ」新規" in text  # "新規" glued to the heading by the PDF extraction
    assert " \n" in text  # trailing spaces kept
    assert (CORPUS / "atsugi" / "SOURCE.md").read_text(encoding="utf-8").count("48610.html") == 1


def test_verify_entry_detects_a_changed_or_missing_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    entry = _by_id(load_manifest(corpus))["kanagawa-dx-digest"]
    assert entry.path is not None and entry.path.is_relative_to(corpus)
    verify_entry(entry)

    with open(entry.path, "ab") as fh:
        fh.write(b"\n")
    with pytest.raises(IngestError) as info:
        verify_entry(entry)
    assert info.value.kind == "checksum"
    assert "kanagawa-dx-digest" in info.value.message_ja

    entry.path.unlink()
    with pytest.raises(IngestError) as info:
        verify_entry(entry)
    assert info.value.kind == "missing"


def test_entry_for_path(entries: list[ManifestEntry], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    atsugi = _by_id(entries)["atsugi-dx-policy"]
    assert atsugi.path is not None
    assert entry_for_path(entries, atsugi.path) is atsugi
    monkeypatch.chdir(REPO_ROOT)
    assert entry_for_path(entries, Path("corpus/atsugi/atsugi-dx-plan-policy-2027-2032.txt")) is atsugi
    cached = tmp_path / "juten-keikaku-2023.pdf"
    assert entry_for_path(entries, cached) is None
    assert entry_for_path(entries, cached, cache_dir=tmp_path) is _by_id(entries)["juten-keikaku-2023"]
    assert entry_for_path(entries, tmp_path / "other.pdf", cache_dir=tmp_path) is None


_GOOD_ENTRY = """
[[source]]
id = "x-doc"
title = "テスト文書"
publisher = "テスト市"
level = "city"
edition = "初版"
url = "https://example.jp/x"
licence = "test"
path = "x.txt"
sha256 = "{sha}"
"""


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('level = "city"', 'level = "town"'), "level"),
        (lambda t: t.replace('title = "テスト文書"\n', ""), "title"),
        (lambda t: t.replace('edition = "初版"', 'edition = ""'), "edition"),
        (lambda t: t.replace('licence = "test"', 'licence = "test"\nlicense = "typo"'), "license"),
        (lambda t: t.replace('path = "x.txt"', 'path = "../x.txt"'), "path"),
        (lambda t: t.replace('sha256 = "', 'sha256 = "zz'), "sha256"),
        (
            lambda t: t.replace('path = "x.txt"\n', "").replace('sha256 = "', 'fetch_url = "ftp://x"\nsha256 = "'),
            "fetch_url",
        ),
        (lambda t: t.replace('path = "x.txt"\n', ""), "fetch_url"),
        (lambda t: t + t.replace('path = "x.txt"', 'path = "y.txt"'), "x-doc"),
        (lambda t: t.replace("[[source]]", "[source]"), "[[source]]"),
        (lambda t: t.replace('"city"', '"city'), "TOML"),
    ],
)
def test_manifest_errors_name_the_entry(tmp_path: Path, edit: Callable[[str], str], expected: str) -> None:
    (tmp_path / "x.txt").write_text("本文\n", encoding="utf-8")
    sha = hashlib.sha256((tmp_path / "x.txt").read_bytes()).hexdigest()
    good = _GOOD_ENTRY.format(sha=sha)
    (tmp_path / "sources.toml").write_text(good, encoding="utf-8")
    assert [e.doc_id for e in load_manifest(tmp_path)] == ["x-doc"]

    (tmp_path / "sources.toml").write_text(edit(good), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_manifest(tmp_path)
    err = info.value
    assert expected in str(err)
    assert "sources.toml" in err.message_ja and err.hint_ja
    if expected not in ("[[source]]", "TOML"):
        assert "x-doc" in str(err) and ("#1" in str(err) or "#2" in str(err))


def test_missing_manifest_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sources.toml"):
        load_manifest(tmp_path)


# -- digests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", sorted(DIGESTS))
def test_digest_is_labelled_unofficial(entries: list[ManifestEntry], doc_id: str) -> None:
    entry = _by_id(entries)[doc_id]
    assert entry.source.unofficial is True
    assert entry.source.level == DIGESTS[doc_id]
    assert "非公式" in entry.source.title
    text = _digest_text(entries, doc_id)
    title, notice = text.split("\n", 1)[0], text[:400]
    assert title.startswith("# ") and "非公式" in title
    assert "公式文書ではなく" in notice and "非公式の要約" in notice
    assert not _by_id(entries)["atsugi-dx-policy"].source.unofficial


def test_national_digest_follows_the_plan_structure(entries: list[ManifestEntry]) -> None:
    text = _digest_text(entries, "jichitai-dx-digest")
    headings = [line for line in text.splitlines() if line.startswith("#")]
    for expected in (
        "## 1 はじめに",
        "### 1.1 自治体におけるDX推進の意義",
        "### 1.3 本計画の対象期間",
        "## 2 自治体におけるDXの推進体制の構築",
        "### (1) 組織体制の整備",
        "### (2) デジタル人材の確保・育成",
        "### (3) 計画的な取組",
        "### (4) 都道府県と市区町村の連携による推進体制の構築",
        "## 3 取組事項",
        "### 3.1 自治体DXの重点取組事項",
        "## 4 改定の経緯",
        "## 5 自治体DX推進手順書",
        "## 出典",
    ):
        assert expected in headings
    assert any(h.startswith("### 3.2 自治体DXの取組とあわせて取り組むべき事項") for h in headings)
    # order: section 3.1 comes before 3.2, which comes before 4
    positions = [text.index(h) for h in ("## 1 はじめに", "## 2 ", "### 3.1 ", "### 3.2 ", "## 4 ", "## 出典")]
    assert positions == sorted(positions)


def test_national_digest_has_the_seven_priority_items_as_numbered_headings(entries: list[ManifestEntry]) -> None:
    text = _digest_text(entries, "jichitai-dx-digest")
    section = text.split("### 3.1 ", 1)[1].split("### 3.2 ", 1)[0]
    found = re.findall(r"^#### \((\d+)\) (.+)$", section, flags=re.M)
    assert [int(n) for n, _ in found] == list(range(1, 8))
    assert [_squash(title) for _, title in found] == [_squash(t) for t in PRIORITY_ITEMS]
    # each item has substance: 2 to 5 sentences
    bodies = re.split(r"^#### .+$", section, flags=re.M)[1:]
    for (_, title), body in zip(found, bodies, strict=True):
        assert 2 <= body.count("。") <= 6, title


def test_national_digest_carries_the_key_targets(entries: list[ManifestEntry]) -> None:
    text = _digest_text(entries, "jichitai-dx-digest")
    items = dict(zip(PRIORITY_ITEMS, re.split(r"^#### .+$", text.split("### 3.1 ")[1], flags=re.M)[1:], strict=False))
    standard = items["自治体の情報システムの標準化・共通化"]
    assert "2025年度" in standard and "20の基幹業務" in standard and "3割" in standard
    front = items["自治体フロントヤード改革の推進"]
    assert "300団体" in front and "書かない・待たない・迷わない・行かない" in front
    assert "880団体" in items["自治体のAI・RPAの利用推進"]
    assert "2024年12月2日" in items["マイナンバーカードの普及促進・利用の推進"]


def test_kanagawa_digest_structure_and_unconfirmed_points(entries: list[ManifestEntry]) -> None:
    text = _digest_text(entries, "kanagawa-dx-digest")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## 1 計画の概要",
        "## 2 策定の背景",
        "## 3 前計画と経緯",
        "## 4 関連する県の計画",
        "## 5 主な取組",
        "## 出典",
    ]
    actions = text.split("## 5 主な取組", 1)[1].split("## 出典", 1)[0]
    numbers = [int(n) for n in re.findall(r"^### \((\d+)\) ", actions, flags=re.M)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 4
    overview = text.split("## 2 ", 1)[0]
    notes = "\n".join(line for line in overview.splitlines() if line.startswith(">"))
    assert "計画期間は、本要約では確認できませんでした" in notes
    assert "KPI" in notes and "見つかりませんでした" in notes


@pytest.mark.parametrize("doc_id", sorted(DIGESTS))
def test_every_statement_cites_a_source_that_resolves(entries: list[ManifestEntry], doc_id: str) -> None:
    text = _digest_text(entries, doc_id)
    body, sources = _split_sources(text)

    listed: dict[int, list[str]] = {}
    for line in sources.splitlines():
        m = re.match(r"^(\d+)\. (.+)$", line)
        if m:
            listed[int(m.group(1))] = URL.findall(m.group(2))
            assert re.search(r"facts\.md: [A-Z]", line), f"source {m.group(1)} names no fact id"
    assert listed and sorted(listed) == list(range(1, len(listed) + 1))
    assert all(listed.values()), "every source needs a URL"

    lines = body.splitlines()
    statements = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ">")) or re.fullmatch(r"\|[-| ]+\|", stripped):
            continue
        if stripped.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            continue  # a table's header row
        statements += 1
        assert MARKER.search(stripped), f"no 〔出典N〕 in: {stripped[:60]}"
        if stripped.startswith("|"):
            continue  # a table row carries its markers in its 出典 column
        for sentence in re.findall(r"[^。]+。", stripped):  # the marker sits before the 。 it belongs to
            assert MARKER.search(sentence), f"sentence without 〔出典N〕: {sentence}"
    assert statements >= 10

    used = {int(n) for n in MARKER.findall(body)}
    assert used <= set(listed), f"markers without a source: {sorted(used - set(listed))}"
    assert set(listed) <= used, f"sources never cited: {sorted(set(listed) - used)}"


_UNCONFIRMED = re.compile(r"確認でき(?:ませんでした|ていない|なかった)|見つかりませんでした|未確認")


@pytest.mark.parametrize("doc_id", sorted(DIGESTS))
def test_unconfirmed_points_are_notes_not_statements(entries: list[ManifestEntry], doc_id: str) -> None:
    """What the digest could not confirm is said only in ">" notes, which are never indexed
    (ingest/digest.py; tests/ingest/test_digest.py checks the indexed text), so it never answers a question."""
    body, _ = _split_sources(_digest_text(entries, doc_id))
    notes = 0
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith(">"):
            notes += bool(_UNCONFIRMED.search(stripped))
        elif not stripped.startswith("#"):  # headings keep their wording (the eval suites name them)
            assert not _UNCONFIRMED.search(stripped), stripped
    assert notes >= 2


@pytest.mark.parametrize("doc_id", sorted(DIGESTS))
def test_digest_states_no_unverified_fact(entries: list[ManifestEntry], doc_id: str) -> None:
    text = _digest_text(entries, doc_id)
    for claim in UNVERIFIED_CLAIMS:
        assert claim not in text, claim


@pytest.mark.parametrize(
    ("doc_id", "low", "high"), [("jichitai-dx-digest", 4000, 6000), ("kanagawa-dx-digest", 2300, 4000)]
)
def test_digest_length(entries: list[ManifestEntry], doc_id: str, low: int, high: int) -> None:
    body, _ = _split_sources(_digest_text(entries, doc_id))
    assert low <= len(body) <= high


def _fact_sentences(text: str) -> set[str]:
    sentences = set()
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*]|\|)?\s*(?:\*\*)?[A-Z]\d+[a-z]?(?:\*\*)?\s*(?:\[[A-Z/]+\])?\s*", "", line)
        for cell in line.split("|"):
            for part in re.split(r"(?<=[。.!?;])\s+|。| — |\(|\)|（|）|\s\[|\]", cell):
                part = part.strip(" *`-")
                if len(part) > 25:
                    sentences.add(part)
    return sentences


@pytest.mark.skipif(not FACTS.exists(), reason="../shared/corpus/facts.md is not available")
@pytest.mark.parametrize("doc_id", sorted(DIGESTS))
def test_digest_does_not_copy_the_fact_sheet(entries: list[ManifestEntry], doc_id: str) -> None:
    facts = FACTS.read_text(encoding="utf-8")
    body, _ = _split_sources(_digest_text(entries, doc_id))
    sentences = _fact_sentences(facts)
    assert len(sentences) > 50  # the splitter really found the fact sheet's sentences
    copied = [s for s in sentences if s in body]
    assert not copied, copied[:3]


# -- fetch -------------------------------------------------------------------------------------------


class _Server:
    """A real HTTP server on 127.0.0.1 serving fixed bytes per path, counting requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


@pytest.fixture(scope="module")
def pdf_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = make_pdf(tmp_path_factory.mktemp("pdf") / "plan.pdf", ["デジタル社会の実現に向けた重点計画（テスト）"])
    return path.read_bytes()


# Going around any proxy from the environment: the server is on this machine.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _entry(url: str, sha256: str = "", doc_id: str = "test-plan") -> ManifestEntry:
    source = SourceInfo(doc_id=doc_id, title="テスト計画", level="national", url=url)
    return ManifestEntry(source=source, path=None, sha256=sha256, fetch_url=url)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


def test_fetch_downloads_verifies_and_then_skips(server: _Server, pdf_bytes: bytes, tmp_path: Path) -> None:
    server.files["/plan.pdf"] = pdf_bytes
    entry = _entry(server.url("/plan.pdf"), hashlib.sha256(pdf_bytes).hexdigest())
    cache = tmp_path / "cache"

    [result] = fetch_sources([entry], cache, opener=_DIRECT)
    assert result.downloaded and result.path == cache / "test-plan.pdf"
    assert result.path.read_bytes() == pdf_bytes and result.size == len(pdf_bytes)
    assert result.sha256 == entry.sha256
    assert sorted(p.name for p in cache.iterdir()) == ["test-plan.pdf"]  # no temp file left
    assert "test-plan" in str(result)

    [again] = fetch_sources([entry], cache, opener=_DIRECT)
    assert not again.downloaded and again.path == result.path
    assert server.requests == ["/plan.pdf"]  # the second call did not download


def test_fetch_without_a_recorded_checksum_still_checks_the_pdf(
    server: _Server, pdf_bytes: bytes, tmp_path: Path
) -> None:
    server.files["/plan.pdf"] = pdf_bytes
    [result] = fetch_sources([_entry(server.url("/plan.pdf"))], tmp_path, opener=_DIRECT)
    assert result.sha256 == hashlib.sha256(pdf_bytes).hexdigest()

    server.files["/page.html"] = b"<html><body>moved</body></html>"
    with pytest.raises(IngestError) as info:
        fetch_sources([_entry(server.url("/page.html"), doc_id="moved")], tmp_path, opener=_DIRECT)
    assert info.value.kind == "not_pdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test-plan.pdf"]


def test_fetch_with_a_wrong_checksum_leaves_no_file(server: _Server, pdf_bytes: bytes, tmp_path: Path) -> None:
    server.files["/plan.pdf"] = pdf_bytes
    cache = tmp_path / "cache"
    with pytest.raises(IngestError) as info:
        fetch_sources([_entry(server.url("/plan.pdf"), "0" * 64)], cache, opener=_DIRECT)
    assert info.value.kind == "checksum"
    assert "sha256" in info.value.message_ja
    assert _snapshot(cache) == {}


def test_fetch_replaces_a_cached_file_that_no_longer_verifies(
    server: _Server, pdf_bytes: bytes, tmp_path: Path
) -> None:
    server.files["/plan.pdf"] = pdf_bytes
    (tmp_path / "test-plan.pdf").write_bytes(b"%PDF-1.4 truncated")
    [result] = fetch_sources(
        [_entry(server.url("/plan.pdf"), hashlib.sha256(pdf_bytes).hexdigest())], tmp_path, opener=_DIRECT
    )
    assert result.downloaded and result.path.read_bytes() == pdf_bytes


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fetch_offline_raises_network_error_and_keeps_the_cache(
    server: _Server, pdf_bytes: bytes, tmp_path: Path
) -> None:
    server.files["/plan.pdf"] = pdf_bytes
    good = _entry(server.url("/plan.pdf"), hashlib.sha256(pdf_bytes).hexdigest())
    fetch_sources([good], tmp_path, opener=_DIRECT)
    (tmp_path / "unreachable.pdf").write_bytes(b"stale copy")  # an unverified earlier file must survive too
    before = _snapshot(tmp_path)

    url = f"http://127.0.0.1:{_closed_port()}/plan.pdf"
    with pytest.raises(NetworkError) as info:
        fetch_sources([good, _entry(url, "1" * 64, doc_id="unreachable")], tmp_path, opener=_DIRECT)
    err = info.value
    assert "ネットワーク" in err.message_ja and "接続が拒否されました" in err.message_ja
    assert "unreachable" in str(err) and err.hint_ja
    assert _snapshot(tmp_path) == before


def test_fetch_times_out_on_a_silent_server(tmp_path: Path) -> None:
    with socket.socket() as listener:  # accepts TCP connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/plan.pdf"
        with pytest.raises(NetworkError) as info:
            fetch_sources([_entry(url)], tmp_path / "cache", timeout=0.5, opener=_DIRECT)
    assert "0.5 秒以内に応答がありませんでした" in info.value.message_ja
    assert not (tmp_path / "cache").exists()  # offline: the cache is not even created


def test_fetch_http_error_is_reported(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="HTTP 404"):
        fetch_sources([_entry(server.url("/gone.pdf"))], tmp_path, opener=_DIRECT)
    assert _snapshot(tmp_path) == {}


def test_fetch_ignores_shipped_documents(entries: list[ManifestEntry], tmp_path: Path) -> None:
    shipped = [e for e in entries if e.fetch_url is None]
    assert shipped and fetch_sources(shipped, tmp_path / "cache", opener=_DIRECT) == []
    assert not (tmp_path / "cache").exists()


_REAL_PDF = SHARED / "corpus" / "real" / "juten-keikaku-2023" / "20230609_policies_priority_outline_05.pdf"


@pytest.mark.skipif(not _REAL_PDF.exists(), reason="../shared has no copy of the official PDF")
def test_manifest_checksum_matches_the_real_official_pdf(
    entries: list[ManifestEntry], server: _Server, tmp_path: Path
) -> None:
    """The real 重点計画2023 PDF, served locally, passes the manifest's own checksum."""
    server.files["/juten.pdf"] = _REAL_PDF.read_bytes()
    juten = replace(_by_id(entries)["juten-keikaku-2023"], fetch_url=server.url("/juten.pdf"))
    [result] = fetch_sources([juten], tmp_path, opener=_DIRECT)
    assert result.path == tmp_path / "juten-keikaku-2023.pdf"
    assert result.size == 1_217_255
    with contextlib.suppress(ImportError):
        from pypdf import PdfReader

        assert len(PdfReader(result.path).pages) == 118
