"""One answer to a message that asks several things: each part's answer under its own heading, one citation list.

A message such as 「次期計画の庁内検討組織はどこ？メンバー構成と人数は？」 is answered part by part
(assistant.question.question_parts): the passages that answer the first part rarely rank for the second.
The parts' answers are joined here, their citation numbers renumbered into one sequence (a passage cited by
two parts keeps one number), so the merged answer reads and checks like any other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer.citations import REFUSAL_TEXT
from assistant.types import Answer, Citation, summed_timings

_MARK = re.compile(r"\[(\d+)\]")


def _renumbered(line: str, numbers: dict[int, int]) -> str:
    """The line with its [n] markers in the merged numbering; a marker whose quote did not verify has no
    citation, so it goes rather than point at another part's passage."""
    return _MARK.sub(lambda m: f"[{numbers[int(m.group(1))]}]" if int(m.group(1)) in numbers else "", line)


def part_heading(n: int) -> str:
    """The line that opens the answer to the message's n-th question (1-based)."""
    return f"【問{n}】"


def merge_parts(question: str, answers: Sequence[Answer]) -> Answer:
    """The answers to a message's parts, in order, as one answer; refused only when every part is."""
    if len(answers) == 1:
        return answers[0]
    lines: list[str] = []
    citations: list[Citation] = []
    number_of: dict[str, int] = {}  # chunk id -> its number in the merged answer
    notices: list[str] = []
    for i, part in enumerate(answers, start=1):
        lines.append(part_heading(i))
        if part.refused:
            lines.append(REFUSAL_TEXT)
            continue
        renumber: dict[int, int] = {}
        for c in part.citations:
            if c.chunk.chunk_id not in number_of:
                number_of[c.chunk.chunk_id] = len(number_of) + 1
                citations.append(Citation(n=number_of[c.chunk.chunk_id], chunk=c.chunk, quote=c.quote, score=c.score))
            renumber[c.n] = number_of[c.chunk.chunk_id]
        lines += [_renumbered(x, renumber) for x in part.answer.splitlines()]
        if part.notice and part.notice not in notices:
            notices.append(part.notice)
    refused = all(a.refused for a in answers)
    return Answer(
        question=question,
        answer=REFUSAL_TEXT if refused else "\n".join(lines),
        mode=answers[0].mode,
        refused=refused,
        citations=[] if refused else citations,
        timings_ms=summed_timings(a.timings_ms for a in answers),
        notice=" ".join(notices),
        unsupported=[s for a in answers for s in a.unsupported],
        support=max(a.support for a in answers),
        retrieved=list(dict.fromkeys(cid for a in answers for cid in a.retrieved)),
    )
