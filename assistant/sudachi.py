"""The only module that imports sudachipy: the shared dictionary, per-thread tokenizers and a typed `Morpheme`.

Everything outside the sparse index reads morphemes through `morphemes()` / `words()`, so a Sudachi upgrade
or a swap of analyser touches this file only.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

_dict_lock = threading.Lock()
_dictionary: Any = None  # shared by every thread: loading the dictionary takes ~0.3 s
_thread_local = threading.local()


class Morpheme(NamedTuple):
    """One Sudachi morpheme: its surface, part of speech (6 fields), base forms and character offsets."""

    surface: str
    pos: tuple[str, ...]
    dictionary: str
    normalized: str
    begin: int
    end: int

    @property
    def conjugation_type(self) -> str:
        """活用型 (五段-カ行, 下一段-ア行 …), '*' for words that do not conjugate."""
        return self.pos[4]

    @property
    def conjugation_form(self) -> str:
        """活用形 (連用形-一般, 終止形-一般 …), '*' for words that do not conjugate."""
        return self.pos[5]


def dictionary() -> Any:
    """The process-wide sudachidict-core dictionary (loaded once)."""
    global _dictionary
    with _dict_lock:
        if _dictionary is None:
            from sudachipy import Dictionary

            _dictionary = Dictionary(dict="core")
        return _dictionary


def pos_table() -> list[tuple[str, ...]]:
    """Every part of speech of the dictionary, indexed by Sudachi's POS id."""
    d = dictionary()
    out: list[tuple[str, ...]] = []
    while (pos := d.pos_of(len(out))) is not None:
        out.append(tuple(pos))
    return out


def thread_tokenizer(mode: str) -> Any:
    """The calling thread's raw Sudachi tokenizer for split mode A, B or C (one must not be shared by threads).

    Only the BM25 tokenizer (assistant/sparse.py) uses it directly, for speed; everyone else calls `morphemes`."""
    by_mode: dict[str, Any] | None = getattr(_thread_local, "sudachi", None)
    if by_mode is None:
        by_mode = _thread_local.sudachi = {}
    tok = by_mode.get(mode)
    if tok is None:
        tok = by_mode[mode] = dictionary().tokenizer(mode=mode)
    return tok


def morphemes(text: str, mode: str = "C") -> list[Morpheme]:
    """The morphemes of `text` in split mode A (short units), B or C (long units, the default)."""
    return [
        Morpheme(
            m.surface(),
            tuple(m.part_of_speech()),
            m.dictionary_form(),
            m.normalized_form(),
            m.begin(),
            m.end(),
        )
        for m in thread_tokenizer(mode).tokenize(text)
    ]


def words(text: str, mode: str = "A") -> list[str]:
    """The surfaces of the morphemes of `text` (split mode A by default: the shortest words)."""
    return [m.surface() for m in thread_tokenizer(mode).tokenize(text)]
