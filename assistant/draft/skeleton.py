"""The draft without an LLM: cited source sentences under 背景 / 国の方針 / 県の方針 / 本市の方向性（案）.

Only content sentences are used (headings, title lines and schedule rows never become sentences),
digest notes and unconfirmed statements are never drafted, and 国・県の方針 prefer sentences that
ask something of municipalities. With `style="dearu"` each quote is converted to である調 (style.py)
and marked as a paraphrase; the 出典 keeps the exact quote. 本市の方向性（案） is the city text for
the section plus its gap list: what the national and prefectural items near the section ask that
the city text does not yet say (記載なし / 一部対応 rows of the matrix), each a cited 【検討】 line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.align.evidence import content_sentences
from assistant.answer.citations import bigrams, verify_quote
from assistant.draft.model import Draft, DraftSection, DraftSentence, Style
from assistant.draft.style import to_dearu
from assistant.retrieve import Filters
from assistant.types import Chunk, Citation, Hit

if TYPE_CHECKING:
    from assistant.align.matrix import AlignmentRow
    from assistant.pipeline import Pipeline

HEADINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("背景", ("city",)),
    ("国の方針", ("national",)),
    ("県の方針", ("prefecture",)),
    ("本市の方向性（案）", ("city",)),
)
_NOTE = re.compile(r"〔出典\d+〕")
# a digest's own notes and statements it could not confirm: never drafted as content
_UNCONFIRMED = re.compile(
    r"確認でき(?:なかった|ませんでした|ていない|ない)|未確認|確認していない|不明|要約|解説記事|本資料|非公式|とされる|とする記事|報道によると"
)
_ASKS_MUNICIPALITIES = re.compile(r"地方公共団体|自治体|市区町村|市町村")
GAP_LINES = 3


def _placeholder(what: str, style: Style) -> str:
    tone = "である調" if style == "dearu" else "ですます調"
    return f"【要記入：{what}（{tone}）】"


def sentence_with_marker(quote: str, n: int) -> str:
    """A sentence shown with its marker before the final 。 (the digest's 〔出典N〕 notes removed)."""
    body = _NOTE.sub("", quote).strip()
    end = body[-1] if body and body[-1] in "。！？" else ""
    return f"{body[: len(body) - len(end)]}[{n}]{end or '。'}"


def retrieve(pipeline: Pipeline, query: str, levels: Sequence[str], k: int) -> list[Hit]:
    return pipeline.search(query, k, Filters(levels=tuple(levels)), balance=False).hits


def draftable(sentence: str) -> bool:
    return not _UNCONFIRMED.search(sentence) and "|" not in sentence and len(sentence) >= 15


def ranked_sentences(hits: Sequence[Hit], query: str, prefer_municipal: bool) -> list[tuple[str, Hit]]:
    """Content sentences of the hits, best first: (asks municipalities,) overlap with the query, hit rank."""
    qb = bigrams(query)
    out: list[tuple[tuple[float, ...], str, Hit]] = []
    for rank, hit in enumerate(hits):
        for s in content_sentences(hit.chunk):
            if not draftable(s):
                continue
            overlap = len(bigrams(s) & qb) / (len(qb) or 1)
            muni = 1.0 if prefer_municipal and _ASKS_MUNICIPALITIES.search(s) else 0.0
            out.append(((-muni, -overlap, rank), s, hit))
    out.sort(key=lambda t: t[0])
    return [(s, h) for _, s, h in out]


class _Builder:
    def __init__(self, style: Style) -> None:
        self.style = style
        self.citations: list[Citation] = []
        self.seen: set[str] = set()

    def cite(
        self, chunk: Chunk, quote: str, score: float, *, prefix: str = "", kind: str = "quote"
    ) -> DraftSentence | None:
        if quote in self.seen or not verify_quote(quote, chunk):
            return None
        self.seen.add(quote)
        n = len(self.citations) + 1
        self.citations.append(Citation(n=n, chunk=chunk, quote=quote, score=score))
        plain = _NOTE.sub("", quote).strip()
        text = to_dearu(plain) if self.style == "dearu" else plain
        return DraftSentence(
            prefix + sentence_with_marker(text, n),
            [n],
            paraphrase=text != plain,
            kind=kind,  # type: ignore[arg-type]
        )


def gap_rows(pipeline: Pipeline, query: str) -> list[AlignmentRow]:
    """記載なし / 一部対応 rows of the matrix whose items the section's query retrieves, nearest first."""
    from assistant.align import build_matrix

    matrix = build_matrix(pipeline, use_llm=False)
    owner = {c.chunk_id: r for r in matrix.rows for c in r.item.chunks}
    hits = retrieve(pipeline, query, ("national", "prefecture"), 20)
    out: list[AlignmentRow] = []
    for h in hits:
        row = owner.get(h.chunk.chunk_id)
        if row is not None and row.verdict != "対応あり" and row not in out and row.source_quotes:
            out.append(row)
    return out


def skeleton(pipeline: Pipeline, title: str, intent: str, style: Style | None = None) -> Draft:
    """The extractive draft: cited content sentences under the four headings, 【検討】 gap lines."""
    style = style or pipeline.settings.answer.style
    per = pipeline.settings.plan.draft_sentences
    query = f"{title} {intent}".strip()
    b = _Builder(style)
    sections: list[DraftSection] = []
    for heading, levels in HEADINGS:
        sentences: list[DraftSentence] = []
        if heading == "本市の方向性（案）":
            sentences = _direction(pipeline, b, query, per)
        else:
            q = f"{query} 背景 課題" if heading == "背景" else query
            hits = retrieve(pipeline, q, levels, per * 2)
            for s, hit in ranked_sentences(hits, q, prefer_municipal=heading != "背景"):
                if len(sentences) >= per:
                    break
                x = b.cite(hit.chunk, s, hit.score)
                if x:
                    sentences.append(x)
        if not sentences:
            sentences.append(
                DraftSentence(
                    _placeholder(f"{heading}に該当する資料が見つかりません。記述を追加", style),
                    placeholder=True,
                    kind="placeholder",
                )
            )
        sections.append(DraftSection(heading, sentences))
    return Draft(title, intent, style, "skeleton", sections, b.citations)


def _direction(pipeline: Pipeline, b: _Builder, query: str, per: int) -> list[DraftSentence]:
    """The city's own statements for the section, then what the national / prefectural plans ask (【検討】)."""
    out: list[DraftSentence] = []
    hits = retrieve(pipeline, f"{query} 取組 進める", ("city",), per * 2)
    for s, hit in ranked_sentences(hits, query, prefer_municipal=False):
        if len(out) >= max(1, per - 1):
            break
        x = b.cite(hit.chunk, s, hit.score)
        if x:
            out.append(x)
    lines = 0
    for row in gap_rows(pipeline, query):
        if lines >= GAP_LINES:
            break
        hits = [Hit(chunk=c, score=row.score) for c in row.item.chunks]
        ranked = ranked_sentences(hits, f"{row.item.title} {query}", prefer_municipal=True)
        if not ranked:
            continue
        quote, hit = ranked[0]
        who = "国" if row.item.level == "national" else "県"
        prefix = f"【検討】{who}の「{row.item.title}」（本市の記述: {row.verdict}）: "
        x = b.cite(hit.chunk, quote, hit.score, prefix=prefix, kind="consider")
        if x:
            out.append(x)
            lines += 1
    return out
