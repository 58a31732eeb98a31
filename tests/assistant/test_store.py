"""The index: replace/remove, consistency between Chroma and SQLite, repair, server mode."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from assistant.pipeline import Pipeline
from assistant.types import SourceInfo
from ingest.indexer import ingest_paths
from tests.conftest import make_settings

TEXT_A = """# 第1章 計画の概要

## 1 計画の趣旨
本計画は、市民サービスの向上と行政運営の効率化を目的として、デジタル技術の活用方針を定めるものです。

## 2 計画の期間
計画の期間は令和９年度から令和14年度までの６年間とします。
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def consistent(pipeline: Pipeline) -> None:
    index = pipeline.index
    sqlite_ids = index.chunk_ids()
    assert index.vectors.all_ids() == sqlite_ids
    assert sum(d.chunks for d in index.documents()) == len(sqlite_ids)
    sparse = index.sparse_indexes()
    for bm25 in sparse.values():
        assert set(bm25.ids) == sqlite_ids


def test_ingest_replace_remove(settings, tmp_path: Path) -> None:
    pipeline = Pipeline(settings)
    doc = write(tmp_path / "plan.md", TEXT_A)
    [r] = ingest_paths(pipeline.index, settings, [doc])
    assert r.status == "added" and r.chunks > 0
    first_ids = pipeline.index.chunk_ids()
    consistent(pipeline)

    [r] = ingest_paths(pipeline.index, settings, [doc])
    assert r.status == "unchanged"
    assert pipeline.index.chunk_ids() == first_ids

    write(doc, TEXT_A.replace("６年間", "５年間"))
    [r] = ingest_paths(pipeline.index, settings, [doc])
    assert r.status == "replaced"
    consistent(pipeline)
    texts = " ".join(c.text for c in pipeline.index.document_chunks(r.doc_id))
    assert "5年間" in texts and "6年間" not in texts

    assert pipeline.index.remove_document(r.doc_id) > 0
    assert pipeline.index.documents() == []
    consistent(pipeline)
    assert pipeline.index.remove_document(r.doc_id) == -1


def test_reconcile_repairs_orphans_and_missing_vectors(settings, tmp_path: Path) -> None:
    pipeline = Pipeline(settings)
    [r] = ingest_paths(pipeline.index, settings, [write(tmp_path / "a.md", TEXT_A)])
    index = pipeline.index
    # an orphan vector (as a kill between the Chroma write and the SQLite commit leaves) …
    index.vectors.add(["ghost:0001"], np.ones((1, index.embedder.dim), dtype=np.float32) / 20, [{"doc_id": "ghost"}])
    # … and a chunk whose vector is gone
    victim = sorted(index.chunk_ids())[0]
    index.vectors.delete([victim])
    repaired = index.reconcile()
    assert repaired["orphans_removed"] == 1 and repaired["missing_readded"] == 1
    consistent(pipeline)


def test_embeddings_are_cached_by_content(settings, tmp_path: Path) -> None:
    pipeline = Pipeline(settings)
    [r] = ingest_paths(pipeline.index, settings, [write(tmp_path / "plan.md", TEXT_A)])
    pipeline.index.remove_document(r.doc_id)
    misses = pipeline.embedder.misses
    ingest_paths(pipeline.index, settings, [write(tmp_path / "plan.md", TEXT_A)])
    assert pipeline.embedder.misses == misses  # same text: nothing re-embedded


def test_sparse_index_sees_other_writers(settings, tmp_path: Path) -> None:
    reader, writer = Pipeline(settings), Pipeline(settings)
    assert reader.index.sparse_indexes()["bigram"].ids == []
    ingest_paths(writer.index, settings, [write(tmp_path / "a.md", TEXT_A)])
    assert set(reader.index.sparse_indexes()["bigram"].ids) == writer.index.chunk_ids()


def test_dense_search_sees_another_process_writing(settings, tmp_path: Path) -> None:
    """An upload job or `dxa ingest` writes from its own process; the UI's open index must find its vectors."""
    import subprocess
    import sys

    reader = Pipeline(settings)
    vector = reader.embedder.embed_query("計画の期間はいつまでですか")
    assert reader.index.dense_search(vector, 5) == []  # the reader has its HNSW index open, empty
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "ingest", str(write(tmp_path / "a.md", TEXT_A)), "--no-progress"],
        env=dict(os.environ, DXA_HOME=str(settings.home)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    found = {cid for cid, _ in reader.index.dense_search(vector, 5)}
    assert found and found == reader.index.chunk_ids()


@pytest.mark.server
def test_chroma_server_mode(tmp_path: Path, embed_cache: Path) -> None:
    url = os.environ.get("DXA_TEST_CHROMA_URL")
    if not url:
        pytest.skip("DXA_TEST_CHROMA_URL not set (scripts/test.sh starts a Chroma server)")
    settings = make_settings(tmp_path / "home", embed_cache, store={"chroma_url": url})
    pipeline = Pipeline(settings)
    [r] = ingest_paths(pipeline.index, settings, [write(tmp_path / "plan.md", TEXT_A)])
    assert r.ok, r.message
    consistent(pipeline)
    hits = pipeline.search("計画の期間はいつまでですか", k=3).hits
    assert any("令和" in h.chunk.text and "期間" in h.chunk.section + h.chunk.text for h in hits)
    assert pipeline.index.remove_document(r.doc_id) > 0
    consistent(pipeline)


def test_dense_search_is_exact_and_follows_changes(settings, tmp_path: Path) -> None:
    """Dense search ranks every stored vector by cosine (ties by id), filtered like Chroma's `where`, and sees
    a document added after its first search; with `exact_search_max` 0 Chroma's HNSW index answers instead."""
    pipeline = Pipeline(settings)
    index = pipeline.index
    ingest_paths(pipeline.index, settings, [write(tmp_path / "plan.md", TEXT_A)])
    query = index.embedder.embed_query("計画の期間はいつまでですか")

    def brute(allowed: set[str] | None = None) -> list[tuple[str, float]]:
        vectors = index.chunk_vectors(sorted(index.chunk_ids()))
        scored = [(cid, float(v @ query / np.linalg.norm(v) / np.linalg.norm(query))) for cid, v in vectors.items()]
        return sorted((s for s in scored if allowed is None or s[0] in allowed), key=lambda kv: (-kv[1], kv[0]))

    got = index.dense_search(query, 3)
    assert [c for c, _ in got] == [c for c, _ in brute()[:3]]
    assert [s for _, s in got] == pytest.approx([s for _, s in brute()[:3]], abs=1e-5)
    other = write(tmp_path / "other.md", "# 別の資料\n\n## 1 概要\n市の窓口では、手続のオンライン化を進める。\n")
    info = SourceInfo(doc_id="other", title="別の資料", level="prefecture")
    [r] = ingest_paths(pipeline.index, settings, [other], source=info)
    assert r.ok and len(index.dense_search(query, 50)) == len(index.chunk_ids())  # the new chunks are searched
    only = index.dense_search(query, 50, levels=["prefecture"])
    assert only and {c for c, _ in only} == index.allowed_ids(levels=["prefecture"])
    assert [c for c, _ in only] == [c for c, _ in brute(index.allowed_ids(levels=["prefecture"]))]
    settings.store.exact_search_max = 0  # the HNSW index: the same neighbours on a store this small
    assert [c for c, _ in index.dense_search(query, 3)] == [c for c, _ in brute()[:3]]
