"""The default answerer, no LLM: quote the sentences that answer the question, each with [n].

Sentences are scored by how much of the question's content they cover (character bigrams,
weighted by how rare they are among the candidates) plus the passage's retrieval rank. When the
best passage covers too little of the question, the answer is a plain refusal instead of weak
matches; the threshold is calibrated by eval/calibrate_refusal.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.answer.citations import REFUSAL_TEXT, bigrams, normal, split_sentences, verify_quote
from assistant.config import AnswerSettings
from assistant.question import (
    answer_type,
    asked_part,
    has_answer_type,
    is_alignment_question,
    mentioned,
    named_municipalities,
    names_place,
    question_focus,
    required_expression,
    states_required,
)
from assistant.types import (
    FOOTNOTE_LINE,
    LEVEL_LABELS_JA,
    NOTES_META,
    NOTES_ONLY_META,
    PAGE_NOTES_META,
    Answer,
    Chunk,
    Citation,
    Hit,
    footnote_cited,
)

# Question phrasing that never occurs in the answer text.
_QUESTION_NOISE = re.compile(
    r"(について|を教えて(ください)?|教えて(ください)?|とは何(ですか)?|は何ですか|は何か|ですか|ますか|でしょうか|"
    r"いつからいつまで|いつ|どこ|だれ|誰|何|なに|どの(よう)?|どう|どれ|なぜ|いくつ|どんな|[？?]|ください)"
)
# where the question is cut into pieces for its bigrams: a removed question word and sentence punctuation
_QUESTION_BREAK = re.compile(r"[、。，,？?！!\s]+")
LEVEL_ORDER = ("city", "prefecture", "national", "other")


@dataclass
class _Candidate:
    hit_index: int
    sentence: str  # what the answer shows: free of Markdown markup, URLs and source markers
    position: int  # order within the chunk
    score: float = 0.0
    quote: str = ""  # what the citation quotes: an exact substring of the chunk text
    notes: list[_Note] = field(default_factory=list)  # the footnotes the sentence cites
    raw: str = ""  # the sentence as the chunk has it (with Markdown's footnote markers: 「手続法[^1]」)


@dataclass
class _Note:
    number: int
    holder: Chunk  # the chunk of the page's footnotes
    text: str  # the footnote as shown: its lines joined
    quote: str  # its longest line: an exact substring of the holder's text
    position: int  # its line within the holder
    marked: bool = False  # a Markdown file's footnote: only its marker (「[^1]」) cites it


_NOTE_CACHE_SIZE = 4096  # citing passages whose footnotes are kept in memory


def _hit_of(chunk: Chunk, hits: list[Hit]) -> int:
    """The index of the chunk's hit, appended (score 0) when the chunk was not retrieved."""
    at = next((i for i, h in enumerate(hits) if h.chunk.chunk_id == chunk.chunk_id), None)
    if at is None:
        hits.append(Hit(chunk=chunk, score=0.0, rank=len(hits) + 1))
        at = len(hits) - 1
    return at


def footnote_text(number: int, holder: Chunk) -> tuple[str, str, int] | None:
    """(text, quote, line) of footnote `number` in the chunk of its page's footnotes: the line that starts
    with the number and the lines that continue it, without markup or URLs; None when nothing else is left."""
    lines = holder.text.split("\n")
    for i, line in enumerate(lines):
        start = FOOTNOTE_LINE.match(line)
        if start and int(start.group(1)) == number:
            body = [line.strip()]
            for more in lines[i + 1 :]:
                if FOOTNOTE_LINE.match(more) or not more.strip():
                    break
                body.append(more.strip())
            # shown and quoted without markup (a guidebook's footnote ends with its URL)
            shown, quoted = clean_sentence("".join(body)), clean_sentence(max(body, key=len))
            return (shown[0], quoted[1], i) if shown and quoted else None
    return None


