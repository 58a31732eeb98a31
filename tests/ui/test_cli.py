"""The `dxa` JSON contract (search, ask, status; batch forms) and the ingest summary for bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.factories import make_corrupt_pdf, make_encrypted_pdf, make_image_only_pdf, make_pdf
from ui.cli import main

HIT_KEYS = {"rank", "chunk_id", "doc_id", "title", "level", "edition", "page", "page_label", "section", "text", "score"}
CITATION_KEYS = {
    "n",
    "chunk_id",
    "doc_id",
    "title",
    "level",
    "edition",
    "page",
    "page_label",
    "page_count",
    "section",
    "quote",
    "source_url",
    "score",
}


@pytest.fixture
def store(tmp_path: Path, embed_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    make_settings(home, embed_cache)  # links the shared embedding cache
    monkeypatch.setenv("DXA_HOME", str(home))
    store = tmp_path / "store"
    assert main(["ingest", "--corpus", "--store", str(store), "--no-progress"]) == 0
    return store


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> list[dict]:
    capsys.readouterr()
    assert main(argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_search_ask_status_json(store: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    [res] = run_json(capsys, ["search", "計画の期間", "-k", "4", "--json", "--store", str(store)])
    assert set(res) == {"query", "hits"} and res["query"] == "計画の期間"
    assert len(res["hits"]) == 4
    for i, hit in enumerate(res["hits"], start=1):
        assert set(hit) == HIT_KEYS and hit["rank"] == i
        assert hit["page"] is None  # text documents have no page
        assert hit["level"] in {"city", "prefecture", "national", "other"}

    [ans] = run_json(capsys, ["ask", "計画の期間はいつからいつまでですか", "--json", "--store", str(store)])
    assert {"question", "answer", "mode", "refused", "citations", "timings_ms"} <= set(ans)
    assert ans["mode"] == "extractive" and ans["refused"] is False
    assert ans["citations"] and all(set(c) == CITATION_KEYS for c in ans["citations"])
    assert all(isinstance(v, float | int) for v in ans["timings_ms"].values())

    [status] = run_json(capsys, ["status", "--json", "--store", str(store)])
    docs = {d["doc_id"]: d for d in status["documents"]}
    assert set(docs) == {"atsugi-dx-policy", "jichitai-dx-digest", "kanagawa-dx-digest"}
    for d in docs.values():
        assert set(d) == {"doc_id", "title", "level", "edition", "path", "sha256", "pages", "chunks", "ingested_at"}
        assert d["chunks"] > 0 and len(d["sha256"]) == 64
    assert docs["atsugi-dx-policy"]["level"] == "city"

    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "q1", "query": "計画の期間"}\n{"id": "q2", "query": "フロントヤード改革"}\n', "utf-8")
    out = run_json(capsys, ["search", "--queries", str(queries), "-k", "3", "--json", "--store", str(store)])
    assert [o["id"] for o in out] == ["q1", "q2"] and all(len(o["hits"]) == 3 for o in out)
    questions = tmp_path / "a.jsonl"
    questions.write_text(
        '{"id": 1, "question": "計画の期間は"}\n{"id": 2, "question": "総務大臣は誰ですか"}\n', "utf-8"
    )
    out = run_json(capsys, ["ask", "--questions", str(questions), "--json", "--store", str(store)])
    assert [o["id"] for o in out] == [1, 2]
    assert out[0]["refused"] is False and out[1]["refused"] is True


def test_ask_writes_run_records(store: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from assistant.config import Settings
    from assistant.runlog import RunLog
    from ui.cli import cli_user

    [ans] = run_json(capsys, ["ask", "計画の期間はいつからいつまでですか", "--json", "--store", str(store)])
    questions = tmp_path / "a.jsonl"
    questions.write_text(
        '{"id": 1, "question": "計画の期間は"}\n{"id": 2, "question": "総務大臣は誰ですか"}\n', "utf-8"
    )
    batch = run_json(capsys, ["ask", "--questions", str(questions), "--json", "--store", str(store)])
    runs = RunLog.from_settings(Settings()).query(newest_first=False)  # DXA_HOME of the fixture
    assert [r.id for r in runs] == [ans["run_id"], *(o["run_id"] for o in batch)]
    assert [r.question for r in runs] == ["計画の期間はいつからいつまでですか", "計画の期間は", "総務大臣は誰ですか"]
    assert {r.user for r in runs} == {cli_user()} and cli_user().startswith("cli:")
    assert runs[0].answer == ans["answer"] and runs[0].citations == ans["citations"]
    assert [r.refused for r in runs] == [False, False, True]


def test_filters_on_the_command_line(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [res] = run_json(capsys, ["search", "DX", "--level", "national", "--json", "--store", str(store)])
    assert res["hits"] and {h["level"] for h in res["hits"]} == {"national"}
    [res] = run_json(capsys, ["search", "DX", "--doc", "atsugi-dx-policy", "--json", "--store", str(store)])
    assert {h["doc_id"] for h in res["hits"]} == {"atsugi-dx-policy"}


def test_bad_files_get_errors_and_the_index_survives(
    store: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "zero.pdf").write_bytes(b"")
    (bad / "fake.pdf").write_text("これはPDFではありません", encoding="utf-8")
    make_corrupt_pdf(bad / "corrupt.pdf")
    make_encrypted_pdf(bad / "locked.pdf")
    make_image_only_pdf(bad / "scan.pdf")
    (bad / "empty.txt").write_text("   \n", encoding="utf-8")
    make_pdf(bad / "good.pdf", ["第1章 概要\n本市はデジタル技術を活用して窓口の待ち時間を短縮する。"])
    before = run_json(capsys, ["status", "--json", "--store", str(store)])[0]

    capsys.readouterr()
    code = main(["ingest", str(bad), "--json", "--store", str(store), "--no-progress"])
    results = {Path(r["path"]).name: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert code == 1  # some files failed …
    assert results["good.pdf"]["status"] == "added"  # … the rest of the batch went on
    expected = {
        "zero.pdf": "empty",
        "fake.pdf": "not_pdf",
        "corrupt.pdf": "corrupt",
        "locked.pdf": "encrypted",
        "scan.pdf": "no_text",
        "empty.txt": "empty",
    }
    for name, kind in expected.items():
        r = results[name]
        assert r["status"] == "error" and r["error_kind"] == kind, r
        assert name in r["message"] and name in r["message_ja"]
    after = run_json(capsys, ["status", "--json", "--store", str(store)])[0]
    kept = {d["doc_id"]: d for d in after["documents"]}
    for d in before["documents"]:
        assert kept[d["doc_id"]] == d  # nothing already indexed was touched


def test_oversize_file_is_refused(
    store: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.txt"
    big.write_text("行政のデジタル化を進める。\n" * 40000, encoding="utf-8")
    monkeypatch.setenv("DXA_INGEST__MAX_FILE_MB", "0.5")
    capsys.readouterr()
    assert main(["ingest", str(big), "--json", "--store", str(store), "--no-progress"]) == 1
    [r] = json.loads(capsys.readouterr().out)["results"]
    assert r["error_kind"] == "too_large" and "big.txt" in r["message_ja"]


def test_remove(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["remove", "kanagawa-dx-digest", "--store", str(store)]) == 0
    [status] = run_json(capsys, ["status", "--json", "--store", str(store)])
    assert "kanagawa-dx-digest" not in {d["doc_id"] for d in status["documents"]}
    assert main(["remove", "kanagawa-dx-digest", "--store", str(store)]) == 1
    from assistant.audit import AuditLog
    from assistant.config import Settings

    [event] = AuditLog.from_settings(Settings()).events(kinds=["doc_remove"])  # the failed second one is not
    assert event.user.startswith("cli:") and event.detail.startswith("kanagawa-dx-digest（")


def test_corpus_file_that_differs_from_the_manifest_is_refused(
    tmp_path: Path, embed_cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from assistant.config import REPO_ROOT

    corpus = tmp_path / "corpus"
    shutil.copytree(REPO_ROOT / "corpus", corpus)
    city = corpus / "atsugi" / "atsugi-dx-plan-policy-2027-2032.txt"
    city.write_text(city.read_text(encoding="utf-8") + "\n追記された行\n", encoding="utf-8")
    home = tmp_path / "home"
    make_settings(home, embed_cache)
    monkeypatch.setenv("DXA_HOME", str(home))
    monkeypatch.setenv("DXA_CORPUS_DIR", str(corpus))
    capsys.readouterr()
    assert main(["ingest", "--corpus", "--json", "--no-progress"]) == 1
    results = {r["doc_id"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert results["atsugi-dx-policy"]["error_kind"] == "checksum"
    assert results["jichitai-dx-digest"]["status"] == "added"  # the rest of the corpus is indexed


def readme_contract() -> dict[str, list[str]]:
    """The key lists of README.md's "JSON contract" block, in their documented order."""
    from assistant.config import REPO_ROOT

    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("### JSON contract", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    search, ask = block.split("dxa ask", 1)[0], block.split("dxa ask", 1)[1].split("dxa status", 1)[0]

    def keys(part: str) -> list[str]:
        return re.findall(r'"(\w+)"', part)

    hits = search.split('"hits": [{', 1)[1].split("}]", 1)[0]
    citations = ask.split('"citations": [{', 1)[1].split("}]", 1)[0]
    answer = ask.split("→", 1)[1]
    answer_top = answer.replace(citations, "").split("(+", 1)
    return {
        "search": keys(search.split("→", 1)[1].replace(hits, "")),
        "hit": keys(hits),
        "ask": [k for k in keys(answer_top[0]) if k not in ("extractive", "llm")],
        "ask_optional": keys(answer_top[1]),
        "citation": keys(citations),
    }


def test_json_keys_are_the_documented_lists(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`dxa search/ask --json` keys, in order, are README's lists, and the run log stores the same citations."""
    from assistant.audit import AuditLog
    from assistant.config import Settings
    from assistant.pipeline import Pipeline

    documented = readme_contract()
    assert set(documented["hit"]) == HIT_KEYS
    assert set(documented["citation"]) == CITATION_KEYS and documented["ask_optional"] == ["notice", "unsupported"]
    [res] = run_json(capsys, ["search", "計画の期間", "-k", "3", "--json", "--store", str(store)])
    assert list(res) == documented["search"] == ["query", "hits"]
    assert all(list(h) == documented["hit"] for h in res["hits"])
    [ans] = run_json(capsys, ["ask", "計画の期間はいつからいつまでですか", "--json", "--store", str(store)])
    extra = [k for k in ans if k not in documented["ask"]]
    assert [k for k in ans if k in documented["ask"]] == documented["ask"]
    assert set(extra) <= set(documented["ask_optional"])
    assert ans["citations"] and all(list(c) == documented["citation"] for c in ans["citations"])

    settings = Settings().with_store(str(store))
    answer = Pipeline(settings).ask("計画の期間はいつからいつまでですか")
    assert [c.to_dict() for c in answer.citations] == ans["citations"]  # one serialiser: the CLI prints this
    audit = AuditLog.from_settings(settings)
    run_id = audit.record("staff1", answer)
    run = audit.get(run_id)
    assert run is not None and run.citations == [c.to_dict() for c in answer.citations]
