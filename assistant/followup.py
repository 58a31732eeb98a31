"""Follow-up questions: 「その対象者の条件は？」 is resolved against the previous turns, without an LLM.

A conversation is part of the question. A follow-up is recognised by its form, never by its words'
meaning: a leading connective (じゃあ, では, ちなみに …), a demonstrative (その, それ, この …), or a bare
「X(のほう)は？」. It is rewritten into a stand-alone question:
- a demonstrative becomes the previous question's topic (the noun phrase before its first topic
  particle, or the first noun phrase of that clause): 「その対象者」 → 「厚木市の市民アンケートの対象者」;
- a bare 「X は？」 replaces the noun phrase of the previous question that looks most like X
  (「データ・アーキテクトのほうは？」 after 「データ・エンジニアの募集で…」), or, when none does, follows it;
- the previous question's leading clause (「…の募集で、」) is kept, since it says where to look.
The previous question is itself resolved first, so a chain of follow-ups stays anchored.
With a chat model, `rewrite` asks it for the stand-alone form instead and `accept_rewrite` keeps the
reply only when it looks like a question made of the conversation's words; otherwise the rules apply.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.prompts import REWRITE_ANSWER_CHARS, REWRITE_TURNS, rewrite_prompt
from assistant.question import named_municipalities
from assistant.sudachi import morphemes

if TYPE_CHECKING:
    from assistant.llm import ChatModel

_CONNECTIVE = re.compile(r"^(?:じゃあ|じゃ|では|それでは|それなら|なら|ちなみに|あと|また|さらに|それで)[、,，\s]*")
_DEMONSTRATIVE = re.compile(r"(?:その|この|あの)(?=\S)|(?:それら|これら|それ|これ)(?=って|[はがをにでのもと]|$)")
# 「X は？」「X のほうはどうなってる？」「X だと？」: the previous question asked of X
_BARE = re.compile(
    r"^(?P<x>.{1,30}?)(?:の(?:ほう|方|場合))?(?:は|って|だと|では)"
    r"(?:どう(?:なって(?:る|いる|います)|です|でしょう|なの)?か?)?[？?]?$"
)
_TOPIC_PARTICLES = frozenset({"は", "が", "って"})
_QUESTION_TAIL = re.compile(r"[？?。]+$")
# The plans' levels: 「じゃあ県は？」 after a question about 国 asks the same of the other level.
_LEVEL_WORDS = ("都道府県", "市区町村", "市町村", "国", "県", "市")


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the conversation, oldest first."""

    question: str
    answer: str = ""


