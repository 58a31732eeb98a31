"""Cited drafting for a plan section, and the citation check of staff-edited drafts.

skeleton.py is the draft without an LLM (content sentences under the four headings, である調 via
style.py, 【検討】 gap lines from the alignment matrix); llm.py writes prose with an LLM from the same
numbered passages and falls back to the skeleton; check.py re-checks edited text against its 出典.
"""

from assistant.draft.check import SOURCES_HEADING, check_draft, source_line, split_sources
from assistant.draft.llm import DRAFT_FALLBACK_NOTICE, llm_draft, make_draft
from assistant.draft.model import PARAPHRASE_NOTE, Draft, DraftCheck, DraftSection, DraftSentence, Style
from assistant.draft.skeleton import HEADINGS, sentence_with_marker, skeleton
from assistant.draft.style import has_polite_ending, to_dearu
from assistant.prompts import DRAFT_SYSTEM

__all__ = [
    "DRAFT_FALLBACK_NOTICE",
    "DRAFT_SYSTEM",
    "HEADINGS",
    "PARAPHRASE_NOTE",
    "SOURCES_HEADING",
    "Draft",
    "DraftCheck",
    "DraftSection",
    "DraftSentence",
    "Style",
    "check_draft",
    "has_polite_ending",
    "llm_draft",
    "make_draft",
    "sentence_with_marker",
    "skeleton",
    "source_line",
    "split_sources",
    "to_dearu",
]
