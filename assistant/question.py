"""Question analysis: question words, alignment questions, and what a question asks about (its focus).

Retrieval drops question words from queries and balances alignment questions across levels; the
extractive answerer checks that the passages mention the question's focus. Both read questions through
this module, so neither needs the other nor raw Sudachi morphemes.

The focus: 「意見交換会の会場はどこですか」 asks for the 会場 of a meeting the plan does describe: the passages
cover most of the question's words, so coverage alone would answer with the meeting's date. The focus is the
noun phrase just before the particle that precedes the question word (会場 in 会場はどこ, 委員長 in
委員長は誰). Words that only name the kind of answer (時期, 期間, 人数, 額 …) are stripped from it, and
generic words (もの, 内容, 記述 …) are no focus at all, since the passages rarely repeat them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from assistant.sudachi import Morpheme, morphemes, words

# Question words carry no evidence about which passage answers; they only add noise to BM25.
QUESTION_WORDS: frozenset[str] = frozenset(
    {
        "何",
        "なに",
        "なん",
        "どこ",
        "誰",
        "だれ",
        "いつ",
        "どれ",
        "どの",
        "どう",
        "どんな",
        "いくつ",
        "いくら",
        "何故",
        "なぜ",
    }
)
_ALIGN_HINTS = re.compile(r"整合|比較|違い|対応|記載がない|一致|国と|県と|市と|国・県|国及び県|国や県|三者|それぞれ")


def strip_question_words(query: str) -> str:
    """The query with its question words (何, どこ, 誰 …) replaced by a separator, longest first."""
    for w in sorted(QUESTION_WORDS, key=len, reverse=True):
        query = query.replace(w, "、")
    return query


# 「…、計画ではどんな言葉で表現されてる？」「…は、何と呼ばれていますか」「…、略称は？」: how the answer is worded,
# not what it is about. Its words (言葉, 表現, 呼ぶ, 用語) would find passages about them (「言葉の壁」).
_NAMING = re.compile(
    r"(?:[、,，][^、。？?]{0,12}?では)?[、,，]?(?:カタカナで|英語で|一言で|略して)?"
    r"(?:(?:何と|何て|なんと|なんて)(?:言葉|用語|名前|名称|呼び名|表現)?"
    r"|(?:どういう|どんな|どのような)(?:言葉|用語|名前|名称|呼び名|表現)で?)"
    r"(?:呼ば|呼ん|呼ぶ|呼び|言わ|言う|いう|言い|表現|表さ|表し|称)[ぁ-ん]*[？?。]?$"
    r"|(?:[、,，]|の)(?:略称|略語|呼び名|名称|名前|正式名称|用語)(?:は|って)(?:何)?(?:ですか|でしょうか)?[？?。]?$"
)
_NAMING_MIN_CHARS = 6  # what is left must still say what is asked about


def without_naming(question: str) -> str:
    """The question without a closing phrase asking what something is called (the search form of a
    naming question: 「会社を辞めずに地方へ移り住めるようにする取組」); unchanged when it has none."""
    m = _NAMING.search(question)
    return question[: m.start()] if m and m.start() >= _NAMING_MIN_CHARS else question


# A part ends at a question mark, or at a polite question's 「か。」; a connective opening the next part goes.
_PART_END = re.compile(r"(?<=[？?])|(?<=か。)")
_CONNECTIVE = re.compile(r"^(?:また|それと|あと|それから|さらに)[、,，]\s*")


def question_parts(question: str, min_chars: int = 10) -> list[str]:
    """The questions one message asks, in order: 「次期計画の庁内検討組織はどこ？メンバー構成と人数は？」 asks
    two. A piece shorter than `min_chars` (「主なものを3つ。」) stays with the part before it, and a message
    that asks one thing is its own single part."""
    parts: list[str] = []
    for piece in _PART_END.split(question):
        piece = _CONNECTIVE.sub("", piece.strip())
        if not piece:
            continue
        if parts and len(piece) < min_chars:
            parts[-1] += piece
        else:
            parts.extend(_clause_parts(piece, min_chars))
    return parts or [question]


def _asks(ms: Sequence[Morpheme]) -> bool:
    return any(_is_question_word(m.surface, m.pos[0]) for m in ms)


def _clause_parts(piece: str, min_chars: int) -> list[str]:
    """One sentence that asks two things, its clauses joined by a continuative form and 「、」 (「…をどう扱うと
    され、…ではどこが出したものとされていますか」「募集期間は何日間で、提出方法はどうなっていますか」), as two parts;
    the second keeps the first's context: the sentences before it, else its leading 「…について、」 clause."""
    ms = morphemes(piece, "C")
    depth = 0
    for i, m in enumerate(ms):
        depth += (m.surface in "「『") - (m.surface in "」』")
        if m.surface != "、" or depth or i == 0:
            continue
        prev = ms[i - 1]
        if prev.pos[0] not in ("動詞", "助動詞") or not prev.conjugation_form.startswith("連用形"):
            continue
        first, second = piece[: m.begin], piece[m.end :].strip()
        if len(second) < min_chars or not _asks(ms[:i]) or not _asks(ms[i + 1 :]):
            continue
        if "。" in first:
            context = first[: first.rfind("。") + 1]
        else:
            context = first[: first.find("、") + 1] if "、" in first else ""
        return [first, context + second]
    return [piece]


