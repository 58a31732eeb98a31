"""The matrix as JSON (`dxa align --json`): rows with their evidence, 関連の可能性 and gaps."""

from __future__ import annotations

from assistant.align.matrix import AlignmentMatrix, AlignmentRow
from assistant.types import Citation


def citation_json(c: Citation, side: str) -> dict[str, object]:
    ch = c.chunk
    return {
        "n": c.n,
        "side": side,
        "chunk_id": ch.chunk_id,
        "doc_id": ch.doc_id,
        "title": ch.title,
        "level": ch.level,
        "edition": ch.edition,
        "page": ch.page,
        "section": ch.section,
        "quote": c.quote,
    }


def row_json(row: AlignmentRow) -> dict[str, object]:
    it = row.item
    return {
        "item_id": it.item_id,
        "level": it.level,
        "doc_id": it.doc_id,
        "section": it.section,
        "chapter": it.chapter,
        "item": it.heading,
        "verdict": row.verdict,
        "score": round(row.score, 4),
        "judged_by": row.judged_by,
        "reason": row.reason,
        "source_quotes": [c.quote for c in row.source_quotes],
        "city_quotes": [c.quote for c in row.city_quotes],
        "citations": [citation_json(c, "source") for c in row.source_quotes]
        + [citation_json(c, "city") for c in row.city_quotes],
        "concepts": row.concepts,
        "related": [citation_json(c, "related") for c in row.related],
        "nearest": [
            {
                "chunk_id": m.chunk.chunk_id,
                "section": m.chunk.section,
                "score": round(m.score, 4),
                "verdict": m.verdict,
                "evidence": m.evidence,
            }
            for m in row.matches
        ],
    }


def matrix_json(matrix: AlignmentMatrix, gaps: bool = True) -> dict[str, object]:
    out: dict[str, object] = {
        "rows": [row_json(r) for r in matrix.rows],
        "thresholds": {"一部対応": matrix.thresholds[0], "対応あり": matrix.thresholds[1]},
    }
    if gaps:
        out["gaps"] = [
            {
                "item_id": r.item.item_id,
                "item": r.item.heading,
                "verdict": r.verdict,
                "score": round(r.score, 4),
                "source_quote": r.source_quotes[0].quote if r.source_quotes else "",
            }
            for r in matrix.gaps()
        ]
    if matrix.notice:
        out["notice"] = matrix.notice
    return out
