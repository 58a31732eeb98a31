"""The alignment matrix (整合表): numbered items of the national and prefectural plans against the city text.

items.py finds the rows (numbered headings of any indexed national / prefectural document, in
document and chapter order); features.py scores every item against every city passage; evidence.py
decides which passages may stand as evidence (they must name the item's subject, with the reviewed
equivalents of corpus/synonyms.toml; title lines, bare headings and schedule rows never count);
matrix.py builds the rows (対応あり also needs the evidence to name all the item's key concepts:
evidence.concept_coverage), 関連の可能性 and the cache; judge.py is the LLM path (prompt, parsing, and
the re-check of the passages and quotes the model gives); jsonout.py the JSON.
"""

from assistant.align.evidence import concept_coverage, content_sentences, is_content, key_concepts, load_synonyms
from assistant.align.features import BigramIdf, PairFeatures, pair_features
from assistant.align.items import SECTION_SEP, AlignItem, city_chunks, find_items
from assistant.align.jsonout import citation_json, matrix_json
from assistant.align.judge import Judgement, Recheck, judge_with_llm, parse_judgement, read_judgement, recheck
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
    "Judgement",
    "Match",
    "PairFeatures",
    "Recheck",
    "RowDecision",
    "Verdict",
    "build_align_prompt",
    "build_matrix",
    "citation_json",
    "city_chunks",
    "concept_coverage",
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
    "read_judgement",
    "recheck",
    "verdict_for",
]