def _flat(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def is_followup(question: str) -> bool:
    """The question leans on an earlier turn (a connective, a demonstrative or a bare 「X は？」)."""
    q = _flat(question)
    if _CONNECTIVE.match(q) or _DEMONSTRATIVE.match(_CONNECTIVE.sub("", q)):
        return True
    bare = _BARE.match(q)
    # 「X のほうは？」 always leans on a previous turn; a plain 「X は？」 only when short
    return bool(bare) and (len(q) <= 16 or bool(re.search(r"の(?:ほう|方|場合)(?:は|って|だと|では)", q)))


def _level_of(place: str) -> str:
    """The level of a level word or of a named municipality or prefecture: 県 for 神奈川県 (都, 府 too), 市 for
    厚木市 (町, 村, 区 too), the word itself for 国, 都道府県 …"""
    if place in _LEVEL_WORDS:
        return place
    return "県" if place[-1] in "県都府" else "市"


def _noun_phrases(text: str, *, join: bool = True) -> list[tuple[int, int]]:
    """Spans of maximal noun runs (nouns, suffixes, ・, and with `join` 「の」 between two nouns)."""
    ms = morphemes(text, "C")
    spans: list[tuple[int, int]] = []
    start = end = -1
    for i, m in enumerate(ms):
        pos = m.pos
        nounish = pos[0] in ("名詞", "接尾辞", "接頭辞") or (pos[0] == "補助記号" and m.surface in "・（）()")
        joiner = join and m.surface == "の" and start >= 0 and i + 1 < len(ms)
        if joiner and ms[i + 1].pos[0] in ("名詞", "接頭辞"):
            end = m.end
            continue
        if nounish and pos[1] != "数詞" or (nounish and start >= 0):
            if start < 0:
                start = m.begin
            end = m.end
            continue
        if start >= 0:
            spans.append((start, end))
        start = end = -1
    if start >= 0:
        spans.append((start, end))
    return [(s, e) for s, e in spans if text[s:e].strip("・（）() ")]


def _clauses(question: str) -> tuple[str, str]:
    """The leading clause up to the last 「、」 before the topic (「…の募集で、」), and the rest."""
    body = _QUESTION_TAIL.sub("", question)
    if "、" in body:
        head, rest = body.rsplit("、", 1)
        return head + "、", rest
    return "", body


def topic(question: str) -> str | None:
    """The previous question's topic: the noun phrase just before its first topic particle, or the
    first noun phrase of that clause when a clause (「想定されているのは」) stands there."""
    _, clause = _clauses(question)
    phrases = _noun_phrases(clause)
    for m in morphemes(clause, "C"):
        if m.surface in _TOPIC_PARTICLES and m.pos[0] == "助詞":
            before = [p for p in phrases if p[1] <= m.begin]
            if before and before[-1][1] == m.begin:
                return clause[before[-1][0] : before[-1][1]]
            return clause[before[0][0] : before[0][1]] if before else None
    return clause[phrases[0][0] : phrases[0][1]] if phrases else None


def _bigrams(text: str) -> set[str]:
    t = _flat(text)
    return {t[i : i + 2] for i in range(len(t) - 1)} or {t}


def resolve(question: str, history: Sequence[Turn]) -> str:
    """A stand-alone form of `question` given the earlier turns (oldest first); unchanged when it is none."""
    if not history or not is_followup(question):
        return question
    previous = resolve(history[-1].question, history[:-1])
    head, prev_clause = _clauses(previous)
    body = _CONNECTIVE.sub("", _flat(question))
    subject = topic(previous)
    demonstrative = _DEMONSTRATIVE.match(body)
    if demonstrative and subject:
        word = demonstrative.group(0)
        joined = subject + ("の" if word in ("その", "この", "あの") else "")
        rest = body[len(word) :]
        resolved = joined + rest
        return resolved if head and head.rstrip("、") in resolved else head + resolved
    bare = _BARE.match(body)
    if bare:
        x = bare.group("x")
        atoms = [previous[s:e] for s, e in _noun_phrases(previous, join=False)]
        named = named_municipalities(x)
        # 「県は」「県の計画だと」 name a level; 「市民は」 does not
        words = (w for w in _LEVEL_WORDS if x == w or x.startswith(w + "の"))
        level = named[0] if named else next(words, None)
        other = next((a for a in atoms if a in _LEVEL_WORDS and a != level), None) if level else None
        if level and other:
            return previous.replace(other, level, 1)
        # a municipality or prefecture by name (厚木市 in 「厚木市DX推進計画の…」) stands for its level
        place = (
            next((p for p in named_municipalities(previous) if _level_of(p) != _level_of(level)), None)
            if level
            else None
        )
        if level and place:
            return previous.replace(place, level, 1)
        phrases = atoms + [previous[s:e] for s, e in _noun_phrases(previous)]
        # the most overlapping phrase, the shortest of equals: 「データ・エンジニア（第4期）」, not the募集 around it
        scored = [(len(_bigrams(p) & _bigrams(x)), -len(p), p) for p in phrases if _flat(p) != _flat(x)]
        overlap, _, best = max(scored, default=(0, 0, ""))
        if overlap:
            return previous.replace(best, x, 1)
    stem = _QUESTION_TAIL.sub("", previous)
    return f"{stem}。{body}"


# -- with a chat model -------------------------------------------------------------------------
REWRITE_MAX_CHARS = 200  # no stand-alone question needs more (staffqa's longest is about 110)
REWRITE_MARGIN_CHARS = 30  # beyond the question and the turns it draws on
REWRITE_MIN_SHARE = 0.5  # of the reply's bigrams that must come from the conversation
_LABEL = re.compile(r"^(?:書き換え(?:後)?の?質問|書き換え(?:後)?|質問)\s*[:：]")
_QUOTES = {"「": "」", "『": "』", '"': '"', "“": "”"}
_MARKUP = re.compile(r"[<>＜＞`#*]|[\[［]\s*[0-9０-９]{1,3}\s*[\]］]|^[-・]")
_INNER_STOP = re.compile(r"[。！？!?](?=.)")
_ASKING = re.compile(
    r"(?:[？?]|か|の|は|って|ください|教えて|知りたい)。?$|何|いつ|どこ|誰|だれ|どれ|どの|どう|なぜ|いくつ|いくら"
)
_PUNCT = re.compile(r"[\W_]")


def accept_rewrite(reply: str, question: str, history: Sequence[Turn]) -> str | None:
    """The chat model's stand-alone question when it looks like one, else None (the rules take over).

    Rejected, conservatively: an empty reply, more than one line or sentence, longer than the question
    and the turns it draws on need, markup or [n] markers, no question form (an answer or a statement),
    or mostly words the conversation does not contain (an invention rather than a rewrite)."""
    text = reply.strip()
    if "\n" in text:
        return None
    text = _LABEL.sub("", text).strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    recent = list(history)[-REWRITE_TURNS:]
    limit = len(_flat(question)) + sum(len(_flat(t.question)) for t in recent) + REWRITE_MARGIN_CHARS
    if not text or len(text) > min(REWRITE_MAX_CHARS, limit):
        return None
    if _MARKUP.search(text) or _INNER_STOP.search(text) or not _ASKING.search(text):
        return None
    said = "".join([question] + [t.question + t.answer[:REWRITE_ANSWER_CHARS] for t in recent])
    words = _bigrams(_PUNCT.sub("", text))
    if len(words & _bigrams(_PUNCT.sub("", said))) < REWRITE_MIN_SHARE * len(words):
        return None
    return text


def rewrite(question: str, history: Sequence[Turn], model: ChatModel) -> str | None:
    """The chat model's stand-alone form of follow-up `question`, or None when the reply fails
    `accept_rewrite`; a client failure raises `LLMError` (the caller falls back to `resolve`)."""
    system, user = rewrite_prompt(question, history)
    return accept_rewrite(model.complete(system, user), question, history)
