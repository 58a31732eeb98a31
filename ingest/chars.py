"""Character folding shared by normalisation and heading detection: one character in, one out.

Its own module so that ingest/headings.py and ingest/normalize.py both build on it without importing
each other (the rules are described in ingest/normalize.py's docstring).
"""

from __future__ import annotations

import unicodedata

_WAVE = {"\u301c": "～", "\uff5e": "～"}


def _keep_as_is(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x2460 <= cp <= 0x24FF  # enclosed alphanumerics ① ⑴ ⒈ Ⓐ
        or 0x2776 <= cp <= 0x2793  # dingbat circled numbers ❶
        or 0x3251 <= cp <= 0x325F  # ㉑…㉟
        or 0x32B1 <= cp <= 0x32BF  # ㊱…㊿
        or 0x3280 <= cp <= 0x32B0  # ㊀ ㊤ …
        or 0x2150 <= cp <= 0x218F  # number forms: Ⅰ ⅰ ⅓
        or 0x2070 <= cp <= 0x209F  # super/subscripts
        or ch in "\u00b2\u00b3\u00b9\u2026\u2025"  # ² ³ ¹ … ‥
    )


def fold_char(ch: str) -> str:
    """One character normalised by the rules above (always one character out)."""
    if ch in _WAVE:
        return _WAVE[ch]
    if ch in "\t\u00a0\u3000\u2002\u2003\u2009\u200b":
        return " "
    if ch.isascii() or _keep_as_is(ch):
        return ch
    out = unicodedata.normalize("NFKC", ch)
    return out if len(out) == 1 else ch


def is_japanese(ch: str) -> bool:
    """Kana, kanji, CJK/full-width punctuation and enclosed numbers: where spaces are extraction noise."""
    cp = ord(ch)
    return (
        0x3000 < cp <= 0x30FF  # CJK punctuation, hiragana, katakana (not the ideographic space)
        or 0x3400 <= cp <= 0x4DBF
        or 0x4E00 <= cp <= 0x9FFF
        or 0xF900 <= cp <= 0xFAFF
        or 0xFF01 <= cp <= 0xFF60  # full-width forms that NFKC kept (none by default) and brackets
        or 0x2460 <= cp <= 0x24FF
        or 0x3251 <= cp <= 0x32BF
        or ch in "～、。・「」『』【】〔〕"
    )


def is_kanji(ch: str) -> bool:
    cp = ord(ch)
    return 0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or ch in "々〆"
