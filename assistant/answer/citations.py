"""Citation checking shared by every answerer: sentences, quotes, markers and support.

A quote is always an exact substring of the stored chunk text; `verify_quote` checks it and the
answerers drop anything that fails. Support is lexical (character bigrams over NFKC text), which
works for Japanese without a model and is the same measure the evaluation suite reports.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from assistant.types import Chunk

REFUSAL_TEXT = "資料に該当する記述が見当たりません。"
# a sentence: text up to 。！？ (runs of them), then any [n] markers that belong to it
_SENT_END = re.compile(r"[^。！？!?\n]+(?:[。！？!?]+)?(?:[ \t]*\[\d{1,3}\])*")
_OPEN, _CLOSE = "「『（(", "」』）)"
# 「…とみなす。(1年周期の仕事を2回実施できるため)」: a remark in brackets that follows its sentence
_REMARK = re.compile(r"[（(][^（()）\n]*[)）][。.]?(?:[ \t]*\[\d{1,3}\])*")
_MARKER = re.compile(r"\[(\d{1,3})\]")
# labels that open a line and carry no claim themselves: 【国】, 〔4 計画の期間〕, 【検討】, 【要記入：…】, ■, ※
_LABEL = re.compile(r"^(?:\s*(?:【[^】\n]*】|〔[^〕\n]*〕|[■※]))+\s*")
_PUNCT = re.compile(r"[\s、。，．・「」『』（）()\[\]【】〔〕:：;；!！?？\"'“”‘’…ー－\-]")


def split_sentences(text: str) -> list[str]:
    """Sentences as exact substrings of `text`: split after 。！？ (not inside 「…」) and at line breaks.

    [n] citation markers after a sentence stay with it.
    """
    spans: list[tuple[int, int]] = []
    depth = 0
    for m in _SENT_END.finditer(text):
        piece = m.group(0)
        same_line = bool(spans) and text[spans[-1][1] : m.start()].strip(" \t") == ""
        if same_line and (depth > 0 or _REMARK.fullmatch(piece.strip())):
            # still inside a quotation, or a bracketed remark on the sentence just ended: same sentence
            spans[-1] = (spans[-1][0], m.end())
        else:
            spans.append((m.start(), m.end()))
            depth = 0
        depth = max(0, depth + sum(piece.count(c) for c in _OPEN) - sum(piece.count(c) for c in _CLOSE))
    out = []
    for start, end in spans:
        chunk = text[start:end]
        stripped = chunk.strip()
        if stripped:
            out.append(stripped)
    return out


def normal(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).lower()


def bigrams(text: str) -> set[str]:
    t = normal(text)
    if len(t) == 1:
        return {t}
    return {t[i : i + 2] for i in range(len(t) - 1)}


def support(sentence: str, passage: str) -> float:
    """Share of the sentence's character bigrams (markers removed) that occur in the passage."""
    sb = bigrams(_MARKER.sub("", sentence))
    if not sb:
        return 0.0
    return len(sb & bigrams(passage)) / len(sb)


def verify_quote(quote: str, chunk: Chunk) -> bool:
    """The quote is non-empty and an exact substring of the stored text."""
    return bool(quote) and quote in chunk.text


def best_quote(chunk: Chunk, text: str) -> str:
    """The sentence of the chunk that best supports `text` (an exact substring of chunk.text)."""
    sentences = split_sentences(chunk.text) or [chunk.text]
    tb = bigrams(text)
    return max(sentences, key=lambda s: (len(bigrams(s) & tb) / (len(tb) or 1), -abs(len(s) - 80)))


def markers(text: str) -> list[int]:
    return [int(m) for m in _MARKER.findall(text)]


def clean_markers(answer: str, valid: Sequence[int]) -> tuple[str, list[int]]:
    """Remove [n] markers that point to no retrieved passage; returns the text and what was removed."""
    ok = set(valid)
    removed: list[int] = []

    def repl(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n in ok:
            return m.group(0)
        removed.append(n)
        return ""

    return _MARKER.sub(repl, answer), removed


def claim(sentence: str) -> str | None:
    """What a sentence claims: its [n] markers and the labels that open it removed (「【検討】国の…」 → 「国の…」);
    None for a label, a heading in 〔…〕, a placeholder or a fragment, which claim nothing."""
    body = _LABEL.sub("", _MARKER.sub("", sentence)).strip()
    return body if len(normal(body)) >= 6 else None


def is_claim(sentence: str) -> bool:
    """The sentence claims something to check (what `unsupported_sentences` looks at)."""
    return claim(sentence) is not None


def unsupported_sentences(answer: str, passages: dict[int, str], threshold: float = 0.5) -> list[str]:
    """Answer sentences with no marker, or whose cited passages do not contain their content. A sentence behind
    a label (【検討】, ■, ※ …) is checked like any other; only a label, heading or placeholder alone is not."""
    out = []
    for sentence in split_sentences(answer):
        body = claim(sentence)
        if body is None:
            continue
        cited = [passages[n] for n in markers(sentence) if n in passages]
        if not cited or max(support(body, p) for p in cited) < threshold:
            out.append(sentence)
    return out
