"""Ingest of real documents: the 118-page government PDF, the official Markdown guidebooks, a GeoPackage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.pipeline import Pipeline
from assistant.types import NOTES_META
from ingest.indexer import ingest_paths
from tests.conftest import shared_path
from tests.factories import make_gpkg
from ui.cli import main


@pytest.mark.slow
def test_real_pdf_118_pages_clean_chunks_and_cheap_rerun(
    tmp_path: Path, embed_cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = shared_path("corpus", "real", "juten-keikaku-2023", "20230609_policies_priority_outline_05.pdf")
    home = tmp_path / "home"
    home.mkdir()
    (home / "cache").symlink_to(embed_cache, target_is_directory=True)
    monkeypatch.setenv("DXA_HOME", str(home))
    store = tmp_path / "store"
    assert main(["ingest", str(pdf), "--store", str(store), "--no-progress", "--json"]) == 0
    [first] = json.loads(capsys.readouterr().out)["results"]
    assert first["status"] == "added" and first["pages"] == 118

    assert main(["status", "--json", "--store", str(store)]) == 0
    [doc] = json.loads(capsys.readouterr().out)["documents"]
    assert doc["pages"] == 118 and doc["chunks"] == first["chunks"]
    assert doc["doc_id"] == "juten-keikaku-2023"  # the manifest knows this file by its sha256

    from assistant.config import Settings

    pipeline = Pipeline(Settings().with_store(store))
    chunks = pipeline.index.document_chunks(doc["doc_id"])
    pages = {c.page for c in chunks}
    assert pages <= set(range(1, 119)) and len(pages) >= 110
    # pages 6-118 print their number (physical page - 5) at the top: it must not survive in any chunk
    for page in (10, 25, 40, 57, 80, 99, 117):
        printed = str(page - 5)
        for c in (c for c in chunks if c.page == page):
            first_line = c.text.split("\n", 1)[0].strip()
            assert first_line != printed, (page, c.text[:40])
            assert not re.fullmatch(r"[-－ ]*\d{1,3}[-－ ]*", c.text.strip().split("\n")[-1]), (page, c.text[-40:])
    assert not any(re.search(r"[・.．…]{6,}\s*\d+", c.text) for c in chunks)  # no TOC dot leaders

    misses = pipeline.embedder.misses
    assert main(["ingest", str(pdf), "--store", str(store), "--no-progress", "--json"]) == 0
    [second] = json.loads(capsys.readouterr().out)["results"]
    assert second["status"] == "unchanged"
    assert second["seconds"] < 0.05 * first["seconds"]
    assert pipeline.embedder.misses == misses


@pytest.mark.slow
def test_official_markdown_guidebooks(settings, tmp_path: Path) -> None:
    folder = shared_path("corpus", "real", "gif-guidebooks")
    pipeline = Pipeline(settings)
    files = sorted(p for p in folder.glob("*.md") if p.name != "SOURCE.md")
    results = ingest_paths(pipeline.index, settings, files)
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    hits = pipeline.search("データマネジメントとは何か", k=3).hits
    assert hits and any("データマネジメント" in h.chunk.text for h in hits)
    assert all(" > " in h.chunk.section or h.chunk.section for h in hits)
    # a glossary table keeps one row per line: no row is glued to the next (「…こと。||KPI|…」)
    rows = [
        line
        for r in results
        for c in pipeline.index.document_chunks(r.doc_id)
        for line in c.text.split("\n")
        if line.startswith("|")
    ]
    assert len(rows) > 100
    glued = [line[:60] for line in rows if re.search(r"[。)]\|\|(?=\S)|\|\|-{3,}", line)]
    assert not glued, glued[:3]
    answer = pipeline.ask("データマネジメントのガイドブックの用語集で、KPIとは何の略ですか").to_dict()
    assert "Key Performance Indicator" in answer["answer"] and "|" not in answer["answer"]
    # the converters' inline HTML is gone from the index; a figure keeps its caption as a line
    texts = [c.text for r in results for c in pipeline.index.document_chunks(r.doc_id)]
    assert not [t[:80] for t in texts if re.search(r"<(?:img|figure|figcaption|br)\b", t)]
    assert any(line.strip() == "図2経験点の減衰" for t in texts for line in t.split("\n"))
    # a blank line ends a Markdown paragraph: the keyword label is not glued to the keywords
    labels = [line for t in texts for line in t.split("\n") if "キーワード" in line and line.startswith("**")]
    assert labels and all(re.fullmatch(r"\*\*[〔\[]キーワード[〕\]]\*\*", line) for line in labels), labels
    # footnote definitions are footnotes of the chunks whose markers cite them, not sentences of the last section
    assert not [t[:80] for t in texts if re.search(r"^\[\^\d+\]:", t, re.M)]
    chunks = {c.chunk_id: c for r in results for c in pipeline.index.document_chunks(r.doc_id)}
    links = [
        (c, n, chunks[cid])
        for c in chunks.values()
        if NOTES_META in c.meta
        for n, cid in json.loads(str(c.meta[NOTES_META]))
    ]
    assert len(links) >= 20 and all(f"[^{n}]" in c.text for c, n, _ in links)
    law = next(holder for c, n, holder in links if "デジタル手続法[^" in c.text)
    assert "平成14年法律第151号" in law.text


def test_geopackage_features_become_cited_records(settings, tmp_path: Path) -> None:
    gpkg = make_gpkg(tmp_path / "facilities.gpkg")
    pipeline = Pipeline(settings)
    [r] = ingest_paths(pipeline.index, settings, [gpkg])
    assert r.ok, r.message
    chunks = pipeline.index.document_chunks(r.doc_id)
    points = [c for c in chunks if "x" in c.meta]
    assert points and all(c.meta.get("crs") == "EPSG:4326" for c in points)
    city_hall = next(c for c in points if "厚木市役所" in c.text)
    assert abs(float(city_hall.meta["x"]) - 139.36) < 0.01 and city_hall.meta["layer"] == "公共施設"
    hits = pipeline.search("厚木市役所の住所", k=3).hits
    assert hits[0].chunk.chunk_id == city_hall.chunk_id