# Markup and bookkeeping that never belong in an answer line: Markdown heading / quote marks and list
# bullets at the start, emphasis, table pipes, link brackets and targets (「[題](#題)」 shows 「題」),
# footnote references, URLs, 〔出典N〕 markers.
_NOISE = re.compile(
    r"\*\*|__|^\s*[#>]+\s*|^\s*[-*+]\s*|\||\[(?=[^\[\]\n]+\]\()|\]\([^()\s]*\)|\[\^\w+\]|"
    r"https?://[^\s（）()<>「」]+|〔出典\d+〕"
)
# A sentence that announces a list (「以下の共通の必須条件があります。」「次のとおりです：」) and the lines of one.
_LIST_INTRO = re.compile(r"(?:次|以下|下記)の.*[。:：]$|(?:次|以下|下記)のとおり|(?:次|以下|下記)に.*示|[:：]$")
_LIST_ITEM = re.compile(
    r"^\s*(?:[-*+・●○■□◆◇]\s*|[(（]\s*\d{1,2}\s*[)）]|\d{1,2}[.)）]\s|[①-⑳]|[ア-ン][　 ]|[ア-ン][.)）])"
)
# A line that is only a link to a place in the same document: a table-of-contents entry, not content.
_TOC_ENTRY = re.compile(r"^\s*(?:[-*+]\s*)?\[[^\[\]\n]+\]\(#[^()\s]*\)\s*$")
_RULE = re.compile(r"^[\s:：\-ー－―|]*$")  # a table's |---|---| rule, or what remains of one
_SENTENCE_END = ("。", "．", "!", "！", "?", "？")
_ROW = "|"  # a Markdown table row starts with a pipe; ingest keeps each row on its own line
# A figure's or table's caption (「図表1-7 …の推移」「図2 経験点の減衰」「表3 …」): it names what the reader
# cannot see here, so it is no answer; it still leads to the table it captions (_tables).
_CAPTION = re.compile(r"^\s*(?:図表|図|表)\s*[0-9０-９]+(?:\s*[-‐－―ー.．]\s*[0-9０-９]+)*(?![0-9０-９]).*(?<![。．])$")


def _tables(sentences: Sequence[str]) -> dict[int, list[int]]:
    """For each table among the sentences, its rows' positions, keyed by the sentence before it and, when that
    is a caption (a line with no sentence end: 「図表6-1 …の目次構成」), by the sentence before the caption too."""
    out: dict[int, list[int]] = {}
    pos = 0
    while pos < len(sentences):
        if not sentences[pos].startswith(_ROW) or pos == 0 or sentences[pos - 1].startswith(_ROW):
            pos += 1
            continue
        end = pos
        while end < len(sentences) and sentences[end].startswith(_ROW):
            end += 1
        rows = list(range(pos, end))
        out[pos - 1] = rows
        if pos >= 2 and not sentences[pos - 1].rstrip().endswith(("。", "：", ":")):
            out.setdefault(pos - 2, rows)
        pos = end
    return out


def _line_lists(sentences: Sequence[str], section: str) -> dict[int, list[int]]:
    """For each sentence announcing a list (「…は、次のとおりです。」), the positions of the lines after it that
    are no sentences (no 。: 「令和7年8月 市民アンケート…」「令和7年12月 計画骨子策定」), as a PDF's or a text's
    table comes out of extraction, up to the next sentence or heading; none when the next line is one."""
    out: dict[int, list[int]] = {}
    for pos, sentence in enumerate(sentences):
        if not _LIST_INTRO.search(sentence):
            continue
        end = pos + 1
        while end < len(sentences):
            line = sentences[end]
            if line.rstrip().endswith(_SENTENCE_END) or is_heading(line, section):
                break
            end += 1
        if end > pos + 1:
            out[pos] = list(range(pos + 1, end))
    return out


def clean_sentence(sentence: str) -> tuple[str, str] | None:
    """(line to show, quote) for one sentence of a chunk; None when nothing but markup is left.

    The quote is the longest clean piece of the sentence, so it stays an exact substring of the chunk.
    """
    if not _NOISE.search(sentence):
        return sentence.strip(), sentence.strip()
    table = sentence.lstrip().startswith(_ROW)
    pieces = [piece.strip() for piece in _NOISE.split(sentence)]
    pieces = [piece for piece in pieces if piece and not _RULE.match(piece)]
    if not pieces:
        return None
    shown = "、".join(pieces) if table else "".join(pieces)
    quote = max(pieces, key=len)
    if len(quote) < 4:
        return None
    return shown, quote


