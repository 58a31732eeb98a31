"""Build everything from Settings once; the CLI, the UI and eval all go through here."""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import Any

from assistant.config import Settings
from assistant.embed import CachedEmbedder, build_embedder
from assistant.store import Index

log = logging.getLogger(__name__)


def build_tokenizers() -> dict[str, Any]:
    """The sparse tokenisers, by name: Sudachi morphemes and character bigrams."""
    from assistant.sparse import BigramTokenizer, SudachiTokenizer

    return {"sudachi": SudachiTokenizer(), "bigram": BigramTokenizer()}


class Pipeline:
    """One configured assistant: embedder, index, retriever and answerers, built lazily."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()

    @cached_property
    def embedder(self) -> CachedEmbedder:
        return build_embedder(self.settings.embed, self.settings.cache_dir)

    @cached_property
    def index(self) -> Index:
        return Index(self.settings, self.embedder, build_tokenizers())
