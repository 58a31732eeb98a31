"""Deterministic である調 conversion of quoted plan sentences (Sudachi morphemes, no model).

です → である, でした → であった, でしょう → であろう, 〜ます → 〜する (the verb's dictionary form),
〜ました → 〜した / 〜った (with the verb's euphonic change), 〜ません → 〜ない, 〜ましょう → 〜よう,
〜てください → 〜ること, ございます → ある. Anything else is left as written, so the result stays
close to the cited quote (the citation check compares their character bigrams).
"""

from __future__ import annotations

import re

from assistant.sudachi import morphemes

_POLITE_END = re.compile(r"(?:です|でした|でしょう|ます|ました|ません|ましょう|ください|ございます)(?:[。！？]|$)")

# godan verbs: the last kana of the dictionary form -> (連用形 before た, た/だ, 未然形 kana, 意志形 kana)
_GODAN = {
    "う": ("っ", "た", "わ", "お"),
    "つ": ("っ", "た", "た", "と"),
    "る": ("っ", "た", "ら", "ろ"),
    "む": ("ん", "だ", "ま", "も"),
    "ぶ": ("ん", "だ", "ば", "ぼ"),
    "ぬ": ("ん", "だ", "な", "の"),
    "く": ("い", "た", "か", "こ"),
    "ぐ": ("い", "だ", "が", "ご"),
    "す": ("し", "た", "さ", "そ"),
}


def has_polite_ending(sentence: str) -> bool:
    """True when the sentence (its [n] markers removed) ends in a です・ます form."""
    body = re.sub(r"\[\d{1,3}\]", "", sentence).strip()
    return bool(_POLITE_END.search(body))


class _Verb:
    """A verb or verb-like auxiliary morpheme before ます, with the forms the conversion needs."""

    def __init__(self, surface: str, dictionary: str, ctype: str) -> None:
        self.surface, self.dictionary, self.ctype = surface, dictionary, ctype

    @property
    def godan(self) -> bool:
        return self.ctype.startswith("五段") and self.dictionary[-1:] in _GODAN

    def plain(self) -> str:
        return "ある" if self.dictionary == "ござる" else self.dictionary

    def past(self) -> str:
        if self.dictionary == "ござる":
            return "あった"
        if self.dictionary in ("行く", "いく"):
            return self.dictionary[:-1] + "った"
        if self.godan:
            stem, ta, _, _ = _GODAN[self.dictionary[-1]]
            return self.dictionary[:-1] + stem + ta
        return self.surface + "た"  # 一段, サ変, カ変: 連用形 + た

    def negative(self) -> str:
        if self.dictionary in ("ある", "ござる"):
            return "ない"
        if self.godan:
            return self.dictionary[:-1] + _GODAN[self.dictionary[-1]][2] + "ない"
        if self.ctype.startswith("サ行"):
            return self.surface + "ない"  # し + ない
        return self.surface + "ない"

    def volitional(self) -> str:
        if self.godan:
            return self.dictionary[:-1] + _GODAN[self.dictionary[-1]][3] + "う"
        return self.surface + "よう"


def to_dearu(sentence: str) -> str:
    """The sentence in である調; unchanged when it has no です・ます form."""
    if not re.search(r"です|でし|ます|まし|ませ|ください|ござい", sentence):
        return sentence
    ms = morphemes(sentence, "C")
    out: list[str] = []
    kinds: list[str] = []  # per output piece: "verb", "adj", "noun", "other"
    verbs: dict[int, _Verb] = {}
    i = 0
    while i < len(ms):
        m = ms[i]
        pos = m.pos
        surface, dform = m.surface, m.dictionary
        nxt = ms[i + 1].surface if i + 1 < len(ms) else ""
        nxt2 = ms[i + 2].surface if i + 2 < len(ms) else ""
        if pos[0] == "助動詞" and dform == "ます" and out and len(out) - 1 in verbs:
            v = verbs.pop(len(out) - 1)
            if surface == "まし" and nxt == "た":
                out[-1] = v.past()
                i += 2
            elif surface == "ませ" and nxt == "ん":
                out[-1] = v.negative()
                i += 2
                if nxt2 == "でし" and i < len(ms) and ms[i].surface == "でし":
                    out[-1] = out[-1][:-1] + "かった"  # ませんでした -> なかった
                    i += 2
            elif surface.startswith("ましょ"):
                out[-1] = v.volitional()
                i += 2 if nxt == "う" else 1
            else:
                out[-1] = v.plain()
                i += 1
            kinds[-1] = "verb"
            continue
        if pos[0] == "助動詞" and dform == "です":
            after_adj = bool(kinds) and kinds[-1] == "adj"
            if surface == "でし" and nxt == "た":
                if after_adj and out[-1].endswith("い"):
                    out[-1] = out[-1][:-1] + "かった"  # 多いでした -> 多かった
                else:
                    out.append("であった")
                i += 2
            elif surface.startswith("でしょ"):
                out.append("であろう" if not after_adj else "だろう")
                i += 2 if nxt == "う" else 1
            else:
                if not after_adj:
                    out.append("である")
                i += 1
            kinds.append("other")
            continue
        if (
            dform == "くださる"
            and pos[0] == "動詞"
            and len(out) >= 2
            and out[-1] in ("て", "で")
            and len(out) - 2 in verbs
        ):
            v = verbs.pop(len(out) - 2)
            out.pop()
            kinds.pop()
            out[-1] = v.plain() + "こと"
            i += 1
            continue
        out.append(surface)
        if pos[0] in ("動詞", "助動詞") and m.conjugation_form.startswith("連用形"):
            verbs[len(out) - 1] = _Verb(surface, dform, m.conjugation_type)
            kinds.append("verb")
        else:
            kinds.append("adj" if pos[0] == "形容詞" else "noun" if pos[0] == "名詞" else "other")
        i += 1
    return "".join(out)
