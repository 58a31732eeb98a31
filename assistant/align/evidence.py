"""The evidence rule of the alignment matrix: which city passages may stand as an item's evidence.

A city passage is evidence for an item only when one of its content sentences names one of the
item's key concepts (the non-generic nouns of its heading) or a known equivalent from the reviewed
table corpus/synonyms.toml. Title lines, headings without content and schedule rows are never
content, so they never count alone. Items whose heading has no key concept (「計画的な取組」) fall
back to the score alone.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.answer.citations import split_sentences
from assistant.sudachi import morphemes
from assistant.types import Chunk

_NUMBERED = re.compile(r"^\s*(?:\d{1,2}[.．]\d{0,2}\.?\s*|[０-９0-9]{1,2}\s|[(（][0-9０-９]{1,2}[)）]|[①-⑳]|[ア-ン]\s)")
_SCHEDULE = re.compile(r"^\s*(?:令和|平成)?\s*[0-9０-９元]{1,4}\s*年\s*[0-9０-９]{1,2}\s*月|^\s*日程\s")
_DERIVED = re.compile(r"(?:的|化|性|等|づくり)$")
_SENTENCE_END = re.compile(r"[。！？]\s*$|(?:す|る|た|い|だ|う)[。]?\s*$")


@dataclass(frozen=True)
class Synonyms:
    """Groups of equivalent terms and the generic words that are never a key concept."""

    groups: tuple[frozenset[str], ...]
    generic: frozenset[str]

    def equivalents(self, term: str) -> set[str]:
        """`term` and every term of a group one of whose members equals or contains it (or it contains)."""
        out = {term}
        for g in self.groups:
            if any(t == term or (len(term) >= 2 and (term in t or t in term) and len(t) >= 2) for t in g):
                out |= g
        return out


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=8)
def load_synonyms(path: Path) -> Synonyms:
    """The reviewed table; a missing file means no equivalents and no generic words."""
    if not path.exists():
        return Synonyms((), frozenset())
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    groups = tuple(frozenset(nfkc(t) for t in g.get("terms", [])) for g in data.get("group", []))
    return Synonyms(groups, frozenset(nfkc(t) for t in data.get("generic", [])))


def _nouns(text: str) -> list[str]:
    """Noun runs of `text` (Sudachi mode C), each as one compound, plus the runs' own nouns."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            out.append("".join(run))
            if len(run) > 1:
                out.extend(run)
        run.clear()

    for m in morphemes(nfkc(text), "C"):
        pos = m.pos
        if pos[0] == "名詞" and pos[1] != "数詞" or pos[0] == "接尾辞" and pos[1] == "名詞的" and run:
            run.append(m.surface)
        else:
            flush()
    flush()
    return out


def key_concepts(title: str, synonyms: Synonyms) -> dict[str, set[str]]:
    """Key concepts of an item heading (generic words dropped), each with its acceptable spellings."""
    concepts: dict[str, set[str]] = {}
    for noun in _nouns(title):
        stem = _DERIVED.sub("", noun) or noun  # 計画的 is as generic as 計画
        if noun in concepts or {noun, stem} & synonyms.generic or len(noun) < 2 and not noun.isascii():
            continue
        concepts[noun] = synonyms.equivalents(noun)
    return concepts


def is_content(line: str, doc_title: str = "") -> bool:
    """False for a title line, a heading without content (a numbered line that is no sentence) or a schedule row."""
    s = nfkc(line).strip().lstrip("#").strip()
    if not s:
        return False
    if doc_title and (nfkc(doc_title).strip() in s or s in nfkc(doc_title)) and not s.endswith("。"):
        return False
    if _SCHEDULE.search(s) and not s.endswith("。"):  # a dated row, not a sentence that opens with a date
        return False
    if _NUMBERED.match(s) and not s.endswith("。"):
        return False
    if line.lstrip().startswith("#") or "|" in s:
        return False
    return len(s) >= 12 and bool(_SENTENCE_END.search(s) or s.endswith("。"))


def content_sentences(chunk: Chunk) -> list[str]:
    """The chunk's sentences that can be evidence (exact substrings of its text)."""
    out: list[str] = []
    for line in chunk.text.split("\n"):
        if not is_content(line, chunk.title):
            continue
        out.extend(s for s in split_sentences(line) if len(s) >= 10)
    if out:
        return out
    # sentences broken over lines (PDF text): rejoin the content lines and split again
    body = [ln for ln in chunk.text.split("\n") if ln.strip() and not _heading_like(ln, chunk.title)]
    return [s for s in split_sentences("\n".join(body)) if len(s) >= 10 and s.endswith("。")]


def _heading_like(line: str, title: str) -> bool:
    s = nfkc(line).strip().lstrip("#").strip()
    return bool(
        _SCHEDULE.search(s) or (_NUMBERED.match(s) and not s.endswith("。")) or (title and nfkc(title).strip() in s)
    )


def concept_sentences(chunk: Chunk, concepts: dict[str, set[str]]) -> list[str]:
    """Content sentences of the chunk naming at least one key concept (all content sentences if none)."""
    sentences = content_sentences(chunk)
    if not concepts:
        return sentences
    return [s for s in sentences if any(t in nfkc(s) for c in concepts.values() for t in c)]


def concept_coverage(chunks: Sequence[Chunk], concepts: dict[str, set[str]]) -> float:
    """Share of the item's key concepts that the content sentences of `chunks` name (1.0 when it has none):
    what separates 対応あり (the city names all of the item) from 一部対応 (part of it)."""
    if not concepts:
        return 1.0
    text = [nfkc(s) for c in chunks for s in content_sentences(c)]
    return sum(any(t in s for s in text for t in terms) for terms in concepts.values()) / len(concepts)
