"""The alignment matrix (整合表): numbered items of the national and prefectural plans against the city text.

items.py finds the rows (numbered headings of any indexed national / prefectural document, in
document and chapter order); features.py scores every item against every city passage; evidence.py
decides which passages may stand as evidence (they must name the item's subject, with the reviewed
equivalents of corpus/synonyms.toml; title lines, bare headings and schedule rows never count);
matrix.py builds the rows, 関連の可能性 and the cache; judge.py is the LLM path; jsonout.py the JSON.
"""

from assistant.align.evidence import content_sentences, is_content, key_concepts, load_synonyms
from assistant.align.features import BigramIdf, PairFeatures, pair_features
from assistant.align.items import SECTION_SEP, AlignItem, city_chunks, find_items
from assistant.align.jsonout import citation_json, matrix_json
from assistant.align.judge import judge_with_llm, parse_judgement
from assistant.align.matrix import (
    LLM_ALIGN_NOTICE,
    VERDICTS,
    AlignmentMatrix,
    AlignmentRow,
    Match,
    RowDecision,
    Verdict,
    build_matrix,
    content_quote,
    decide_row,
    evidence_mask,
    verdict_for,
)
from assistant.prompts import ALIGN_SYSTEM, build_align_prompt

__all__ = [
    "ALIGN_SYSTEM",
    "LLM_ALIGN_NOTICE",
    "SECTION_SEP",
    "VERDICTS",
    "AlignItem",
    "AlignmentMatrix",
    "AlignmentRow",
    "BigramIdf",
    "Match",
    "PairFeatures",
    "RowDecision",
    "Verdict",
    "build_align_prompt",
    "build_matrix",
    "citation_json",
    "city_chunks",
    "content_quote",
    "content_sentences",
    "decide_row",
    "evidence_mask",
    "find_items",
    "is_content",
    "judge_with_llm",
    "key_concepts",
    "load_synonyms",
    "matrix_json",
    "pair_features",
    "parse_judgement",
    "verdict_for",
]
