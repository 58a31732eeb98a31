"""Document ids are unique per source path: a different file never replaces another silently.

Same-named files in two folders, and Japanese names that share their ASCII residue (厚木市DX計画 and
県DX計画 both used to become "dx"), get ids of their own; an id given for a different file is an error
naming both paths; stores made with the old ids keep them.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from pathlib import Path

import pytest

from assistant.pipeline import Pipeline
from assistant.retrieve import Filters
from assistant.types import SourceInfo
from ingest.doc_ids import assign_doc_id
from ingest.indexer import ingest_file, ingest_paths, summary_lines
from ingest.manifest import load_manifest
from tests.conftest import make_settings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def texts(pipeline: Pipeline, doc_id: str) -> str:
    return " ".join(c.text for c in pipeline.index.document_chunks(doc_id))


def test_doc_id_is_a_stable_readable_slug(settings, tmp_path: Path) -> None:
    index = Pipeline(settings).index  # empty: every file gets the readable id of its name

    def doc_id(name: str) -> str:
        return assign_doc_id(index, tmp_path / name)

    assert doc_id("20230609_policies_priority_outline_05.pdf") == "20230609-policies-priority-outline-05"
    assert doc_id("ＤＸ Plan (v2).pdf") == "dx-plan-v2"  # full-width folded to ascii first
    assert doc_id("厚木市総合計画.pdf") == "厚木市総合計画"  # Japanese stays readable
    assert doc_id("厚木市DX計画.pdf") == "厚木市dx計画"
    assert doc_id("県DX計画.pdf") == "県dx計画"
    assert doc_id("\x1b[31m（）.txt") == "31m"  # escape characters never reach an id
    assert doc_id("（）.txt") == "doc"


def test_same_file_name_in_two_folders_gives_two_documents(settings, tmp_path: Path) -> None:
    pipeline = Pipeline(settings)
    a = write(tmp_path / "a" / "README.md", "# 窓口\n本庁舎の窓口は午前8時30分に開きます。\n")
    b = write(tmp_path / "b" / "README.md", "# 図書館\n中央図書館は月曜日が休館日です。\n")
    ra, rb = ingest_paths(pipeline.index, settings, [a, b])
    assert (ra.status, rb.status) == ("added", "added")
    assert ra.doc_id == "readme"
    assert re.fullmatch(r"readme-[0-9a-f]{8}", rb.doc_id)
    assert "午前8時30分" in texts(pipeline, ra.doc_id) and "月曜日" in texts(pipeline, rb.doc_id)
    paths = {d.doc_id: d.path for d in pipeline.index.documents()}
    assert paths == {ra.doc_id: str(a.resolve()), rb.doc_id: str(b.resolve())}

    # stable: the same paths map to the same ids, in any order, and a change replaces only its own document
    assert [r.status for r in ingest_paths(pipeline.index, settings, [b, a])] == ["unchanged", "unchanged"]
    write(b, "# 図書館\n中央図書館は火曜日が休館日です。\n")
    [again] = ingest_paths(pipeline.index, settings, [b])
    assert (again.status, again.doc_id) == ("replaced", rb.doc_id)
    assert "午前8時30分" in texts(pipeline, ra.doc_id) and "火曜日" in texts(pipeline, rb.doc_id)


def test_japanese_names_keep_readable_distinct_ids(settings, tmp_path: Path) -> None:
    pipeline = Pipeline(settings)
    city = write(tmp_path / "厚木市DX計画.txt", "厚木市の計画期間は令和9年度から6年間です。\n")
    pref = write(tmp_path / "県DX計画.txt", "神奈川県の計画は県全体のデジタル化を進めます。\n")
    results = ingest_paths(pipeline.index, settings, [city, pref])
    assert [(r.status, r.doc_id) for r in results] == [("added", "厚木市dx計画"), ("added", "県dx計画")]
    assert all(line.startswith("[追加]") for line in summary_lines(results))
    assert "令和9年度" in texts(pipeline, "厚木市dx計画") and "神奈川県" in texts(pipeline, "県dx計画")
    # unicode ids work in both halves of the store: the dense filter and the sparse index
    hits = pipeline.search("計画", 5, Filters(doc_ids=("県dx計画",))).hits
    assert hits and {h.chunk.doc_id for h in hits} == {"県dx計画"}
    dense = pipeline.index.dense_search(pipeline.embedder.embed_query("計画"), 5, doc_ids=["厚木市dx計画"])
    assert dense and {c.doc_id for c in pipeline.index.get_chunks([cid for cid, _ in dense])} == {"厚木市dx計画"}


def test_an_id_given_for_another_file_is_an_error_naming_both(
    tmp_path: Path, embed_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.cli import main

    home = tmp_path / "home"
    make_settings(home, embed_cache)
    monkeypatch.setenv("DXA_HOME", str(home))
    store = str(tmp_path / "store")
    first = write(tmp_path / "x" / "SOURCE.md", "# 出典\n厚木市の資料です。\n")
    other = write(tmp_path / "y" / "SOURCE.md", "# 出典\n神奈川県の資料です。\n")
    assert main(["ingest", str(first), "--doc-id", "source", "--store", store, "--no-progress"]) == 0
    capsys.readouterr()

    assert main(["ingest", str(other), "--doc-id", "source", "--store", store, "--no-progress"]) == 1
    out = capsys.readouterr()
    assert "[エラー]" in out.out and str(other) in out.out and str(first.resolve()) in out.out
    assert "置き換えませんでした" in out.out and "dxa remove source" in out.out
    assert str(first.resolve()) in out.err and "already belongs to another file" in out.err
    assert main(["status", "--json", "--store", store]) == 0
    [doc] = json.loads(capsys.readouterr().out)["documents"]
    assert doc["path"] == str(first.resolve())  # the first file's document is still there, untouched

    # the same path with the same id replaces, as before
    write(first, "# 出典\n厚木市の新しい資料です。\n")
    assert main(["ingest", str(first), "--doc-id", "source", "--json", "--store", store, "--no-progress"]) == 0
    [r] = json.loads(capsys.readouterr().out)["results"]
    assert (r["status"], r["doc_id"]) == ("replaced", "source")


def _old_doc_id_for_path(path: Path) -> str:
    """The id function stores were made with before ids became unique per path (kept here verbatim)."""
    stem = unicodedata.normalize("NFKC", path.stem).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")
    if len(re.sub(r"[^a-z]", "", slug)) < 2:
        slug = (slug + "-" if slug else "doc-") + hashlib.sha1(path.name.encode()).hexdigest()[:10]
    return slug[:80]


def test_a_store_made_with_the_old_ids_keeps_working(settings, tmp_path: Path) -> None:
    city = write(tmp_path / "厚木市DX計画.txt", "厚木市の計画期間は令和9年度から6年間です。\n")
    plan = write(tmp_path / "plan.md", "# 計画\n窓口の待ち時間を短縮します。\n")
    old_ids = {p: _old_doc_id_for_path(p) for p in (city, plan)}
    assert old_ids[city] == "dx"  # the residue that made 厚木市DX計画 and 県DX計画 collide
    old = Pipeline(settings)
    for path, doc_id in old_ids.items():
        src = SourceInfo(doc_id=doc_id, title=path.stem, level="other")
        assert ingest_file(old.index, settings, path, src).status == "added"
    old.index.db.close()

    reopened = Pipeline(settings)  # a later process opens the existing store
    assert {d.doc_id for d in reopened.index.documents()} == {"dx", "plan"}
    # re-ingesting the same paths finds their documents under the old ids (no duplicates)
    assert [(r.status, r.doc_id) for r in ingest_paths(reopened.index, settings, [city, plan])] == [
        ("unchanged", "dx"),
        ("unchanged", "plan"),
    ]
    write(city, "厚木市の計画期間は令和9年度から5年間です。\n")
    pref = write(tmp_path / "県DX計画.txt", "神奈川県の計画は県全体のデジタル化を進めます。\n")
    results = ingest_paths(reopened.index, settings, [city, pref])
    assert [(r.status, r.doc_id) for r in results] == [("replaced", "dx"), ("added", "県dx計画")]
    assert "5年間" in texts(reopened, "dx") and "神奈川県" in texts(reopened, "県dx計画")
    assert len(reopened.index.documents()) == 3


def test_the_bundled_corpus_keeps_its_manifest_ids(corpus_pipeline: Pipeline) -> None:
    settings = corpus_pipeline.settings
    shipped = {e.source.doc_id for e in load_manifest(settings.corpus_dir) if e.path is not None}
    assert shipped and {d.doc_id for d in corpus_pipeline.index.documents()} == shipped
