"""The matrix as JSON (`dxa align --json`): rows (AlignmentRow.to_dict), thresholds and gaps."""

from __future__ import annotations

from assistant.align.matrix import AlignmentMatrix, side_citation
from assistant.types import Citation


def citation_json(c: Citation, side: str) -> dict[str, object]:
    """A 整合表 or draft citation: Citation.to_dict() plus its side (kept for `dxa draft --json`)."""
    return side_citation(c, side)


def matrix_json(matrix: AlignmentMatrix, gaps: bool = True) -> dict[str, object]:
    out: dict[str, object] = {
        "rows": [r.to_dict() for r in matrix.rows],
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
