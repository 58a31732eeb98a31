"""Japanese text normalisation that keeps, for every output character, the index of its raw source.

The map lets a span of the normalised text (what is searched and quoted) be shown exactly as the
document printed it: ``raw[m[s]:m[e - 1] + 1]``.

Decisions (measured on the 厚木市 policy text and the 2023 重点計画 PDF):
- NFKC is applied per character and only when it yields one character, so full-width ASCII becomes
  half-width, half-width katakana becomes full-width (with its voiced mark merged), 　 becomes a space
  and Kangxi radicals (⽅ ⼀) become the ordinary kanji. Circled and other enclosed numbers (①, ⑴, ㉑),
  Roman numerals (ⅰ, Ⅱ), super/subscripts (m²) are kept: they are heading markers or carry meaning.
  Multi-character expansions (… → ..., ㈱ → (株)) are skipped so that spans map back one to one.
- 〜 (wave dash) and ～ (full-width tilde) both become ～: NFKC would turn only one of them into "~",
  and a range mark "2027～2032" must read the same whichever the author typed.
- A line ending in 」 is a sentence end only after 。！？: in the PDF most 」 at a line end are mid-sentence
  (「書かない」「待たない」\\n窓口を…).
- Furigana lines that PDF extraction puts inside a word (強靭\\nきょうじん\\n性) are dropped.
- In Markdown a blank line ends a paragraph (BlockFlags.paragraphs): a figure caption, a date line or
  「**〔キーワード〕**」 is not glued to the paragraph after it. Not in plain text: the city's extracted text
  has blank lines inside sentences.
- A Markdown table row (a line that starts with |) is a line of its own: a glossary table of the GIF
  guidebooks otherwise read as one run 「|用語|意味||----|----||EBPM|…」, each definition glued to the next.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.types import NOTES_AT_META, Block, LoadedDocument
from ingest.chars import fold_char, is_japanese, is_kanji
from ingest.headings import parse_heading

if TYPE_CHECKING:
    from ingest.loaders.base import BlockFlags

_SENTENCE_END = "。！？!?"
_CLOSERS = "」』）)】〕"
_BULLETS = "・●○■□◆◇※＊*-–—►▶→"
_VOICED = {"\u3099", "\u309a", "\uff9e", "\uff9f"}


# A line-leading enumeration marker whose following space is kept ("ア 情報連携", "1 計画策定の趣旨").
_MARKER = re.compile(
    r"^(?:#{1,6}|第\d+(?:[章節部編条項]|-\d+)?|\d{1,3}(?:\.\d+)*\.?(?: ?\(\d+\))?|\(\d+\)|[\u2460-\u24ff]"
    r"|[ア-ン]|\([ア-ン]\)|\([a-z]\)|[ⅰ-ⅿⅠ-Ⅿ]+\.?) (?![年月日度時分人件%％])"
)
# A table row that starts with a date cell (「令和７年８月 市民アンケート」): the row keeps its own line and the
# space after the date. The space matters: in running text a date is never followed by one.
_ROW_DATE = re.compile(
    r"^(?:(?:令和|平成|昭和)(?:\d{1,2}|元)(?:\(\d{4}\))?年度?|\d{4}年度?)(?:\d{1,2}月)?(?:\d{1,2}日)?"
    r"(?:上旬|中旬|下旬|頃|まで|以降)? (?= *\S)"
)
_LEADER = re.compile(r"\s*(?:(?:[.・･·]\s*){4,}\d{0,4}|(?:[…‥]\s*)+\d{1,4})\s*$")
_PAGE_NUMBER = re.compile(
    r"^[\s\-‐−–—―~～]*(?:p\.?\s*)?[(\[]?\s*\d{1,4}\s*(?:/\s*\d{1,4})?\s*[)\]]?[\s\-‐−–—―~～]*$", re.IGNORECASE
)
_FOOTNOTE = re.compile(r"^\s*(\d{1,3}) +\S")
_RUBY = re.compile(r"[ぁ-ゖ]{1,6}")


@dataclass
class _Line:
    chars: list[str]
    idx: list[int]
    eol: int  # raw index of the newline ending this line (or len(raw) - 1 for the last)

    @property
    def text(self) -> str:
        return "".join(self.chars)


def _fold_line(raw: str, start: int, end: int) -> _Line:
    chars: list[str] = []
    idx: list[int] = []
    for i in range(start, end):
        ch = raw[i]
        if ch in _VOICED and chars:
            merged = unicodedata.normalize("NFKC", chars[-1] + ch)
            if len(merged) == 1:
                chars[-1] = merged
                continue
        if ch == "\r" or (unicodedata.category(ch) == "Cf"):
            continue
        chars.append(fold_char(ch))
        idx.append(i)
    return _Line(chars, idx, min(end, len(raw) - 1))


def _strip_spaces(line: _Line) -> _Line:
    """Strip ends, collapse runs, drop spaces next to Japanese text (except after a leading marker)."""
    chars, idx = line.chars, line.idx
    lo, hi = 0, len(chars)
    while lo < hi and chars[lo] == " ":
        lo += 1
    while hi > lo and chars[hi - 1] == " ":
        hi -= 1
    chars, idx = chars[lo:hi], idx[lo:hi]
    head = "".join(chars)
    m = _MARKER.match(head) or _ROW_DATE.match(head)
    keep_at = m.end() - 1 if m else -1
    out_c: list[str] = []
    out_i: list[int] = []
    k = 0
    while k < len(chars):
        if chars[k] != " ":
            out_c.append(chars[k])
            out_i.append(idx[k])
            k += 1
            continue
        j = k
        while j < len(chars) and chars[j] == " ":
            j += 1
        before, after = out_c[-1] if out_c else "", chars[j] if j < len(chars) else ""
        if k == keep_at or not (is_japanese(before) or is_japanese(after)):
            out_c.append(" ")
            out_i.append(idx[k])
        k = j
    return _Line(out_c, out_i, line.eol)


def _drop_leader(line: _Line) -> tuple[_Line, bool]:
    """Remove a table-of-contents dot leader and its page number; True when the line had one."""
    m = _LEADER.search(line.text)
    if not m:
        return line, False
    return _Line(line.chars[: m.start()], line.idx[: m.start()], line.eol), True


def _is_heading(text: str) -> bool:
    return parse_heading(text) is not None


def _ends_sentence(text: str) -> bool:
    t = text.rstrip(_CLOSERS) if text and text[-1] in _CLOSERS else text
    if t != text:
        return bool(t) and t[-1] in _SENTENCE_END
    return bool(text) and (text[-1] in _SENTENCE_END or text[-1] in ":：")


def _split_lines(raw: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in re.finditer("\n", raw):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(raw)))
    return spans


def _normalize(
    raw: str, drop: frozenset[int] = frozenset(), hard_break: frozenset[int] = frozenset()
) -> tuple[str, list[int]]:
    """Normalise `raw` line by line; `drop` are raw line numbers to skip, `hard_break` lines start a new line."""
    lines: list[tuple[int, _Line, bool]] = []  # (raw line number, line, toc line)
    for n, (s, e) in enumerate(_split_lines(raw)):
        if n in drop:
            continue
        line, toc = _drop_leader(_strip_spaces(_fold_line(raw, s, e)))
        if line.chars:
            lines.append((n, line, toc))
    # Furigana: a short hiragana-only line between a kanji and the rest of the word.
    kept: list[tuple[int, _Line, bool]] = []
    for k, item in enumerate(lines):
        text = item[1].text
        if (
            0 < k < len(lines) - 1
            and _RUBY.fullmatch(text)
            and is_kanji(kept[-1][1].text[-1] if kept else "")
            and not _is_heading(lines[k + 1][1].text)
        ):
            continue
        kept.append(item)
    out: list[str] = []
    idx: list[int] = []
    prev: tuple[int, _Line, bool] | None = None
    prev_heading = False
    for item in kept:
        n, line, toc = item
        text = line.text
        heading = _is_heading(text)
        row = bool(_ROW_DATE.match(text)) or text.startswith("|")
        if prev is not None:
            ptext = prev[1].text
            newline = (
                prev[2]
                or toc
                or prev_heading
                or heading
                or row
                or ptext.startswith("|")
                or n in hard_break
                or _ends_sentence(ptext)
                or text[0] in _BULLETS
            )
            if newline:
                out.append("\n")
                idx.append(prev[1].eol)
            elif ptext[-1].isascii() and text[0].isascii() and ptext[-1].isalnum() and text[0].isalnum():
                out.append(" ")  # a Latin word sequence broken across lines
                idx.append(prev[1].eol)
        out.extend(line.chars)
        idx.extend(line.idx)
        prev, prev_heading = item, heading
    return "".join(out), idx


def paragraph_starts(raw: str) -> frozenset[int]:
    """Raw line numbers that follow a blank line: where a Markdown paragraph begins."""
    spans = _split_lines(raw)
    return frozenset(n for n in range(1, len(spans)) if not raw[spans[n - 1][0] : spans[n - 1][1]].strip())


def normalize_text(raw: str, *, paragraphs: bool = False) -> tuple[str, list[int]]:
    """Normalised text and, for each of its characters, the index in `raw` it came from; `paragraphs`:
    a line after a blank line starts a new line (BlockFlags.paragraphs)."""
    return _normalize(raw, hard_break=paragraph_starts(raw) if paragraphs else frozenset())


def normalize_lines(raw: str) -> tuple[str, list[int]]:
    """Like `normalize_text`, but every line on its own and kept as a line (empty ones dropped): for
    text whose line breaks are meant (a record's fields, Word paragraphs and table rows), not wrapping."""
    out: list[str] = []
    idx: list[int] = []
    pos = 0
    for line in raw.splitlines(keepends=True):
        parts = line.splitlines()
        content = parts[0] if parts else ""
        text, m = _normalize(content)
        if text:
            if out:
                out.append("\n")
                idx.append(pos - 1)  # the break that ended the previous raw line
            out.append(text)
            idx.extend(pos + i for i in m)
        pos += len(line)
    return "".join(out), idx


@dataclass(frozen=True)
class CleanBlock:
    """One block after normalisation: its text, the raw index of each character, where footnotes begin."""

    block: Block
    text: str
    idx: list[int]
    notes_at: int


def normalize_document(doc: LoadedDocument, flags: BlockFlags) -> list[CleanBlock]:
    """Every block normalised as its loader's flags say (see BlockFlags): printed pages lose their
    running headers, footers and page numbers; meant line breaks stay; wrapped lines are rejoined."""
    noise = find_noise_lines([b.text for b in doc.blocks]) if flags.page_furniture else set()
    out = []
    for block in doc.blocks:
        if flags.page_furniture:
            text, idx, notes_at = clean_page_parts(block.text, noise)
        else:
            if flags.wrapped_lines:
                text, idx = normalize_text(block.text, paragraphs=flags.paragraphs)
            else:
                text, idx = normalize_lines(block.text)
            at = block.meta.get(NOTES_AT_META)  # a Markdown file's footnote definitions, moved to its end
            notes_at = bisect_left(idx, int(at)) if isinstance(at, int) else len(text)
        out.append(CleanBlock(block, text, idx, notes_at))
    return out


def _noise_key(line: str) -> str:
    folded = "".join(fold_char(c) for c in line)
    return re.sub(r"\d+", "#", " ".join(folded.split()))


def _edge_lines(page: str, k: int = 2) -> list[str]:
    lines = [ln for ln in page.split("\n") if ln.strip()]
    return lines[:k] + lines[-k:] if len(lines) > 2 * k else lines


def find_noise_lines(pages: list[str], min_share: float = 0.3, max_len: int = 60) -> set[str]:
    """Running headers/footers: short edge lines (digits generalised to #) recurring on many pages."""
    if len(pages) < 4:
        return set()
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({_noise_key(ln) for ln in _edge_lines(page) if len(ln.strip()) <= max_len})
    need = max(2, math.ceil(min_share * len(pages)))
    return {key for key, c in counts.items() if c >= need and key}


def _is_edge_noise(line: str, noise: set[str]) -> bool:
    return _noise_key(line) in noise or bool(_PAGE_NUMBER.match("".join(fold_char(c) for c in line)))


def _footnote_lines(texts: list[str], body: Iterable[int]) -> list[int]:
    """Raw line numbers that start footnotes: "48 ユーザー…" at the page bottom, with "48" cited above."""
    candidates: list[tuple[int, int]] = []
    for n in body:
        m = _FOOTNOTE.match(texts[n])
        if m:
            candidates.append((n, int(m.group(1))))
    if not candidates:
        return []
    # The footnote block is the longest run of consecutive numbers ending at the last candidate.
    run = [candidates[-1]]
    for n, num in reversed(candidates[:-1]):
        if num == run[0][1] - 1:
            run.insert(0, (n, num))
    first = run[0][0]
    above = "\n".join(texts[:first])
    cited = [
        n
        for n, num in run
        if re.search(rf"(?<=[^\d\s.,:/\-(（]){num}(?=[^\d年月日度%％.,:/])", above + "\n".join(texts[first:n]))
    ]
    return cited if cited and cited[0] == first else []


def clean_page_parts(raw: str, noise: set[str]) -> tuple[str, list[int], int]:
    """Like `clean_page`, plus the offset in the normalised text where the page's footnotes begin."""
    spans = _split_lines(raw)
    texts = [raw[s:e] for s, e in spans]
    content = [n for n, t in enumerate(texts) if t.strip()]
    drop: set[int] = set()
    for order in (content[:3], content[::-1][:3]):
        for n in order:
            if not _is_edge_noise(texts[n], noise):
                break
            drop.add(n)
    body = [n for n in content if n not in drop]
    notes = _footnote_lines(texts, body)
    text, idx = _normalize(raw, frozenset(drop), frozenset(notes))
    start = len(text)
    if notes:
        first_raw = spans[notes[0]][0]
        start = next((k for k, i in enumerate(idx) if i >= first_raw), len(text))
    return text, idx, start


def clean_page(raw: str, noise: set[str]) -> tuple[str, list[int]]:
    """Drop running headers/footers and page-number lines, then normalise; the map points into `raw`."""
    text, idx, _ = clean_page_parts(raw, noise)
    return text, idx


def original_span(raw: str, normalized_quote: str) -> str | None:
    """The raw text a quote of the normalised text came from, as the document printed it."""
    quote = normalized_quote.strip()
    if not quote:
        return None
    text, idx = normalize_text(raw)
    at = text.find(quote)
    if at < 0:
        qtext, _ = normalize_text(quote)  # the quote may itself still be raw-ish
        at = text.find(qtext)
        quote = qtext
        if at < 0 or not qtext:
            return None
    return raw[idx[at] : idx[at + len(quote) - 1] + 1]
