"""Our digests are indexed as statements only: no 〔出典N〕, URLs, notes or source list; each sentence keeps its URL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.config import IngestSettings
from assistant.types import SOURCES_META, Chunk, quote_source_url
from ingest.chunk import chunk_document
from ingest.digest import is_digest, prepare_digest, source_list
from ingest.loaders import load_document
from ingest.manifest import load_manifest

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT / "corpus"
DIGESTS = ("jichitai-dx-digest", "kanagawa-dx-digest")
BOOKKEEPING = re.compile(
    r"〔出典|https?://|%[0-9A-Fa-f]{2}|^\s*>|\||\*\*|確認でき|見つかりませんでした|本要約では", re.M
)

HOSTILE = """# テスト要約（非公式）

> 本資料は非公式の要約です。本要約では確認できませんでした〔出典1〕。

## 1 概要

一文目です〔出典1〕。二文目は途中で〔出典2〕、続きます〔出典3〕。
三文目は二つの出典を持ちます〔出典1〕〔出典2〕。

### 1.1 空の節

> 注記: この節の内容は未確認です〔出典1〕。

## 2 次の節

「かぎ括弧で終わる文です。」〔出典3〕 最後の文です〔出典2〕。

## 出典

1. 一 https://a.example/1 （facts.md: A1）
2. 二 https://b.example/2 https://b.example/alt （facts.md: A2）
3. 三 https://c.example/%E3%81%82 （facts.md: A3）
"""


def _load(path: Path) -> list[Chunk]:
    return chunk_document(load_document(path, None, IngestSettings()))


def test_a_digest_is_indexed_without_its_bookkeeping(tmp_path: Path) -> None:
    path = tmp_path / "test-digest.md"
    path.write_text(HOSTILE, encoding="utf-8")
    chunks = _load(path)
    text = "\n".join(c.text for c in chunks)
    assert not BOOKKEEPING.search(text), BOOKKEEPING.search(text)
    assert "空の節" not in text  # a section that held only a note is not indexed
    assert "## 出典" not in text and "facts.md" not in text and "一 " not in text
    expected = {
        "一文目です。": "https://a.example/1",
        "二文目は途中で": "https://b.example/2",
        "続きます。": "https://c.example/%E3%81%82",
        "三文目は二つの出典を持ちます。": "https://a.example/1",
        "「かぎ括弧で終わる文です。」": "https://c.example/%E3%81%82",
        "最後の文です。": "https://b.example/2",
    }
    for sentence, url in expected.items():
        chunk = next(c for c in chunks if sentence in c.text)
        assert quote_source_url(chunk, sentence) == url, sentence
    heading = next(c for c in chunks if c.text.startswith("# テスト要約"))
    assert quote_source_url(heading, "テスト要約") is None


def test_markdown_without_a_source_list_is_loaded_as_written(tmp_path: Path) -> None:
    text = "# メモ\n\n> 引用です。\n\n本文です〔出典1〕。\n"
    assert not is_digest(text)
    path = tmp_path / "memo.md"
    path.write_text(text, encoding="utf-8")
    chunks = _load(path)
    assert "〔出典1〕" in "\n".join(c.text for c in chunks)
    assert all(SOURCES_META not in c.meta for c in chunks)


def test_prepare_digest_offsets_point_at_the_sentences() -> None:
    digest = prepare_digest(HOSTILE)
    assert digest.sources[2] == ["https://b.example/2", "https://b.example/alt"]
    pieces = [(digest.text[s:e], urls[0]) for s, e, urls in digest.spans]
    assert ("一文目です。", "https://a.example/1") in pieces
    assert ("二文目は途中で、", "https://b.example/2") in pieces


@pytest.mark.parametrize("doc_id", DIGESTS)
def test_bundled_digest_chunks_are_statements_with_a_source_url(doc_id: str) -> None:
    entry = next(e for e in load_manifest(CORPUS) if e.doc_id == doc_id)
    assert entry.path is not None
    raw = entry.path.read_text(encoding="utf-8")
    urls = {u for entry_urls in source_list(raw).values() for u in entry_urls}
    chunks = chunk_document(load_document(entry.path, entry.source, IngestSettings()))
    assert len(chunks) >= 10
    statements = 0
    for chunk in chunks:
        for line in chunk.text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue  # headings are structure (and are never answer sentences)
            assert not BOOKKEEPING.search(line), line
            for sentence in re.findall(r"[^。]+。", line):
                sentence = sentence.strip()
                url = quote_source_url(chunk, sentence)
                assert url in urls, f"no source URL for: {sentence}"
                statements += 1
    assert statements >= 20