def question_bigrams(question: str) -> set[str]:
    """The question's content bigrams: those of each piece left between its question words (何, どこ …) and
    its punctuation, so none straddles a removed word (「対象は何人」 gives 対象 and 象は, not は人)."""
    core = _QUESTION_NOISE.sub("、", question)
    grams = {g for piece in _QUESTION_BREAK.split(core) if len(normal(piece)) >= 2 for g in bigrams(piece)}
    return grams or bigrams(question)


def _support(hits: Sequence[Hit]) -> list[Hit]:
    """The passages that may support an answer: a chunk of footnotes (a Markdown file's or a PDF page's: sources,
    dates, cross-references) is none; it may be quoted when others answer, but makes no question answerable."""
    return [h for h in hits if not (h.chunk.meta.get(NOTES_ONLY_META) or h.chunk.meta.get(PAGE_NOTES_META))]


def _kind_weight(gram: str, hiragana_weight: float) -> float:
    """Bigrams touching hiragana are mostly particles and endings: they say little about content."""
    return hiragana_weight if any("\u3041" <= ch <= "\u309f" for ch in gram) else 1.0


def is_heading(sentence: str, section: str) -> bool:
    """Heading lines repeat the section path: they are context, not an answer."""
    if sentence.lstrip().startswith("#") or _TOC_ENTRY.match(sentence):
        return True
    flat = normal(sentence)
    return any(flat == normal(part) for part in section.split(" > "))


def coverage(q: set[str], text: str, weight: dict[str, float]) -> float:
    if not q:
        return 0.0
    tb = bigrams(text)
    # fsum: exactly rounded whatever the set's order, so scores do not depend on the process's hash seed
    total = math.fsum(weight.get(g, 1.0) for g in q)
    return math.fsum(weight.get(g, 1.0) for g in q if g in tb) / total if total else 0.0


def _with_section(hit: Hit) -> str:
    """A passage with its section path: the context every one of its sentences shares."""
    return f"{hit.chunk.section}\n{hit.chunk.text}"


def blend_support(lexical: float, dense: float, lexical_weight: float) -> float:
    """The support score from its two parts: the larger of them, with a share `lexical_weight` of the lexical
    coverage alone, so a strong dense match without the question's words counts for less."""
    return (1.0 - lexical_weight) * max(lexical, dense) + lexical_weight * lexical


def _label(chunk: Chunk, kind: str | None) -> str:
    """What names the passage when the question asks which part (its heading) or which document (its title)."""
    if kind == "section" and chunk.section:
        cleaned = clean_sentence(chunk.section.split(" > ")[-1])
        return cleaned[0] if cleaned else ""
    return chunk.title if kind == "document" else ""


def refuses(support: float, missing_focus: str | None, refusal_threshold: float, focus_support: float) -> bool:
    """Too little of the question covered, or its focus absent and the cover not strong enough."""
    return support < refusal_threshold or (missing_focus is not None and support < focus_support)


