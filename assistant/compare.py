"""Compare a previous plan with a new draft: which statements are new, kept or dropped.

Both sides are split into sentences (each keeps its section); a sentence is `kept` when the other
side has one whose character-bigram similarity (Dice) reaches `plan.compare_threshold`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.answer.citations import bigrams, split_sentences

if TYPE_CHECKING:
    from assistant.pipeline import Pipeline

_MARKER = re.compile(r"\[\d{1,3}\]")
_HEADING = re.compile(r"^\s*#{1,6}\s*(.+?)\s*$")


@dataclass(frozen=True)
class Statement:
    section: str
    text: str


@dataclass
class Pairing:
    new: Statement
    old: Statement | None
    similarity: float


@dataclass
class Comparison:
    old_id: str
    new_id: str
    kept: list[Pairing] = field(default_factory=list)
    new: list[Statement] = field(default_factory=list)
    dropped: list[Statement] = field(default_factory=list)


def dice(a: str, b: str) -> float:
    ba, bb = bigrams(_MARKER.sub("", a)), bigrams(_MARKER.sub("", b))
    return 2 * len(ba & bb) / (len(ba) + len(bb)) if ba and bb else 0.0


def statements_of_text(text: str) -> list[Statement]:
    """Sentences of a Markdown / plain draft; `#` headings set the section, the 出典 list is left out."""
    out: list[Statement] = []
    section = ""
    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            section = m.group(1)
            if section == "出典":
                break
            continue
        out += [Statement(section, s) for s in split_sentences(line) if len(s) >= 8 and not s.startswith("【")]
    return out


def statements_of_document(pipeline: Pipeline, doc_id: str) -> list[Statement]:
    out: list[Statement] = []
    for chunk in pipeline.index.document_chunks(doc_id):
        out += [Statement(chunk.section, s) for s in split_sentences(chunk.text) if len(s) >= 8]
    return out


def compare_statements(old: list[Statement], new: list[Statement], threshold: float = 0.5) -> Comparison:
    result = Comparison("", "")
    matched_old: set[int] = set()
    for s in new:
        scored = [(dice(s.text, o.text), i) for i, o in enumerate(old)]
        best, i = max(scored, default=(0.0, -1))
        if best >= threshold:
            result.kept.append(Pairing(s, old[i], round(best, 3)))
            matched_old.add(i)
        else:
            result.new.append(s)
    for i, o in enumerate(old):
        if i not in matched_old and max((dice(o.text, s.text) for s in new), default=0.0) < threshold:
            result.dropped.append(o)
    return result


def compare_documents(pipeline: Pipeline, old_doc_id: str, new_text_or_doc_id: str) -> Comparison:
    """Items new / kept / dropped between an indexed older document and a draft (text or doc id)."""
    old = statements_of_document(pipeline, old_doc_id)
    if not old:
        from assistant.errors import DXAError

        raise DXAError(
            f"document {old_doc_id} is not indexed",
            message_ja=f"比較元の文書 {old_doc_id} が索引にありません。",
            hint_ja="dxa status で文書IDを確認し、旧計画を dxa ingest で登録してください。",
        )
    is_doc = "\n" not in new_text_or_doc_id and pipeline.index.document(new_text_or_doc_id) is not None
    new = statements_of_document(pipeline, new_text_or_doc_id) if is_doc else statements_of_text(new_text_or_doc_id)
    result = compare_statements(old, new, pipeline.settings.plan.compare_threshold)
    result.old_id, result.new_id = old_doc_id, new_text_or_doc_id if is_doc else "(draft)"
    return result
