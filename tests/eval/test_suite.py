"""Suite loading: the bundled suites are valid, and malformed files fail with the file and case id."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import NotFoundError
from eval.metrics import norm
from eval.suite import KINDS, SuiteError, bundled_suites, load_suite

GOOD = """
name: tiny
description: test
thresholds:
  hit@5: 0.5
  unsupported_rate: {max: 0.2}
  latency_p95_ms: 5000
cases:
  - id: q1
    question: 計画の期間は
    expected: [6年間]
    gold: [{doc_id: atsugi-dx-policy, section: "4 計画の期間"}]
  - id: q2
    question: 厚木市の天気は
    kind: unanswerable
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_load_good_suite(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, GOOD))
    assert suite.name == "tiny" and [c.id for c in suite.cases] == ["q1", "q2"]
    assert not suite.cases[1].answerable and suite.cases[0].gold[0].section == "4 計画の期間"
    t = {t.metric: t for t in suite.thresholds}
    assert t["hit@5"].min == 0.5 and t["unsupported_rate"].max == 0.2
    assert t["latency_p95_ms"].max == 5000  # lower-is-better metrics read a bare number as a maximum
    assert t["hit@5"].passes(0.6) and not t["hit@5"].passes(0.4) and not t["hit@5"].passes(None)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("cases: []", "cases"),
        ("cases:\n  - {question: x, expected: [a]}", "#1"),
        ("cases:\n  - {id: a1, question: x, kind: guess, expected: [a]}", "case a1"),
        ("cases:\n  - {id: a1, question: x}", "case a1"),
        ("cases:\n  - {id: a1, question: x, expected: [a]}\n  - {id: a1, question: y, expected: [b]}", "duplicate"),
        ("cases:\n  - {id: u1, question: x, kind: unanswerable, expected: [a]}", "case u1"),
        ("cases:\n  - {id: g1, question: x, gold: [{section: a}]}", "case g1"),
        ("thresholds: {hit@50: 1}\ncases:\n  - {id: a1, question: x, expected: [a]}", "hit@50"),
        ("cases:\n  - {id: a1, question: x, expeted: [a]}", "expeted"),
        ("cases: [\n", "YAML"),
    ],
)
def test_malformed_suites_name_file_and_case(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    assert str(path) in str(err.value) and needle in str(err.value)
    assert str(path) in err.value.user_message("ja")


def test_unknown_suite_name() -> None:
    with pytest.raises(NotFoundError):
        load_suite("no-such-suite")


def test_bundled_plan_suite_is_sound() -> None:
    """Coverage promised in eval/README.md, and every expected string is really in the corpus."""
    assert "plan" in bundled_suites()
    suite = load_suite("plan")
    kinds = {k: sum(c.kind == k for c in suite.cases) for k in KINDS}
    assert len(suite.cases) >= 60 and kinds["unanswerable"] >= 10 and kinds["alignment"] >= 10
    for case in suite.cases:
        if case.kind == "alignment":
            assert len({g.doc_id for g in case.gold}) >= 2, case.id
    corpus = Path(__file__).resolve().parents[2] / "corpus"
    text = "".join(norm(p.read_text(encoding="utf-8")) for p in corpus.rglob("*") if p.suffix in (".txt", ".md"))
    for case in suite.cases:
        for e in case.expected:
            assert norm(e) in text, (case.id, e)
    calibration = (corpus.parent / "eval" / "calibration" / "refusal.jsonl").read_text(encoding="utf-8")
    for case in suite.cases:
        assert f'"{case.question}"' not in calibration, case.id


def test_jsquad_converter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from eval.jsquad_suite import main as jsquad_main
    from tests.conftest import shared_path

    assert jsquad_main(["--data", str(tmp_path / "absent.json")]) == 0  # skips cleanly
    assert "skipped" in capsys.readouterr().out
    data = shared_path("bench", "jsquad", "valid-v1.3.json")
    assert jsquad_main(["--data", str(data), "--limit", "7", "--out", str(tmp_path / "jsq")]) == 0
    suite = load_suite(tmp_path / "jsq" / "jsquad.yaml")
    assert len(suite.cases) == 7 and suite.corpus == (str((tmp_path / "jsq" / "corpus").resolve()),)
    texts = {p.stem: norm(p.read_text(encoding="utf-8")) for p in (tmp_path / "jsq" / "corpus").glob("*.txt")}
    for case in suite.cases:
        assert norm(case.expected[0]) in texts[case.gold[0].doc_id]
