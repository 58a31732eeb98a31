"""What a question asks about, and whether the retrieved passages mention it at all.

「意見交換会の会場はどこですか」 asks for the 会場 of a meeting the plan does describe: the passages cover
most of the question's words, so coverage alone would answer with the meeting's date. The focus is the
noun phrase just before the particle that precedes the question word (会場 in 会場はどこ, 委員長 in
委員長は誰). Words that only name the kind of answer (時期, 期間, 人数, 額 …) are stripped from it, and
generic words (もの, 内容, 記述 …) are no focus at all, since the passages rarely repeat them.
"""

from __future__ import annotations

import unicodedata

from assistant.sparse import sudachi_tokenizer

# Question words that end the focus phrase; 何-compounds (何人, 何年) are recognised by their first character.
_WH_WORDS = frozenset({"誰", "だれ", "なに", "なん", "いつ", "いくら", "いくつ", "どこ", "どれ", "どの", "どう"})
_WH_POS = frozenset({"代名詞", "副詞", "形状詞", "連体詞", "名詞"})
_PARTICLES = frozenset({"は", "が", "を", "で", "に"})
# Heads that only say what kind of answer is wanted: 開催時期 asks about 開催.
_ANSWER_TYPE_HEADS = tuple(
    sorted(
        ("時期", "期間", "年度", "年数", "日程", "日時", "時間", "人数", "回数", "件数", "台数", "数",
         "金額", "額", "規模", "率", "割合", "名称", "名前"),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_GENERIC = frozenset(
    {"もの", "こと", "記述", "内容", "組織", "課", "点", "項目", "方", "ところ", "理由", "目的", "方法", "特徴", "種類"}
)


def _is_question_word(surface: str, pos: str) -> bool:
    if surface in _WH_WORDS or surface.startswith("何"):
        return True
    return surface.startswith(("ど", "いく")) and pos in _WH_POS  # どのくらい, どんな, いくら …


def question_focus(question: str) -> str | None:
    """The noun phrase the question asks about, or None when it has none we can check."""
    morphemes = list(sudachi_tokenizer("C").tokenize(question))
    for i, m in enumerate(morphemes):
        if not _is_question_word(m.surface(), m.part_of_speech()[0]):
            continue
        j = i - 1
        if j < 0 or morphemes[j].surface() not in _PARTICLES:
            return None  # 「どのような…」: the question word comes first, nothing to pin down
        parts: list[str] = []
        k = j - 1
        while k >= 0:
            pos = morphemes[k].part_of_speech()
            if pos[0] not in ("名詞", "接尾辞") or pos[1] == "数詞":
                break
            parts.insert(0, morphemes[k].surface())
            k -= 1
        return _core("".join(parts)) if parts else None
    return None


def _core(phrase: str) -> str | None:
    for head in _ANSWER_TYPE_HEADS:
        if phrase == head:
            return None
        if phrase.endswith(head):
            phrase = phrase[: -len(head)]
            break
    return None if phrase in _GENERIC else phrase


def _flat(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def mentioned(focus: str, texts: list[str]) -> bool:
    """The focus appears in one of the texts, whole or (a compound) with all its words in one text.

    Loose on purpose: 構成員 counts as mentioned where the text says 構成する…委員会. Requiring words of two
    or more characters was tried and cost more on the held-out detail questions than it gained."""
    target = _flat(focus)
    flat = [_flat(t) for t in texts]
    if any(target in t for t in flat):
        return True
    words = [_flat(m.surface()) for m in sudachi_tokenizer("A").tokenize(focus)]
    return len(words) > 1 and any(all(w in t for w in words) for t in flat)