def is_alignment_question(query: str) -> bool:
    """Questions that compare the plans want every level's text side by side."""
    return bool(_ALIGN_HINTS.search(query))


# -- focus ---------------------------------------------------------------------------------------
# Question words that end the focus phrase; 何-compounds (何人, 何年) are recognised by their first character.
_WH_WORDS = frozenset({"誰", "だれ", "なに", "なん", "いつ", "いくら", "いくつ", "どこ", "どれ", "どの", "どう"})
_WH_POS = frozenset({"代名詞", "副詞", "形状詞", "連体詞", "名詞"})
_PARTICLES = frozenset({"は", "が", "を", "で", "に", "って"})
# Heads that only say what kind of answer is wanted (開催時期 asks about 開催, 改定日 about 改定, 開催場所 about
# 開催) or whose side (職員側 asks about 職員).
_ANSWER_TYPE_HEADS = tuple(
    sorted(
        ("時期", "期間", "年度", "年数", "日程", "日時", "時間", "日付", "日", "場所", "人数", "回数", "件数",
         "台数", "数", "金額", "額", "規模", "率", "割合", "名称", "名前", "側"),
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
    ms = morphemes(question, "C")
    for i, m in enumerate(ms):
        if not _is_question_word(m.surface, m.pos[0]):
            continue
        j = i - 1
        if j < 0 or ms[j].surface not in _PARTICLES:
            return None  # 「どのような…」: the question word comes first, nothing to pin down
        parts: list[str] = []
        k = j - 1
        while k >= 0:
            pos = ms[k].pos
            if pos[0] not in ("名詞", "接尾辞") or pos[1] == "数詞":
                break
            parts.insert(0, ms[k].surface)
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


def _flat_lines(text: str) -> str:
    """Spaces removed, line breaks kept (each line of a passage may be a sentence of its own)."""
    return "\n".join(_flat(line) for line in text.split("\n"))


def mentioned(focus: str, texts: list[str]) -> bool:
    """The focus appears in one of the texts, whole or (a compound) with all its words in one text.

    Loose on purpose: 構成員 counts as mentioned where the text says 構成する…委員会. Requiring words of two
    or more characters was tried and cost more on the held-out detail questions than it gained."""
    target = _flat(focus)
    flat = [_flat(t) for t in texts]
    if any(target in t for t in flat):
        return True
    parts = [_flat(w) for w in words(focus, "A")]
    return len(parts) > 1 and any(all(w in t for w in parts) for t in flat)


# -- answer type ---------------------------------------------------------------------------------
# What kind of expression the answer is, when the question word says so: a date or a quantity.
_ASKS_WHEN = re.compile(r"いつ|何年|何月|何日|時期|期限|期日")
_ASKS_QUANTITY = re.compile(
    r"何(?:人|件|か所|箇所|校|回|割|%|％|台|個|社|団体|倍|億|万|円|名|本|点|項目|条)|どのくらい|どれくらい|どの程度|"
    r"どれだけ|いくつ|いくら|人数|件数|規模"
)
_DATE = re.compile(r"\d{1,4}\s*(?:年|月|日)|(?:令和|平成|昭和)\s*[\d元]|年度|上半期|下半期|[上中下]旬")
_QUANTITY = re.compile(
    r"\d[\d,，.．]*\s*(?:万|億|千)?\s*(?:人|件|か所|箇所|ヶ所|校|回|割|%|％|台|個|社|団体|倍|円|名|本|点|項目|条項|条|者|都道府県|市区町村|自治体)"
)


# -- what the answer must contain ---------------------------------------------------------------
# Some questions can only be answered by a passage that holds a certain kind of expression: a sum of money
# (「受講料はいくら？」「費用の目安は」: 3,000円, 無料), a count in the unit asked (「何人採ったの？」: 〜人, 〜名;
# 「何回ですか」: 〜回; 「何％」: 〜％, 〜割) or, for who holds a post (「委員長は誰？」「デジタル大臣って誰？」), a
# person's name. Passages about the topic that hold none do not answer it: `required_expression` names what
# the answer must hold and `states_required` checks the passages. A money word used otherwise
# (「経費の削減目標は」「手数料を払えるように」) and a who-question about a group (「誰を対象に」「誰で構成」) ask none.
_MONEY = "料金|費用|手数料|受講料|利用料|使用料|金額|予算額|予算規模|家賃|価格|経費|単価"
_ASKS_MONEY = re.compile(rf"いくら|何円|(?:{_MONEY})(?:は|って)?(?:[?？]|$|どれ|どの|の目安|の相場|感)")
_STATES_MONEY = re.compile(r"\d[\d,，.．]*\s*(?:兆|億|万|千)?\s*円|無料|無償|有料|有償")
_PLACES, _SHARES = "か所|箇所|ヶ所|カ所", "%|割"
# 何 + counter → (what is missing, the counters a passage may state it with)
_COUNTERS: dict[str, tuple[str, str]] = {
    "人": ("人数", "人|名"),
    "名": ("人数", "人|名"),
    "件": ("件数", "件"),
    "回": ("回数", "回"),
    "日間": ("日数", "日"),
    "日": ("日付", "日"),
    "校": ("校数", "校"),
    "社": ("社数", "社"),
    "団体": ("団体数", "団体"),
    "か所": ("箇所数", _PLACES),
    "箇所": ("箇所数", _PLACES),
    "%": ("割合", _SHARES),
    "割": ("割合", _SHARES),
}
_ASKS_COUNT = re.compile("何(" + "|".join(sorted(map(re.escape, _COUNTERS), key=len, reverse=True)) + ")")
_NUMBER = r"(?:\d[\d,，.．]*|[一二三四五六七八九十百千数]+)\s*(?:兆|億|万|千)?\s*"  # 12, 三千, 数十
_ASKS_WHO = re.compile(r"誰|だれ|どなた")
_POST = re.compile(r"(?:長|大臣|知事|代表|官)$")  # 委員長, 課長, デジタル大臣, 補佐官
# 「参加した自治体ってどこ？」「どの市町村で」: which municipality, answered only by a place's name.
_MUNICIPALITIES = "自治体|市区町村|市町村|都道府県|都市|地方公共団体|団体|市|町|村|県"
_ASKS_MUNICIPALITY = re.compile(
    rf"(?:{_MUNICIPALITIES})(?:って|は|が|を|に|で)[、\s]*(?:具体的に)?(?:どこ|どちら)|どこの(?:{_MUNICIPALITIES})|"
    rf"どの(?:{_MUNICIPALITIES})"
)
MONEY, PERSON_NAME, PLACE_NAME = "金額", "氏名", "自治体名"
_MUNICIPAL = "市町村区県都府"  # the suffixes of a municipality's or prefecture's name
_HOLDERS = re.compile(r"[一-龥]{0,5}(?:長|大臣|知事|官)")  # 市長, 副市長, 内閣総理大臣 …


def asks_money(question: str) -> bool:
    return bool(_ASKS_MONEY.search(question.strip()))


def required_expression(question: str) -> str | None:
    """What a passage must state to answer the question: 「金額」, a count (「人数」「回数」「割合」…) or
    「氏名」 (who holds a post); None when the question's form asks for no such expression."""
    text = unicodedata.normalize("NFKC", question)
    if asks_money(text):
        return MONEY
    count = _ASKS_COUNT.search(text)
    if count:
        return _COUNTERS[count.group(1)][0]
    if _ASKS_MUNICIPALITY.search(text):
        return PLACE_NAME
    focus = question_focus(question) if _ASKS_WHO.search(text) else None
    return PERSON_NAME if focus and _POST.search(focus) else None


def _proper_nouns(text: str, kind: str) -> set[str]:
    """The proper nouns of one kind in `text` (Sudachi's 地名, 人名 …), NFKC."""
    ms = morphemes(unicodedata.normalize("NFKC", text), "C")
    return {m.surface for m in ms if m.pos[1] == "固有名詞" and m.pos[2] == kind}


def _places(text: str) -> set[str]:
    return _proper_nouns(text, "地名")


def named_municipalities(question: str) -> list[str]:
    """The municipalities and prefectures the question names (a Sudachi 地名 ending in 市, 町, 村, 区, 県, 都 or
    府: 「神戸市の取組事例では」 → 神戸市), in order. Passages that never name one are about somewhere else.
    Regions, countries and people (アジア, 日本, 人名) are left out: passages often name them otherwise."""
    names = {n for n in _places(question) if len(n) > 1 and n[-1] in _MUNICIPAL and not _is_question_word(n, "名詞")}
    return sorted(names, key=unicodedata.normalize("NFKC", question).find)


def names_place(name: str, texts: Sequence[str]) -> bool:
    """One of the texts names the place, with or without its suffix (「神戸」 for 神戸市)."""
    target = _flat(name)
    stem = target[:-1] if len(target) > 2 and target[-1] in _MUNICIPAL else target
    return any(stem in _flat(t) for t in texts)


def states_required(expression: str, texts: Sequence[str], post: str | None = None, question: str = "") -> bool:
    """One of the texts states the expression `required_expression` named. Who holds a post is stated by a
    person's name (Sudachi's 人名) or, in a sentence naming the post, by the post that fills it (「市長を本部長
    とし」「本部長は市長をもって充てる」); `post` is the question's focus. Which municipality is stated by a
    place's name (Sudachi's 地名) other than those `question` names itself."""
    flat = [unicodedata.normalize("NFKC", t) for t in texts]
    if expression == MONEY:
        return any(_STATES_MONEY.search(t) for t in flat)
    if expression == PLACE_NAME:
        asked = _places(question)
        return any(_places(t) - asked for t in flat)
    if expression == PERSON_NAME:
        if any(_proper_nouns(t, "人名") for t in flat):
            return True
        target = _flat(post or "")
        sentences = [x for t in flat for x in re.split(r"(?<=[。\n])", _flat_lines(t)) if target and target in x]
        return any(h != target and not target.endswith(h) for x in sentences for h in _HOLDERS.findall(x))
    units = next(u for label, u in _COUNTERS.values() if label == expression)
    return any(re.search(f"{_NUMBER}(?:{units})", t) for t in flat)


# 「どの視点で扱っている？」「どの項目に入りますか」: the answer is the heading of the part that says it;
# 「どのガイドブックに載っている？」: the answer is the document's title.
_PARTS = "視点|項目|章|節|分野|柱|段階|ステップ|見出し|箇所"
_ASKS_SECTION = re.compile(rf"どの(?P<a>{_PARTS})|(?P<b>{_PARTS})(?:は|が)どれ")
_DOCUMENTS = "ガイドブック|資料|文書|手引き|手引|計画書"
_ASKS_DOCUMENT = re.compile(rf"どの(?:{_DOCUMENTS})|(?:{_DOCUMENTS})(?:は|が)どれ")


def answer_type(question: str) -> str | None:
    """What kind of answer the question asks for: "quantity" (an amount), "when" (a date), "section" (which
    part of a document: its heading), "document" (which document: its title), else None."""
    if _ASKS_SECTION.search(question):
        return "section"
    if _ASKS_DOCUMENT.search(question):
        return "document"
    if _ASKS_QUANTITY.search(question):
        return "quantity"
    if _ASKS_WHEN.search(question):
        return "when"
    return None


def asked_part(question: str) -> str | None:
    """The kind of part a which-part question names (視点 in 「どの視点で扱っている？」), else None: the passages
    filed under a heading that names it (「６ 計画策定に当たって考慮すべき視点 > (3) …」) are where it is answered."""
    m = _ASKS_SECTION.search(question)
    return (m.group("a") or m.group("b")) if m else None


def has_answer_type(kind: str | None, sentence: str) -> bool:
    """The sentence contains an expression of the kind the question asks for."""
    pattern = {"when": _DATE, "quantity": _QUANTITY}.get(kind or "")
    return pattern is not None and bool(pattern.search(unicodedata.normalize("NFKC", sentence)))
