"""Build an evaluation suite from JSQuAD v1.3 valid: the passages as a corpus to ingest, plus a suite YAML.

    python -m eval.jsquad_suite [--data PATH] [--limit N] [--out DIR]
    dxa eval run DIR/jsquad.yaml --store DIR/store

One text file per paragraph (doc_id = file stem), one case per question: expected = the first gold
answer, gold = that paragraph. Nothing is committed: the data lives in ../shared and the output in
<DXA_HOME>/eval/jsquad by default. Exits 0 with a message when the data set is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from assistant.config import REPO_ROOT, Settings

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "bench" / "jsquad" / "valid-v1.3.json"


def build_suite(data: dict[str, Any], out_dir: Path, limit: int) -> tuple[Path, int, int]:
    """Write out_dir/corpus/*.txt and out_dir/jsquad.yaml; returns (suite path, cases, passages)."""
    corpus = out_dir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    cases: list[dict[str, Any]] = []
    passages = 0
    for a, article in enumerate(data["data"]):
        for p, para in enumerate(article["paragraphs"]):
            if len(cases) >= limit:
                break
            doc_id = f"jsquad-a{a:03d}-p{p:02d}"
            qas = [q for q in para["qas"] if not q.get("is_impossible") and q.get("answers")]
            if not qas:
                continue
            (corpus / f"{doc_id}.txt").write_text(para["context"].replace(" [SEP] ", "\n", 1), encoding="utf-8")
            passages += 1
            for q in qas[: limit - len(cases)]:
                cases.append(
                    {
                        "id": q["id"],
                        "question": q["question"],
                        "kind": "fact",
                        "expected": [q["answers"][0]["text"]],
                        "gold": [{"doc_id": doc_id}],
                        "tags": ["jsquad", article["title"]],
                    }
                )
    suite = {
        "name": "jsquad",
        "description": f"JSQuAD v1.3 valid の先頭 {len(cases)} 問（{passages} 段落を索引に登録して評価）",
        "corpus": ["corpus"],
        "thresholds": {},
        "cases": cases,
    }
    path = out_dir / "jsquad.yaml"
    path.write_text(yaml.safe_dump(suite, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path, len(cases), passages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=200, help="number of questions (default 200)")
    parser.add_argument("--out", type=Path, help="output directory (default <DXA_HOME>/eval/jsquad)")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"JSQuAD が見つからないためスキップします / skipped: {args.data} is not available")
        return 0
    out = args.out or Settings().home / "eval" / "jsquad"
    path, n_cases, n_passages = build_suite(json.loads(args.data.read_text(encoding="utf-8")), out, args.limit)
    print(f"{path}: {n_cases} 問, {n_passages} 段落 ({out / 'corpus'})")
    print(f"実行: dxa eval run {path} --store {out / 'store'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