class ExtractiveAnswerer:
    """Builds an `Answer` from retrieved hits without any generation; every tunable comes from AnswerSettings."""

    def __init__(self, settings: AnswerSettings | None = None) -> None:
        a = settings or AnswerSettings()
        self.max_sentences = a.max_sentences
        self.list_items = a.list_items
        self.answer_type_weight = a.answer_type_weight
        self.named_title = a.named_title
        # the chunks of a passage's document that open its sub-sections (set by the Pipeline from the index)
        self.sub_sections: Callable[[Chunk], list[Chunk]] | None = None
        # the footnotes a passage cites: (number, the chunk that holds it) (set by the Pipeline from the index)
        self.footnotes: Callable[[Chunk], list[tuple[int, Chunk]]] | None = None
        self._note_cache: dict[str, list[_Note]] = {}
        self.refusal_threshold = a.refusal_threshold
        self.focus_support = a.focus_support
        self.dense_floor = a.dense_floor
        self.dense_span = a.dense_span
        self.support_passages = a.support_passages
        self.support_lexical_weight = a.support_lexical_weight
        self.section_weight = a.section_weight
        self.sentence_weight = a.sentence_weight
        self.rank_weight = a.rank_weight
        self.keep_ratio = a.keep_ratio
        self.hiragana_weight = a.hiragana_weight

    def support_score(self, question: str, hits: Sequence[Hit]) -> float:
        """How well the best of the top passages covers the question (0..1).

        The larger of lexical coverage (the question's content bigrams found in a passage) and dense
        similarity rescaled above a floor, so paraphrased questions are not refused for want of shared words,
        blended with the lexical coverage by `support_lexical_weight`.
        """
        return blend_support(*self.support_parts(question, hits), self.support_lexical_weight)

    def support_parts(self, question: str, hits: Sequence[Hit]) -> tuple[float, float]:
        """(lexical coverage, rescaled dense similarity) of the best of the top passages (no footnotes' chunk)."""
        hits = _support(hits)
        q = question_bigrams(question)
        texts = [_with_section(h) for h in hits]
        weight = self._weights(q, texts)
        top = self.support_passages
        lexical = max((coverage(q, t, weight) for t in texts[:top]), default=0.0)
        cosine = max((h.scores.get("dense", 0.0) for h in hits[:top]), default=0.0)
        dense = min(1.0, max(0.0, (cosine - self.dense_floor) / self.dense_span))
        return lexical, dense

    def _weights(self, q: set[str], texts: Sequence[str]) -> dict[str, float]:
        sets = [bigrams(t) for t in texts]
        n = len(sets) or 1
        hw = self.hiragana_weight
        return {g: math.log(1.0 + n / (1.0 + sum(g in s for s in sets))) * _kind_weight(g, hw) for g in q}

    def missing_focus(self, question: str, hits: Sequence[Hit]) -> str | None:
        """The thing the question asks about (会場, 委員長 …) when none of the top passages mentions it, else a
        municipality it names (神戸市 in 「神戸市の取組事例では…」) that none of the top passages, nor their
        documents' titles, names, else the kind of expression its answer needs (金額, 人数, 氏名, 自治体名 …)
        when none of them states one. A chunk of footnotes is none of the top passages."""
        hits = _support(hits)
        top = hits[: self.support_passages]
        texts = {h.chunk.chunk_id: self._supporting_text(h) for h in top}
        supporting = [texts[h.chunk.chunk_id] for h in self._supporting_hits(hits)]
        focus = question_focus(question)
        if focus is not None and not mentioned(focus, supporting):
            return focus
        places = named_municipalities(question)
        if places:
            # any top passage may name it, not only those of a document the question names by its title
            titled = [f"{h.chunk.title}\n{texts[h.chunk.chunk_id]}" for h in top]
            absent = next((name for name in places if not names_place(name, titled)), None)
            if absent is not None:
                return absent
        required = required_expression(question)
        if required is not None and not states_required(required, supporting, focus, question):
            return required
        return None

    def _supporting_text(self, hit: Hit) -> str:
        """A supporting passage as the focus check reads it: with its section path and the footnotes it cites."""
        return "\n".join([_with_section(hit), *(note.text for note in self._notes(hit.chunk))])

    def _supporting_hits(self, hits: Sequence[Hit]) -> Sequence[Hit]:
        """The top passages that may mention the question's focus. A question that names a document by its
        title (the title prior: one document's share at least `named_title` and twice any other's) is about
        that document, so only its passages count when some are among the top ones."""
        top = hits[: self.support_passages]
        named = self.named_documents(hits)
        return [h for h in top if h.chunk.doc_id in named] or top

    def named_documents(self, hits: Sequence[Hit]) -> set[str]:
        """The documents the question names by their title (the title prior: one document's share at least
        `named_title` and twice any other's; more than one only on a tie), else none."""
        by_doc: dict[str, float] = {}
        for h in hits:
            by_doc[h.chunk.doc_id] = max(by_doc.get(h.chunk.doc_id, 0.0), h.scores.get("title", 0.0))
        ranked = sorted(by_doc.values(), reverse=True)
        if (
            self.named_title > 0
            and ranked
            and ranked[0] >= self.named_title
            and (len(ranked) == 1 or ranked[0] >= 2 * ranked[1])
        ):
            return {doc for doc, share in by_doc.items() if share == ranked[0]}
        return set()

    def _notes(self, chunk: Chunk) -> list[_Note]:
        """The footnotes the passage cites, each with its text (a PDF's 「117 2015年…決定、令和3年3月30日改定」).

        Read once per NOTES_META value: the focus check and the sentence choice of one answer both need them,
        and the holders' ids are derived from their content, so the same value always means the same notes."""
        key = chunk.meta.get(NOTES_META)
        if self.footnotes is None or key is None:
            return []
        cached = self._note_cache.get(str(key))
        if cached is None:
            cached = []
            for number, holder in self.footnotes(chunk):
                note = footnote_text(number, holder)
                if note is not None:
                    cached.append(_Note(number, holder, *note, marked=bool(holder.meta.get(NOTES_ONLY_META))))
            if len(self._note_cache) >= _NOTE_CACHE_SIZE:
                self._note_cache.clear()
            self._note_cache[str(key)] = cached
        return cached

    def refuses(self, support: float, missing_focus: str | None) -> bool:
        return refuses(support, missing_focus, self.refusal_threshold, self.focus_support)

    def answer(self, question: str, hits: Sequence[Hit], max_sentences: int | None = None) -> Answer:
        """The cited answer, or a refusal; `max_sentences` overrides the setting (one part of a message)."""
        support = self.support_score(question, hits)
        missing = self.missing_focus(question, hits) if hits else None
        if not hits or self.refuses(support, missing):
            return Answer(
                question=question, answer=REFUSAL_TEXT, mode="extractive", refused=True, citations=[], support=support
            )
        answer = self._answer(question, hits, support, max_sentences or self.max_sentences)
        if missing is not None and not answer.refused:
            answer.notice = f"ご質問の「{missing}」に当たる記述は資料に見当たりません。関連する記述を示します。"
        return answer

    def _answer(self, question: str, hits: Sequence[Hit], support: float, max_sentences: int) -> Answer:
        q = question_bigrams(question)
        candidates = []
        items: dict[tuple[int, int], _Candidate] = {}  # list items by (passage, position), headings or not
        tables: dict[tuple[int, int], list[int]] = {}  # (passage, sentence) → the rows of the table it introduces
        for i, h in enumerate(hits):
            sentences = [s for s in split_sentences(h.chunk.text) if len(s) >= 2]
            body = [s for s in sentences if len(s) >= 4 and not is_heading(s, h.chunk.section)]
            lines = _line_lists(sentences, h.chunk.section)
            tables |= {(i, pos): rows for pos, rows in {**lines, **_tables(sentences)}.items()}
            listed = {pos for rows in lines.values() for pos in rows}
            # a chunk that is only headings (a list of items) is quoted by its headings
            for pos, s in enumerate(sentences):
                cleaned = clean_sentence(s) if not _TOC_ENTRY.match(s) else None
                if cleaned is None:
                    continue
                candidate = _Candidate(i, cleaned[0], pos, quote=cleaned[1], raw=s)
                if _LIST_ITEM.match(s) or s.startswith(_ROW) or pos in listed:
                    items[(i, pos)] = candidate
                if len(s) >= 4 and (s in body or not body) and not _CAPTION.match(s):
                    candidates.append(candidate)
        weight = self._weights(q, [c.sentence for c in candidates])
        kind = answer_type(question)
        part = asked_part(question)
        notes = {i: self._notes(h.chunk) for i, h in enumerate(hits)}
        named = self.named_documents(hits)
        for c in candidates:
            # the section heading is context every sentence of the chunk shares, and the title of a document the
            # question names (「厚木市の方針で…」) every sentence of that document: its words tell no sentence apart
            chunk = hits[c.hit_index].chunk
            context = chunk.section.split(" > ")[-1]
            if chunk.doc_id in named:
                context = f"{chunk.title}\n{context}"
            c.notes = [
                n for n in notes[c.hit_index] if footnote_cited(n.number, c.raw if n.marked else c.sentence, n.marked)
            ]
            prior = 1.0 / (1.0 + c.hit_index)
            c.score = (
                self.section_weight * coverage(q, f"{context}\n{c.sentence}", weight)
                + self.sentence_weight * coverage(q, c.sentence, weight)
                + self.rank_weight * prior
                + (self.answer_type_weight if has_answer_type(kind, c.sentence) else 0.0)
                + (self.answer_type_weight if part and part in hits[c.hit_index].chunk.section else 0.0)
            )
        ranked = sorted(candidates, key=lambda c: -c.score)
        if not ranked:
            return Answer(question=question, answer=REFUSAL_TEXT, mode="extractive", refused=True, citations=[])
        best = ranked[0].score
        chosen = [c for c in ranked if c.score >= self.keep_ratio * best][:max_sentences]
        chosen += self._list_items(chosen, items, tables, {(c.hit_index, c.position): c for c in candidates})
        hits = list(hits)
        chosen += self._sub_section_items(chosen, items, hits)
        chosen += self._footnote_items(chosen, hits, q, kind)
        alignment = is_alignment_question(question)
        if alignment:
            # every level that has a relevant passage speaks, even below the cut-off
            for level in {h.chunk.level for h in hits} - {hits[c.hit_index].chunk.level for c in chosen}:
                extra = next((c for c in ranked if hits[c.hit_index].chunk.level == level), None)
                if extra is not None:
                    chosen.append(extra)
        return self._compose(question, hits, chosen, alignment, support, kind)

    def _list_items(
        self,
        chosen: Sequence[_Candidate],
        items: dict[tuple[int, int], _Candidate],
        tables: dict[tuple[int, int], list[int]],
        intros: dict[tuple[int, int], _Candidate],
    ) -> list[_Candidate]:
        """The items of a list that a chosen sentence introduces (「次の…を実施します。」 then 「(1) …」「(2) …」),
        and the rows of a table that follows a chosen sentence or caption (「以下に…目次構成例を示します。」
        「図表6-1 …」 then 「|章|タイトル|…|」「|１|背景及び目的|…|」), past the caption and the |--|--| rule."""
        taken = {(c.hit_index, c.position) for c in chosen}
        out: list[_Candidate] = []
        # a list that answers with two or more of its lines is shown whole, after the sentence announcing it
        # (「…次のとおりです。」 then every row of the schedule, not the rows that happened to score)
        intro_of = {(i, pos): (i, start) for (i, start), rows in tables.items() for pos in rows}
        starts = [intro_of[key] for key in taken if key in intro_of]
        lead = [
            intros[key]
            for key in dict.fromkeys(starts)
            if starts.count(key) >= 2 and key in intros and key not in taken
        ]
        for c in lead:
            c.score = max(
                o.score for o in chosen if intro_of.get((o.hit_index, o.position)) == (c.hit_index, c.position)
            )
            taken.add((c.hit_index, c.position))
            out.append(c)
        for c in [*chosen, *lead]:
            rows = tables.get((c.hit_index, c.position))
            if rows is None:
                if not _LIST_INTRO.search(c.sentence):
                    continue
                rows = []
                while (c.hit_index, c.position + 1 + len(rows)) in items:
                    rows.append(c.position + 1 + len(rows))
            for pos in rows:
                if len(out) >= self.list_items:
                    break
                if (c.hit_index, pos) in items and (c.hit_index, pos) not in taken:
                    item = items[(c.hit_index, pos)]
                    item.score = c.score
                    taken.add((c.hit_index, pos))
                    out.append(item)
        return out

    def _sub_section_items(
        self, chosen: Sequence[_Candidate], items: dict[tuple[int, int], _Candidate], hits: list[Hit]
    ) -> list[_Candidate]:
        """When a chosen sentence announces a list that its passage does not hold, and the list's items are
        sub-sections that hold nothing but their heading (「次の市民参加手続を実施します。」 then 「(1) 市民アンケート」…),
        quote each item's heading line from its chunk; chunks not retrieved are appended to `hits`."""
        if self.sub_sections is None or self.list_items <= 0:
            return []
        out: list[_Candidate] = []
        taken = {(c.hit_index, c.position) for c in chosen}
        for c in list(chosen):
            chunk = hits[c.hit_index].chunk
            if not _LIST_INTRO.search(c.sentence) or any(key[0] == c.hit_index for key in items):
                continue
            for child in self.sub_sections(chunk)[: self.list_items]:
                lines = [li for li in child.text.splitlines() if li.strip()]
                cleaned = clean_sentence(lines[0]) if len(lines) == 1 else None  # a heading and nothing else
                if cleaned is None:
                    continue
                at = _hit_of(child, hits)
                if (at, 0) in taken:
                    continue
                taken.add((at, 0))
                out.append(_Candidate(at, cleaned[0], 0, score=c.score, quote=cleaned[1]))
        return out

    @staticmethod
    def _footnote_items(
        chosen: Sequence[_Candidate], hits: list[Hit], q: set[str], kind: str | None
    ) -> list[_Candidate]:
        """The footnotes a chosen sentence cites that add to it (a question word the sentence lacks, or the kind
        of expression asked for that it lacks: 改定 and a date for 「改定日はいつ」), quoted from the chunk that holds them
        (appended to `hits` when not retrieved): 「…ロードマップ」117に基づき…」 then 「117 …令和3年3月30日改定」."""
        out: list[_Candidate] = []
        taken = {(c.hit_index, c.position) for c in chosen}
        for c in list(chosen):
            said = bigrams(c.sentence)
            for note in c.notes:
                adds = {g for g in (q & bigrams(note.text)) - said if _kind_weight(g, 0.0)}  # content, not kana
                if not adds and not (has_answer_type(kind, note.text) and not has_answer_type(kind, c.sentence)):
                    continue
                at = _hit_of(note.holder, hits)
                if (at, note.position) in taken:
                    continue
                taken.add((at, note.position))
                out.append(_Candidate(at, note.text, note.position, score=c.score, quote=note.quote))
        return out

    def _compose(
        self,
        question: str,
        hits: Sequence[Hit],
        chosen: list[_Candidate],
        alignment: bool,
        support: float,
        kind: str | None = None,
    ) -> Answer:
        # Keep sentences of one passage together and in document order; passages by best score.
        first_seen: dict[int, float] = {}
        for c in chosen:
            first_seen[c.hit_index] = max(first_seen.get(c.hit_index, 0.0), c.score)
        hit_order = sorted(first_seen, key=lambda i: -first_seen[i])
        if alignment:
            hit_order.sort(key=lambda i: LEVEL_ORDER.index(hits[i].chunk.level))
        numbers = {hi: n for n, hi in enumerate(hit_order, start=1)}
        citations: list[Citation] = []
        lines: list[str] = []
        current_level = None
        last_label = ""
        for hi in hit_order:
            chunk = hits[hi].chunk
            sentences = sorted((c for c in chosen if c.hit_index == hi), key=lambda c: c.position)
            if alignment and chunk.level != current_level:
                current_level = chunk.level
                lines.append(f"【{LEVEL_LABELS_JA.get(chunk.level, chunk.level)}】")
            label = _label(chunk, kind)
            if label and label != last_label and normal(label) not in normal(sentences[0].sentence):
                lines.append(f"〔{label}〕")
            last_label = label
            for c in sentences:
                lines.append(f"{c.sentence} [{numbers[hi]}]")
            quote = max(sentences, key=lambda c: c.score).quote
            if verify_quote(quote, chunk):
                citations.append(Citation(n=numbers[hi], chunk=chunk, quote=quote, score=hits[hi].score))
        if not citations:
            return Answer(
                question=question, answer=REFUSAL_TEXT, mode="extractive", refused=True, citations=[], support=support
            )
        return Answer(
            question=question,
            answer="\n".join(lines),
            mode="extractive",
            refused=False,
            citations=citations,
            support=support,
        )
